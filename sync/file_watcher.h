// Watches a set of files and directories for changes with inotify, always on directories:
// editors save by writing a temporary file and renaming it over the old one, which a watch on
// the file itself would miss (it follows the old inode).
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

namespace dnswash {

class FileWatcher {
 public:
  // Throws Error if inotify is unavailable.
  FileWatcher();
  ~FileWatcher();
  FileWatcher(const FileWatcher &) = delete;
  FileWatcher &operator=(const FileWatcher &) = delete;

  // Readable when events are pending (non-blocking).
  int fd() const { return fd_; }

  // Replaces what is watched. A path that is an existing directory: any change inside it
  // counts (an include glob's directory, where a new matching file matters). Any other path is
  // a file, existing or not: changes to that name in its directory count; if the directory
  // itself is missing, the nearest existing ancestor is watched for the missing component. A
  // symlink also has its target watched. Returns the directories watched now that were not
  // watched before the call: a change there between reading the file and this call was missed.
  // Throws Error when a directory cannot be watched (e.g. the inotify watch limit).
  std::vector<std::string> set_paths(const std::vector<std::string> &paths);

  // Reads every pending event; returns the relevant ones as paths ("dir/name", or the
  // directory for events on the directory itself; "(queue overflow)" when the kernel dropped
  // events). Never blocks.
  std::vector<std::string> drain();

  // The directories currently watched (for tests and logs).
  std::vector<std::string> directories() const;

 private:
  struct Dir {
    std::set<std::string> paths;  // the watched paths resolving to this watch (same inode)
    bool any = false;             // every name counts
    std::set<std::string> names;  // otherwise only these
  };
  int fd_ = -1;
  std::map<int, Dir> watches_;  // by watch descriptor
};

}  // namespace dnswash
