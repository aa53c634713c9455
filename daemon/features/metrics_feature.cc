#include "metrics_feature.h"

#include <bpf/bpf.h>

#include <vector>

#include "counters.h"
#include "dnswash_skel.h"
#include "metrics_text.h"
#include "options.h"

namespace dnswash::daemon {

using nlohmann::json;

size_t count_map_entries(int map_fd, size_t key_size) {
  std::vector<uint8_t> a(key_size), b(key_size);
  size_t n = 0;
  const void *prev = nullptr;
  while (bpf_map_get_next_key(map_fd, prev, b.data()) == 0) {
    ++n;
    std::swap(a, b);
    prev = a.data();
  }
  return n;
}

MetricsFeature::MetricsFeature(DaemonHooks &hooks) : hooks_(hooks) {
  hooks.add_status("ban_map", [this] {
    return json{{"entries", count_map_entries(hooks_.skel().bans_fd(), sizeof(dw_ban_key))},
                {"max", DW_BANS_MAX}};
  });
  hooks.add_command("metrics", false, [this](const json &, const Peer &) {
    return json{{"ok", true}, {"text", text()}};
  });
  if (!hooks.options().metrics_listen.empty())
    http_ = std::make_unique<HttpListener>(hooks, hooks.options().metrics_listen, "/metrics",
                                           [this] { return text(); });
}

std::string MetricsFeature::text() const {
  return prometheus_text(hooks_.status(), read_counters(hooks_.skel().counters_fd()));
}

}  // namespace dnswash::daemon
