// One NFQUEUE queue served by one thread: a netlink socket bound to the queue the rules feed
// (copy range Judge::kCopyRange) and one bound to its whole-packet queue (the rare packet
// whose headers run past the copy range comes back there, whole). Verdicts go back in batches,
// one NFQNL_MSG_VERDICT_BATCH per run of equal verdicts.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "counters.h"
#include "nfqueue/sampler.h"
#include "verdict_user.h"

namespace dnswash::nfqueue {

// Adds the fallback's verdict counts into dw_counters, so `dnswashctl stats` reads the same
// counters in every mode. The XDP program is loaded but not attached in NFQUEUE mode, so
// nothing else writes the map: a read-modify-write of CPU slot 0 under one mutex is exact.
class CounterSink {
 public:
  explicit CounterSink(int counters_fd);
  void add(const Counters &delta);  // logs (does not throw) if the map cannot be written

 private:
  int fd_;
  std::mutex mu_;
};

struct WorkerConfig {
  uint16_t queue = 53;        // fed by the rules
  uint16_t whole_queue = 54;  // takes back packets that need more than the copy range
  bool fail_open = true;      // NFQA_CFG_F_FAIL_OPEN; also the bypass flag on requeues
  uint32_t queue_maxlen = 4096;
  int rcvbuf = 8 << 20;            // socket receive buffer (SO_RCVBUFFORCE)
  SampleQueue *samples = nullptr;  // drop samples for `dnswashctl top` (nfqueue/sampler.h)
};

struct WorkerStats {
  uint16_t queue = 0;
  uint64_t packets = 0;   // judged (whole-queue packets included)
  uint64_t accepted = 0;  // dry-run passes included
  uint64_t dropped = 0;
  uint64_t requeued = 0;  // sent to the whole-packet queue
  uint64_t verdict_msgs = 0;
  uint64_t errors = 0;  // netlink errors, truncated reads
};

class Worker {
 public:
  // Opens and binds both sockets (throws Error, e.g. when another process holds the queue).
  Worker(const WorkerConfig &cfg, const LiveMaps &maps, CounterSink &sink);
  ~Worker();  // stop()
  Worker(const Worker &) = delete;
  Worker &operator=(const Worker &) = delete;

  void start();
  // Gives a verdict to everything already queued, flushes the counters, joins the thread and
  // closes the sockets (the kernel unbinds the queues). Idempotent.
  void stop();
  WorkerStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dnswash::nfqueue
