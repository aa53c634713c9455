// The NFQUEUE fallback: where XDP cannot attach, UDP/53 packets arriving on the interface are
// queued to userspace by netfilter (raw PREROUTING, before conntrack) and judged by the same
// verdict code as the XDP program (VerdictEngine over the same maps), with the same counters.
// docs/nfqueue.md describes the rules, the queues and fail-open versus --fail-closed.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "nfqueue/worker.h"
#include "verdict_user.h"

namespace dnswash::nfqueue {

struct Options {
  std::string iface;
  uint16_t queue_base = 53;  // first queue number; queues queue_base .. queue_base+queues-1
  unsigned queues = 1;       // --queues N: one thread per queue (queue-balance)
  bool fail_closed = false;  // --fail-closed: no --queue-bypass, no NFQA_CFG_F_FAIL_OPEN
  // Packets a queue holds waiting for a verdict; beyond it the kernel accepts (fail-open) or
  // drops (fail-closed) new packets.
  uint32_t queue_maxlen = 4096;
};

class Filter {
 public:
  // Installs the netfilter rules (nft where the kernel has the queue expression, else
  // iptables/ip6tables), binds the queues and starts one thread per queue. `maps` are the
  // loaded (not attached) program's maps; `counters_fd` its counters map
  // (DnswashSkel::counters_fd(), add with add_counters()), which this adds to so `dnswashctl stats`
  // reads the same counters in every mode. Throws Error (with the failing command's stderr) and
  // leaves no rule behind on failure.
  //
  // Queue numbers: the rules feed queue_base .. queue_base+queues-1; queue_base+queues ..
  // queue_base+2*queues-1 take back, whole, the rare packet whose headers run past the copy
  // range (see nfqueue/judge.h). All 2*queues numbers must be free.
  Filter(const Options &opt, const LiveMaps &maps, int counters_fd);
  // Removes every rule it installed, gives a verdict to what is still queued, flushes the
  // counters and stops the threads. Idempotent; stats() stay readable after it.
  void stop();
  ~Filter();  // stop()
  Filter(const Filter &) = delete;
  Filter &operator=(const Filter &) = delete;

  // Which tool installed the rules: "nft", "iptables-nft" or "iptables-legacy".
  std::string backend() const;
  // One entry per queue thread.
  std::vector<WorkerStats> stats() const;
  // The queue threads' drop samples (nfqueue/sampler.h), for the daemon's sampler to take.
  SampleQueue &samples();

  // Removes rules a previous instance on this interface left behind (after a crash); the
  // daemon calls it at start. Never throws.
  static void remove_stale_rules(const std::string &iface);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dnswash::nfqueue
