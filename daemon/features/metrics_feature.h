// Prometheus metrics (metrics_text.h): the `metrics` control command (`dnswashctl metrics`),
// the --metrics-listen HTTP endpoint (http_listen.h), and a "ban_map" status section with the
// ban map's entry count (the dnswash_bans gauge when the status has no "detector" section).
#pragma once

#include <memory>

#include "daemon_hooks.h"
#include "http_listen.h"

namespace dnswash::daemon {

class MetricsFeature final : public DaemonFeature {
 public:
  explicit MetricsFeature(DaemonHooks &hooks);
  std::string text() const;

 private:
  DaemonHooks &hooks_;
  std::unique_ptr<HttpListener> http_;
};

// Entries in an LPM trie (or any map) by walking its keys.
size_t count_map_entries(int map_fd, size_t key_size);

}  // namespace dnswash::daemon
