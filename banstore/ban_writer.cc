#include "ban_writer.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <utility>

#include "error.h"
#include "wall_clock.h"

namespace dnswash::banstore {

BanWriter::BanWriter(BanStore &store) : store_(store) {
  efd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (efd_ < 0) throw Error(errno_text("eventfd for the ban writer", errno));
  thread_ = std::thread([this] { run(); });
}

BanWriter::~BanWriter() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
  close(efd_);
}

uint64_t BanWriter::submit(const dw_ban_key &key, std::optional<BanEntry> entry) {
  uint64_t seq;
  {
    std::lock_guard lock(mu_);
    seq = next_seq_++;
    Pending &p = queued_[Key(key_bytes(key))];
    p.seq = seq;
    p.change = {key, std::move(entry)};
    failing_ = false;  // a new change is worth a try now
  }
  cv_.notify_one();
  return seq;
}

std::vector<BanWriter::Done> BanWriter::take_done() {
  uint64_t n;
  while (read(efd_, &n, sizeof n) == ssize_t(sizeof n)) {
  }
  std::lock_guard lock(mu_);
  return std::exchange(done_, {});
}

BanWriter::Stats BanWriter::stats() const {
  std::lock_guard lock(mu_);
  Stats s = stats_;
  s.unsaved = queued_.size() + in_flight_;
  return s;
}

void BanWriter::drain() {
  std::unique_lock lock(mu_);
  uint64_t want = next_seq_ - 1;
  drained_.wait(lock, [&] { return tried_upto_ >= want || stop_; });
}

void BanWriter::run() {
  std::unique_lock lock(mu_);
  while (true) {
    if (failing_ && !stop_)
      cv_.wait_for(lock, kRetry, [&] { return stop_ || !failing_; });
    else
      cv_.wait(lock, [&] { return stop_ || !queued_.empty(); });
    if (queued_.empty()) {
      if (stop_) return;
      failing_ = false;
      continue;
    }
    std::map<Key, Pending> batch = std::exchange(queued_, {});
    uint64_t upto = next_seq_ - 1;
    in_flight_ = batch.size();
    lock.unlock();

    std::vector<BanStore::Change> changes;
    changes.reserve(batch.size());
    for (auto &[k, p] : batch) changes.push_back(p.change);
    std::string err = store_.write(changes);

    lock.lock();
    in_flight_ = 0;
    ++stats_.commits;
    if (err.empty()) {
      stats_.changes_saved += batch.size();
      stats_.last_error.clear();
    } else {
      ++stats_.failures;
      stats_.last_error = err;
      stats_.last_error_unix_ms = now_unix_ms();
      // Back in the queue unless a newer change to the same prefix came meanwhile.
      for (auto &[k, p] : batch) queued_.try_emplace(k, std::move(p));
      failing_ = true;
    }
    tried_upto_ = upto;
    done_.push_back({upto, err, batch.size()});
    uint64_t one = 1;
    (void)!write(efd_, &one, sizeof one);
    drained_.notify_all();
    // Stopping: go on while commits succeed; after a failure the last try was made (what is
    // left shows in stats().unsaved, which the caller logs).
    if (stop_ && !err.empty()) return;
  }
}

}  // namespace dnswash::banstore
