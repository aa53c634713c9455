// Writes ban changes to the BanStore on a thread of its own, so the daemon's loop (signals,
// zone sync, control replies) never waits for the disk. Changes queued while a commit runs go
// into the next one (group commit): one fsync'd transaction per round, however many changes it
// carries, which is what lets 1,000 bans/s through a disk that syncs 100 times a second.
//
// Each change gets a sequence number. A commit reports (upto, error): every change numbered
// <= upto is durable (error ""), or none of that batch is (error set). A failed batch stays
// queued and is retried with the next change, or after kRetry: a ban acknowledged as not saved
// is saved once the disk has room again. The latest change per prefix wins.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "ban_store.h"

namespace dnswash::banstore {

class BanWriter {
 public:
  static constexpr auto kRetry = std::chrono::seconds(2);

  struct Done {
    uint64_t upto = 0;
    std::string error;  // "" = durable
    size_t changes = 0;
  };
  struct Stats {
    uint64_t commits = 0;        // transactions written
    uint64_t failures = 0;       // transactions that failed
    uint64_t changes_saved = 0;  // changes made durable
    size_t unsaved = 0;          // changes queued, in flight, or failed and waiting for a retry
    std::string last_error;      // of the last failure ("" after a later success)
    int64_t last_error_unix_ms = 0;
  };

  explicit BanWriter(BanStore &store);
  // Writes what is still queued (one last try), then stops.
  ~BanWriter();
  BanWriter(const BanWriter &) = delete;
  BanWriter &operator=(const BanWriter &) = delete;

  // Queues a change (entry nullopt = delete); returns its sequence number.
  uint64_t submit(const dw_ban_key &key, std::optional<BanEntry> entry);
  // Readable (an eventfd) when commits have finished: then call take_done().
  int event_fd() const { return efd_; }
  std::vector<Done> take_done();
  Stats stats() const;
  // Blocks until everything submitted so far has been tried once (tests, shutdown).
  void drain();

 private:
  using Key = std::string;  // key_bytes()
  struct Pending {
    uint64_t seq;
    BanStore::Change change;
  };
  void run();

  BanStore &store_;
  int efd_ = -1;
  mutable std::mutex mu_;
  std::condition_variable cv_, drained_;
  std::map<Key, Pending> queued_;  // waiting for the next commit
  size_t in_flight_ = 0;
  uint64_t next_seq_ = 1;
  uint64_t tried_upto_ = 0;  // highest sequence number a finished commit covered
  bool failing_ = false;     // the last commit failed: retry after kRetry unless a change comes
  bool stop_ = false;
  std::vector<Done> done_;
  Stats stats_;
  std::thread thread_;
};

}  // namespace dnswash::banstore
