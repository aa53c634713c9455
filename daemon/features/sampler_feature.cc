#include "sampler_feature.h"

#include <arpa/inet.h>
#include <bpf/libbpf.h>

#include <chrono>
#include <cstring>

#include <spdlog/spdlog.h>

#include "config_map.h"
#include "dns_name.h"
#include "dnswash_skel.h"
#include "error.h"
#include "nfqueue/sampler.h"
#include "options.h"
#include "reasons.h"
#include "wall_clock.h"

namespace dnswash::daemon {

namespace {

using nlohmann::json;

int on_ring_event(void *ctx, void *data, size_t size) {
  static_cast<SamplerFeature *>(ctx)->on_event(data, size);
  return 0;
}

// IPv4-mapped addresses print as IPv4.
std::string address_text(const uint8_t a[16]) {
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char buf[INET6_ADDRSTRLEN];
  if (std::memcmp(a, mapped, 12) == 0) return inet_ntop(AF_INET, a + 12, buf, sizeof buf);
  return inet_ntop(AF_INET6, a, buf, sizeof buf);
}

}  // namespace

SamplerFeature::SamplerFeature(DaemonHooks &hooks) : hooks_(hooks) {
  const Options &o = hooks.options();
  int fd = bpf_map__fd(hooks.skel().skel()->maps.dw_samples);
  rb_ = ring_buffer__new(fd, on_ring_event, this, nullptr);
  if (!rb_) throw Error(errno_text("opening the dw_samples ring buffer", errno));
  epoll_fd_ = ring_buffer__epoll_fd(rb_);
  hooks.add_fd(epoll_fd_, [this] { ring_buffer__consume(rb_); });
  set_rate(o.sample_every, o.sample_rate);
  hooks.add_command("top", false, [this](const json &req, const Peer &) { return top(req); });
  hooks.every(std::chrono::milliseconds(1000), [this] { take_nfqueue_samples(); });
  hooks.add_status("sampler", [this] {
    dw_config c = read_config(hooks_.skel().config_fd());
    return json{{"sample_every", c.sample_every},
                {"sample_per_s", c.sample_per_s},
                {"events", events_},
                {"bad_events", bad_events_},
                {"max_since_s", names_.max_since_s()}};
  });
}

SamplerFeature::~SamplerFeature() {
  // The config map outlives us (a successor shares it): stop the sampling nobody reads.
  try {
    set_rate(0, 0);
  } catch (const std::exception &e) {
    spdlog::warn("turning sampling off: {}", e.what());
  }
  hooks_.remove_fd(epoll_fd_);
  ring_buffer__free(rb_);
}

void SamplerFeature::set_rate(unsigned every, unsigned per_s) {
  int fd = hooks_.skel().config_fd();
  dw_config c = read_config(fd);
  c.sample_every = every;
  c.sample_per_s = per_s;
  write_config(fd, c);
}

void SamplerFeature::on_event(const void *data, size_t size) {
  if (size < sizeof(dw_sample_event)) {
    ++bad_events_;
    return;
  }
  dw_sample_event e;
  std::memcpy(&e, data, sizeof e);
  ++events_;
  const int64_t now = now_unix_ms();
  sources_.add(address_text(e.src), now, e.reason);
  if (e.qname_len == 0 || e.qname_len > DW_MAX_NAME) return;
  auto name = parse_wire_name(e.qname, e.qname_len);
  if (!name) {
    ++bad_events_;
    return;
  }
  names_.add(name->to_text(), now, e.reason);  // labels are case-folded by the parser
}

void SamplerFeature::take_nfqueue_samples() {
  nfqueue::SampleQueue *q = hooks_.nfqueue_samples();
  if (!q) return;
  for (const dw_sample_event &e : q->take()) on_event(&e, sizeof e);
}

json SamplerFeature::top(const json &req) {
  // A reply includes everything sampled up to now: the ring's unread events, the queue's.
  ring_buffer__consume(rb_);
  take_nfqueue_samples();
  const std::string what = req.value("what", std::string("names"));
  if (what != "names" && what != "sources")
    throw Error("top: 'what' must be \"names\" or \"sources\", not \"" + what + "\"");
  const int64_t n = req.value("n", int64_t(10));
  const int64_t since_s = req.value("since_s", int64_t(600));
  if (n < 1 || n > 10000) throw Error("top: 'n' must be 1..10000");
  if (since_s < 1) throw Error("top: 'since_s' must be at least 1");
  const TopTable &t = what == "names" ? names_ : sources_;
  const int64_t since = std::min(since_s, t.max_since_s());
  const int64_t now = now_unix_ms();
  json entries = json::array();
  for (const auto &e : t.top(size_t(n), since * 1000, now))
    entries.push_back(
        {{what == "names" ? "name" : "source", e.key},
         {"count", e.count},
         {"error", e.error},
         {"first_unix_ms", e.first_ms},
         {"last_unix_ms", e.last_ms},
         {"reason", e.reason >= 0 ? std::string(counter_name(unsigned(e.reason))) : ""}});
  dw_config c = read_config(hooks_.skel().config_fd());
  return {{"ok", true},
          {"what", what},
          {"n", n},
          {"since_s", since},
          {"sample_every", c.sample_every},
          {"sample_per_s", c.sample_per_s},
          {"samples", t.total(since * 1000, now)},
          {"entries", entries}};
}

}  // namespace dnswash::daemon
