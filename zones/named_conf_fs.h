// The files the named.conf reader sees, behind an interface so tests and the fuzzer can parse
// from memory and never touch the disk. Every path given to a FileSystem is absolute and
// normalized (no ".", ".." or "//"); with a chroot it is a path inside the chroot.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dnswash::zones {

using NzdEntries = std::vector<std::pair<std::string, std::string>>;  // zone name -> config text

class FileSystem {
 public:
  virtual ~FileSystem() = default;
  // The whole file, or nullopt with a reason in *error ("file not found", ...).
  virtual std::optional<std::string> read_file(const std::string &path, std::string *error) = 0;
  // glob(3) with GLOB_ERR, as BIND's include does: matches sorted, empty when nothing matches,
  // nullopt with *error on a read error.
  virtual std::optional<std::vector<std::string>> glob(const std::string &pattern,
                                                       std::string *error) = 0;
  virtual bool is_directory(const std::string &path) = 0;
  virtual bool exists(const std::string &path) = 0;
  // The records of an NZD (LMDB) file, or nullopt with *error if it cannot be read.
  virtual std::optional<NzdEntries> read_nzd(const std::string &path, std::string *error) = 0;
  // The path as the host sees it (the daemon watches host paths).
  virtual std::string host_path(const std::string &path) const { return path; }
};

// The real disk, optionally under a chroot directory (as named -t).
class DiskFileSystem : public FileSystem {
 public:
  explicit DiskFileSystem(std::string chroot = "");
  std::optional<std::string> read_file(const std::string &path, std::string *error) override;
  std::optional<std::vector<std::string>> glob(const std::string &pattern,
                                               std::string *error) override;
  bool is_directory(const std::string &path) override;
  bool exists(const std::string &path) override;
  std::optional<NzdEntries> read_nzd(const std::string &path, std::string *error) override;
  std::string host_path(const std::string &path) const override;

 private:
  std::string root_;  // chroot without trailing slash; empty for none
};

// Files held in memory: for tests and the fuzzer. Directories exist implicitly as prefixes of
// file paths; glob matches with fnmatch(3) over the file names.
class MemoryFileSystem : public FileSystem {
 public:
  std::map<std::string, std::string> files;
  std::map<std::string, NzdEntries> nzds;

  std::optional<std::string> read_file(const std::string &path, std::string *error) override;
  std::optional<std::vector<std::string>> glob(const std::string &pattern,
                                               std::string *error) override;
  bool is_directory(const std::string &path) override;
  bool exists(const std::string &path) override;
  std::optional<NzdEntries> read_nzd(const std::string &path, std::string *error) override;
};

// Lexical path handling (named leaves this to the kernel; we never follow symlinks).
// Joins `path` onto the absolute directory `cwd` unless it is absolute, then removes ".",
// ".." and repeated slashes. ".." above the root stays at the root, as in a chroot.
std::string join_path(const std::string &cwd, const std::string &path);
std::string dirname_of(const std::string &path);

}  // namespace dnswash::zones
