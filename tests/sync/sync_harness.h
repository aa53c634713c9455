// Drives a ZoneSync the way the daemon does (poll its fd, call on_ready) with a fake apply
// callback that records every set it is given. Waits are bounded polls on the sync's own fd
// until a condition holds: no sleeps.
#pragma once

#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "zone_sync.h"

namespace dnswash::test {

using Names = std::set<std::string>;

// A directory under $TMPDIR (or /tmp), removed with its contents on destruction.
class TempDir {
 public:
  TempDir() {
    const char *base = getenv("TMPDIR");
    std::string tmpl = std::string(base ? base : "/tmp") + "/dnswash-sync-XXXXXX";
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir &) = delete;
  TempDir &operator=(const TempDir &) = delete;
  const std::string &path() const { return path_; }
  std::string operator/(const std::string &rel) const { return path_ + "/" + rel; }

  // Rewrites the file in place (truncate + write), creating directories.
  std::string write(const std::string &rel, const std::string &content) const {
    std::filesystem::path p = std::filesystem::path(path_) / rel;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary | std::ios::trunc) << content;
    return p.string();
  }
  // Replaces the file the way editors do: write a temporary file, rename it over the old one.
  std::string replace(const std::string &rel, const std::string &content) const {
    std::string target = write(rel + ".tmp~", content);
    std::string final_path = (std::filesystem::path(path_) / rel).string();
    std::filesystem::rename(target, final_path);
    return final_path;
  }

 private:
  std::string path_;
};

// `zone "NAME" { type primary; file "db"; };` for each name.
inline std::string zone_lines(const std::vector<std::string> &names) {
  std::string out;
  for (const auto &n : names) out += "zone \"" + n + "\" { type primary; file \"db\"; };\n";
  return out;
}

class SyncHarness {
 public:
  explicit SyncHarness(ZoneSources sources, ZoneSync::ApplyFn apply = nullptr) {
    sync_ = std::make_unique<ZoneSync>(
        std::move(sources),
        [this, apply](const std::vector<DnsName> &zones) {
          if (fail_next_apply_) {
            fail_next_apply_ = false;
            throw std::runtime_error("injected apply failure");
          }
          if (apply) apply(zones);
          Names set;
          for (const auto &z : zones) set.insert(z.to_text());
          applied_.push_back(std::move(set));
          applied_at_.push_back(std::chrono::steady_clock::now());
        },
        [this](bool port53) { flags_.push_back(port53); });
  }

  ZoneSync &sync() { return *sync_; }
  const std::vector<Names> &applied() const { return applied_; }
  const Names &current() const {
    static const Names kNone;
    return applied_.empty() ? kNone : applied_.back();
  }
  std::chrono::steady_clock::time_point last_applied_at() const { return applied_at_.back(); }
  const std::vector<bool> &flags() const { return flags_; }
  const SyncStatus &status() const { return sync_->status(); }
  void fail_next_apply() { fail_next_apply_ = true; }

  // Polls the sync's fd and runs on_ready() until `done` holds or `timeout` passes.
  bool wait_until(const std::function<bool()> &done,
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{sync_->poll_fd(), POLLIN, 0};
      if (poll(&p, 1, int(left.count()) + 1) > 0) sync_->on_ready();
    }
    return true;
  }

  // Runs the loop for `period` and reports whether any sync ran meanwhile: for showing that
  // something does NOT trigger a sync (an absence needs a bound; a sync that does run is
  // seen at once).
  bool any_sync_within(std::chrono::milliseconds period) {
    uint64_t before = status().syncs_ok + status().syncs_failed;
    return wait_until([&] { return status().syncs_ok + status().syncs_failed != before; }, period);
  }

 private:
  std::unique_ptr<ZoneSync> sync_;
  std::vector<Names> applied_;
  std::vector<std::chrono::steady_clock::time_point> applied_at_;
  std::vector<bool> flags_;
  bool fail_next_apply_ = false;
};

}  // namespace dnswash::test
