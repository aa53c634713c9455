#include "named_conf_fs.h"

#include <fnmatch.h>
#include <glob.h>
#include <lmdb.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include <cerrno>
#include <cstring>

namespace dnswash::zones {

namespace {

// A configuration file larger than this is not a configuration; refusing it bounds memory.
// (A million zone statements take about 70 MB.)
constexpr std::streamoff kMaxFileBytes = std::streamoff(512) << 20;

std::string errno_text(int err) {
  // BIND's wording for the common case, so messages read like named-checkconf's.
  if (err == ENOENT) return "file not found";
  return std::strerror(err);
}

// Escapes glob metacharacters so a chroot path is matched literally.
std::string glob_escape(const std::string &s) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '?' || c == '[' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::string join_path(const std::string &cwd, const std::string &path) {
  std::string full = (!path.empty() && path[0] == '/') ? path : cwd + "/" + path;
  std::vector<std::string> parts;
  size_t i = 0;
  while (i <= full.size()) {
    size_t j = full.find('/', i);
    if (j == std::string::npos) j = full.size();
    std::string part = full.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(std::move(part));
    }
    i = j + 1;
  }
  std::string out;
  for (const auto &p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

std::string dirname_of(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

DiskFileSystem::DiskFileSystem(std::string chroot) : root_(std::move(chroot)) {
  while (!root_.empty() && root_.back() == '/') root_.pop_back();
}

std::string DiskFileSystem::host_path(const std::string &path) const {
  if (root_.empty()) return path;
  return path == "/" ? root_ : root_ + path;
}

std::optional<std::string> DiskFileSystem::read_file(const std::string &path, std::string *error) {
  std::string host = host_path(path);
  int fd = ::open(host.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    *error = errno_text(errno);
    return std::nullopt;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    *error = errno_text(errno);
    ::close(fd);
    return std::nullopt;
  }
  if (S_ISDIR(st.st_mode)) {
    *error = "is a directory";
    ::close(fd);
    return std::nullopt;
  }
  // Read straight into one buffer sized from fstat (a 1M-zone file is ~70 MB: no stream
  // copies; one spare byte so the read that sees EOF needs no reallocation), growing it for
  // files whose size fstat does not know (pipes, /proc).
  std::string out;
  out.resize(S_ISREG(st.st_mode) ? size_t(st.st_size) + 1 : 0);
  size_t used = 0;
  while (true) {
    if (used == out.size()) {
      if (out.size() > size_t(kMaxFileBytes)) {
        *error = "file too large";
        ::close(fd);
        return std::nullopt;
      }
      out.resize(std::max<size_t>(out.size() * 2, 4096));
    }
    ssize_t n = ::read(fd, out.data() + used, out.size() - used);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      *error = errno_text(errno);
      ::close(fd);
      return std::nullopt;
    }
    if (n == 0) break;
    used += size_t(n);
  }
  ::close(fd);
  out.resize(used);
  if (used > size_t(kMaxFileBytes)) {
    *error = "file too large";
    return std::nullopt;
  }
  return out;
}

std::optional<std::vector<std::string>> DiskFileSystem::glob(const std::string &pattern,
                                                             std::string *error) {
  std::string host_pattern = glob_escape(root_) + pattern;
  glob_t g{};
  errno = 0;
  int rc = ::glob(host_pattern.c_str(), GLOB_ERR, nullptr, &g);
  std::vector<std::string> out;
  if (rc == 0) {
    for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i] + root_.size());
  }
  int err = errno;
  globfree(&g);
  if (rc == 0 || rc == GLOB_NOMATCH) return out;
  *error = err ? errno_text(err) : "glob failed";
  return std::nullopt;
}

bool DiskFileSystem::is_directory(const std::string &path) {
  struct stat st;
  return stat(host_path(path).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool DiskFileSystem::exists(const std::string &path) {
  struct stat st;
  return stat(host_path(path).c_str(), &st) == 0;
}

std::optional<NzdEntries> DiskFileSystem::read_nzd(const std::string &path, std::string *error) {
  std::string host = host_path(path);
  NzdEntries out;
  // named opens the NZD as a single file (MDB_NOSUBDIR). Read-only with the lock file so a
  // running named's writes are seen consistently; without it if we may not create the lock.
  for (unsigned flags : {MDB_RDONLY | MDB_NOSUBDIR, MDB_RDONLY | MDB_NOSUBDIR | MDB_NOLOCK}) {
    MDB_env *env = nullptr;
    int rc = mdb_env_create(&env);
    if (rc == 0) rc = mdb_env_open(env, host.c_str(), flags, 0600);
    MDB_txn *txn = nullptr;
    if (rc == 0) rc = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn);
    MDB_dbi dbi;
    if (rc == 0) rc = mdb_dbi_open(txn, nullptr, 0, &dbi);
    MDB_cursor *cur = nullptr;
    if (rc == 0) rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc == 0) {
      MDB_val key, data;
      while ((rc = mdb_cursor_get(cur, &key, &data, MDB_NEXT)) == 0) {
        out.emplace_back(std::string(static_cast<const char *>(key.mv_data), key.mv_size),
                         std::string(static_cast<const char *>(data.mv_data), data.mv_size));
      }
      if (rc == MDB_NOTFOUND) rc = 0;
      mdb_cursor_close(cur);
    }
    if (txn) mdb_txn_abort(txn);
    if (env) mdb_env_close(env);
    if (rc == 0) return out;
    *error = rc == ENOENT ? "file not found" : mdb_strerror(rc);
    if (rc != EACCES && rc != EROFS) break;
    out.clear();
  }
  return std::nullopt;
}

std::optional<std::string> MemoryFileSystem::read_file(const std::string &path,
                                                       std::string *error) {
  auto it = files.find(path);
  if (it == files.end()) {
    *error = is_directory(path) ? "is a directory" : "file not found";
    return std::nullopt;
  }
  return it->second;
}

std::optional<std::vector<std::string>> MemoryFileSystem::glob(const std::string &pattern,
                                                               std::string *) {
  std::vector<std::string> out;
  for (const auto &[name, _] : files)
    if (fnmatch(pattern.c_str(), name.c_str(), FNM_PATHNAME | FNM_PERIOD) == 0) out.push_back(name);
  return out;
}

bool MemoryFileSystem::is_directory(const std::string &path) {
  if (path == "/") return true;
  std::string prefix = path + "/";
  auto it = files.lower_bound(prefix);
  if (it != files.end() && it->first.compare(0, prefix.size(), prefix) == 0) return true;
  auto nz = nzds.lower_bound(prefix);
  return nz != nzds.end() && nz->first.compare(0, prefix.size(), prefix) == 0;
}

bool MemoryFileSystem::exists(const std::string &path) {
  return files.count(path) || nzds.count(path) || is_directory(path);
}

std::optional<NzdEntries> MemoryFileSystem::read_nzd(const std::string &path, std::string *error) {
  auto it = nzds.find(path);
  if (it == nzds.end()) {
    *error = "file not found";
    return std::nullopt;
  }
  return it->second;
}

}  // namespace dnswash::zones
