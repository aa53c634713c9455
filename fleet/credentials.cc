#include "credentials.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>

#include "error.h"

namespace dnswash::fleet {

Credentials read_credentials(const std::string &path) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) throw Error(errno_text("fleet credentials " + path, errno));
  if (!S_ISREG(st.st_mode)) throw Error("fleet credentials " + path + ": not a regular file");
  if (st.st_uid != 0 && st.st_uid != geteuid())
    throw Error("fleet credentials " + path + ": owned by uid " + std::to_string(st.st_uid) +
                ", must be root's (or the daemon's user's)");
  if (st.st_mode & 077)
    throw Error("fleet credentials " + path +
                ": readable or writable by group or others (chmod 600 it)");
  std::ifstream in(path);
  if (!in) throw Error(errno_text("reading " + path, errno));
  Credentials c;
  std::map<std::string, std::string *> fields = {
      {"user", &c.user},    {"password", &c.password},   {"token", &c.token},
      {"nkey", &c.nkey},    {"nkey_seed", &c.nkey_seed}, {"creds", &c.creds},
      {"tls_ca", &c.tls_ca}};
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#') continue;
    std::istringstream ls(line.substr(start));
    std::string key, value, extra;
    ls >> key >> value >> extra;
    auto it = fields.find(key);
    if (it == fields.end() || value.empty() || !extra.empty())
      throw Error("fleet credentials " + path + " line " + std::to_string(n) +
                  ": expected `key value` with key one of user, password, token, nkey, "
                  "nkey_seed, creds, tls_ca");
    *it->second = value;
  }
  if (c.user.empty() != c.password.empty())
    throw Error("fleet credentials " + path + ": user and password go together");
  if (c.nkey.empty() != c.nkey_seed.empty())
    throw Error("fleet credentials " + path + ": nkey and nkey_seed go together");
  return c;
}

}  // namespace dnswash::fleet
