#include "zones_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "error.h"

namespace dnswash {

namespace {

constexpr const char *kRootRefused =
    "the root zone '.' would allow every name; list the zones this server serves";

bool is_blank(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

}  // namespace

std::vector<DnsName> parse_zones_text(const std::string &text, const std::string &display) {
  std::vector<DnsName> out;
  size_t line_no = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    ++line_no;
    std::string_view line(text.data() + start, end - start);
    start = end + 1;
    if (size_t hash = line.find('#'); hash != std::string_view::npos) line = line.substr(0, hash);
    size_t b = 0;
    while (b < line.size() && is_blank(line[b])) ++b;
    size_t e = b;
    while (e < line.size() && !is_blank(line[e])) ++e;
    if (b == e) continue;
    auto where = [&](size_t col) {
      return display + ":" + std::to_string(line_no) + ":" + std::to_string(col + 1) + ": ";
    };
    size_t extra = e;
    while (extra < line.size() && is_blank(line[extra])) ++extra;
    if (extra < line.size())
      throw Error(where(extra) + "one zone name per line expected, found a second word '" +
                  std::string(line.substr(extra)) + "'");
    std::string_view word = line.substr(b, e - b);
    std::string error;
    auto name = parse_dns_name(word, &error);
    if (!name) throw Error(where(b) + "invalid zone name '" + std::string(word) + "': " + error);
    if (name->is_root()) throw Error(where(b) + kRootRefused);
    out.push_back(std::move(*name));
  }
  return out;
}

std::vector<DnsName> read_zones_file(const std::string &path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(errno_text(path + ": cannot open the zones file", errno));
  std::string text;
  char buf[65536];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      throw Error(errno_text(path + ": cannot read the zones file", err));
    }
    if (n == 0) break;
    text.append(buf, size_t(n));
  }
  close(fd);
  return parse_zones_text(text, path);
}

DnsName parse_zone_argument(const std::string &name) {
  std::string error;
  auto parsed = parse_dns_name(name, &error);
  if (!parsed) throw Error("--zone '" + name + "': invalid zone name: " + error);
  if (parsed->is_root()) throw Error("--zone '" + name + "': " + kRootRefused);
  return *parsed;
}

}  // namespace dnswash
