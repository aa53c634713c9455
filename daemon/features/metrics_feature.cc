#include "metrics_feature.h"

#include <vector>

#include "counters.h"
#include "dnswash_skel.h"
#include "metrics_text.h"
#include "options.h"

namespace dnswash::daemon {

using nlohmann::json;

MetricsFeature::MetricsFeature(DaemonHooks &hooks) : hooks_(hooks) {
  hooks.add_command("metrics", false, [this](const json &, const Peer &) {
    return json{{"ok", true}, {"text", text()}};
  });
  if (!hooks.options().metrics_listen.empty()) {
    HttpLimits limits;
    limits.max_clients = hooks.options().metrics_clients;
    limits.per_source = hooks.options().metrics_clients_per_source;
    http_ = std::make_unique<HttpListener>(
        hooks, hooks.options().metrics_listen, "/metrics", [this] { return text(); }, limits);
    hooks.add_status("metrics_http", [this] {
      const HttpStats s = http_->stats();
      return json{{"clients", s.clients},
                  {"served", s.served},
                  {"evicted", s.evicted},
                  {"timed_out", s.timed_out},
                  {"oversized", s.oversized},
                  {"limits",
                   {{"clients", http_->limits().max_clients},
                    {"per_source", http_->limits().per_source},
                    {"request_ms", http_->limits().request.count()},
                    {"write_ms", http_->limits().write.count()}}}};
    });
  }
}

std::string MetricsFeature::text() const {
  return prometheus_text(hooks_.status(), read_counters(hooks_.skel().counters_fd()));
}

}  // namespace dnswash::daemon
