// `dnswashctl top`: dnswashd's side of the dropped-name sampler. It sets the sampling rate in
// dw_config (--sample-every, --sample-rate), reads the program's dw_samples ring buffer (a ring
// has one reader: the daemon), and counts the sampled names (case-folded, \DDD presentation
// form) and sources in TopTables, served by the `top` control command (docs/control-protocol.md).
// In NFQUEUE mode the same events come from the queue threads (nfqueue/sampler.h) instead.
#pragma once

#include <memory>

#include "daemon_hooks.h"
#include "top_table.h"

struct ring_buffer;

namespace dnswash::daemon {

class SamplerFeature final : public DaemonFeature {
 public:
  explicit SamplerFeature(DaemonHooks &hooks);
  ~SamplerFeature() override;

  // One event from the ring (public for the ring's C callback).
  void on_event(const void *data, size_t size);

 private:
  nlohmann::json top(const nlohmann::json &req);
  void take_nfqueue_samples();
  void set_rate(unsigned every, unsigned per_s);

  DaemonHooks &hooks_;
  ring_buffer *rb_ = nullptr;
  int epoll_fd_ = -1;
  TopTable names_;
  TopTable sources_;
  uint64_t events_ = 0;
  uint64_t bad_events_ = 0;
};

}  // namespace dnswash::daemon
