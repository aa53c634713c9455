#include "file_watcher.h"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "error.h"

namespace dnswash {

namespace {

// Everything that can change what a read of a name in the directory returns, and the
// directory itself going away.
constexpr uint32_t kMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE |
                           IN_MODIFY | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR |
                           IN_EXCL_UNLINK;

bool is_dir(const std::string &path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string normalize(const std::string &path) {
  std::string p = std::filesystem::path(path).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

std::string parent_of(const std::string &path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string base_of(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

struct Want {
  bool any = false;
  std::set<std::string> names;
};

// A file `path`: watch its directory for its name, or the nearest existing ancestor for the
// first missing component.
void want_file(std::map<std::string, Want> &want, std::string path) {
  std::string dir = parent_of(path), name = base_of(path);
  while (dir != "/" && dir != "." && !is_dir(dir)) {
    name = base_of(dir);
    dir = parent_of(dir);
  }
  want[dir].names.insert(name);
}

void want_path(std::map<std::string, Want> &want, const std::string &raw) {
  if (raw.empty()) return;
  std::string path = normalize(raw);
  if (is_dir(path))
    want[path].any = true;
  else
    want_file(want, path);
  // A symlinked file or directory changes when its target does: watch that too.
  struct stat st;
  if (lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    std::error_code ec;
    auto target = std::filesystem::weakly_canonical(path, ec);
    if (!ec && target.string() != path) want_path(want, target.string());
  }
}

}  // namespace

FileWatcher::FileWatcher() {
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) throw Error(errno_text("inotify_init1 (watching the configuration)", errno));
}

FileWatcher::~FileWatcher() {
  if (fd_ >= 0) close(fd_);
}

std::vector<std::string> FileWatcher::set_paths(const std::vector<std::string> &paths) {
  std::map<std::string, Want> want;
  for (const auto &p : paths) want_path(want, p);

  std::map<int, Dir> next;
  for (auto it = want.begin(); it != want.end(); ++it) {
    std::string dir = it->first;
    Want w = it->second;
    int wd;
    // The directory may vanish between the check and the watch: fall back to its parent.
    while ((wd = inotify_add_watch(fd_, dir.c_str(), kMask)) < 0 &&
           (errno == ENOENT || errno == ENOTDIR) && dir != "/") {
      w = Want{false, {base_of(dir)}};
      dir = parent_of(dir);
    }
    if (wd < 0)
      throw Error(errno_text("watching directory " + dir +
                                 " for configuration changes (if the limit is reached, raise "
                                 "sysctl fs.inotify.max_user_watches)",
                             errno));
    Dir &d = next[wd];
    d.paths.insert(dir);
    d.any = d.any || w.any;
    d.names.insert(w.names.begin(), w.names.end());
  }

  std::vector<std::string> added;
  for (const auto &[wd, d] : next)
    if (!watches_.count(wd)) added.insert(added.end(), d.paths.begin(), d.paths.end());
  for (const auto &[wd, d] : watches_)
    if (!next.count(wd)) inotify_rm_watch(fd_, wd);  // may already be gone: ignore errors
  watches_ = std::move(next);
  return added;
}

std::vector<std::string> FileWatcher::drain() {
  std::set<std::string> relevant;
  alignas(struct inotify_event) char buf[64 * 1024];
  while (true) {
    ssize_t n = read(fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EAGAIN: drained
    for (char *p = buf; p < buf + n;) {
      auto *ev = reinterpret_cast<struct inotify_event *>(p);
      p += sizeof(struct inotify_event) + ev->len;
      if (ev->mask & IN_Q_OVERFLOW) {
        relevant.insert("(queue overflow)");
        continue;
      }
      auto it = watches_.find(ev->wd);
      if (it == watches_.end()) continue;  // a watch we removed
      const Dir &d = it->second;
      std::string dir = *d.paths.begin();
      if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)) {
        relevant.insert(dir);
        if (ev->mask & IN_IGNORED) watches_.erase(it);  // the kernel dropped the watch
        continue;
      }
      std::string name = ev->len ? std::string(ev->name) : std::string();
      if (d.any || d.names.count(name)) relevant.insert(dir == "/" ? "/" + name : dir + "/" + name);
    }
  }
  return {relevant.begin(), relevant.end()};
}

std::vector<std::string> FileWatcher::directories() const {
  std::vector<std::string> out;
  for (const auto &[wd, d] : watches_) out.insert(out.end(), d.paths.begin(), d.paths.end());
  return out;
}

}  // namespace dnswash
