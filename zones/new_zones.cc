#include "new_zones.h"

#include "sha256.h"

namespace dnswash::zones {

namespace {

// isc_file_sanitize: `dir` is an absolute directory here.
std::string sanitize(FileSystem &fs, const std::string &dir, const std::string &base,
                     const std::string &ext) {
  std::string hash = sha256_hex(base);
  std::string full = join_path(dir, hash + "." + ext);
  if (fs.exists(full)) return full;
  std::string truncated = join_path(dir, hash.substr(0, 16) + "." + ext);
  if (fs.exists(truncated)) return truncated;
  for (char c : base)
    if (c == '/' || c == '\\' || (c >= 'A' && c <= 'Z')) return truncated;
  return join_path(dir, base + "." + ext);
}

}  // namespace

std::string new_zone_file_path(FileSystem &fs, const std::string &cwd,
                               const std::optional<std::string> &new_zones_directory,
                               const std::string &view, const std::string &ext) {
  if (!new_zones_directory) return sanitize(fs, cwd, view, ext);
  std::string in_dir = sanitize(fs, join_path(cwd, *new_zones_directory), view, ext);
  if (fs.exists(in_dir)) return in_dir;
  std::string in_cwd = sanitize(fs, cwd, view, ext);
  return fs.exists(in_cwd) ? in_cwd : in_dir;
}

}  // namespace dnswash::zones
