// Prometheus metrics (metrics_text.h): the `metrics` control command (`dnswashctl metrics`),
// the --metrics-listen HTTP endpoint (http_listen.h) and its "metrics_http" status section.
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

}  // namespace dnswash::daemon
