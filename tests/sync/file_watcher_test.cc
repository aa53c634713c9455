// FileWatcher: which directories it watches for which paths, and which events count.
#include <gtest/gtest.h>
#include <poll.h>

#include "file_watcher.h"
#include "sync_harness.h"

namespace dnswash::test {
namespace {

using V = std::vector<std::string>;

// Drains until some relevant event arrived or 5 s passed (bounded poll, no sleep).
V next_events(FileWatcher &w) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{w.fd(), POLLIN, 0};
    if (poll(&p, 1, 100) > 0) {
      V got = w.drain();
      if (!got.empty()) return got;
    }
  }
  return {};
}

TEST(FileWatcher, WatchesDirectoriesAndReportsNewOnes) {
  TempDir dir;
  dir.write("etc/named.conf", "");
  dir.write("glob/1.conf", "");
  FileWatcher w;
  EXPECT_EQ(w.set_paths({dir / "etc/named.conf"}), V{dir / "etc"});
  EXPECT_EQ(w.set_paths({dir / "etc/named.conf", dir / "glob"}), V{dir / "glob"});
  EXPECT_EQ(w.set_paths({dir / "etc/named.conf", dir / "glob"}), V{});
  EXPECT_EQ(w.directories(), (V{dir / "etc", dir / "glob"}));
  EXPECT_EQ(w.set_paths({dir / "glob"}), V{});
  EXPECT_EQ(w.directories(), V{dir / "glob"});
}

TEST(FileWatcher, OnlyTheWatchedNameCountsInAFileDirectory) {
  TempDir dir;
  dir.write("etc/named.conf", "");
  FileWatcher w;
  w.set_paths({dir / "etc/named.conf"});
  dir.write("etc/other.conf", "x");
  dir.replace("etc/named.conf", "y");  // rename-replace: IN_MOVED_TO named.conf
  EXPECT_EQ(next_events(w), V{dir / "etc/named.conf"});
}

TEST(FileWatcher, AnyNameCountsInAGlobDirectory) {
  TempDir dir;
  std::filesystem::create_directories(dir / "glob");
  FileWatcher w;
  w.set_paths({dir / "glob"});
  dir.write("glob/new.conf", "x");
  EXPECT_EQ(next_events(w), V{dir / "glob/new.conf"});
}

TEST(FileWatcher, MissingDirectoryIsWatchedFromItsParent) {
  TempDir dir;
  FileWatcher w;
  EXPECT_EQ(w.set_paths({dir / "a/b/c.conf"}), V{dir.path()});
  dir.write("unrelated", "x");
  dir.write("a/b/c.conf", "x");  // creates a/ first: that is the change that counts
  EXPECT_EQ(next_events(w), V{dir / "a"});
  EXPECT_EQ(w.set_paths({dir / "a/b/c.conf"}), V{dir / "a/b"});
}

TEST(FileWatcher, SymlinkTargetIsWatchedToo) {
  TempDir dir;
  dir.write("real/named.conf", "");
  std::filesystem::create_directories(dir / "etc");
  std::filesystem::create_symlink(dir / "real/named.conf", dir / "etc/named.conf");
  FileWatcher w;
  w.set_paths({dir / "etc/named.conf"});
  EXPECT_EQ(w.directories(), (V{dir / "etc", dir / "real"}));
  dir.write("real/named.conf", "changed");
  EXPECT_EQ(next_events(w), V{dir / "real/named.conf"});
}

}  // namespace
}  // namespace dnswash::test
