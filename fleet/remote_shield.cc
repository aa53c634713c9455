#include "remote_shield.h"

namespace dnswash::fleet {

bool RemoteShield::update(int64_t now_ms, double missing_rate) {
  if (!held_) return false;
  if (missing_rate >= warm_rate_) last_warm_ms_ = now_ms;
  if (on_) return true;
  // The fleet said off: held only while this node's own traffic keeps the zone warm.
  if (!last_warm_ms_ || now_ms - *last_warm_ms_ >= quiet_ms_) {
    held_ = false;
    last_warm_ms_.reset();
  }
  return held_;
}

}  // namespace dnswash::fleet
