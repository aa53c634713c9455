// The sd_notify(3) protocol, which is one datagram to $NOTIFY_SOCKET: written out here rather
// than linking libsystemd for ~30 lines (libsystemd-dev is not otherwise needed, and the
// protocol is a stable, documented interface: systemd's sd_notify man page, "Notes").
#pragma once

#include <string>

namespace dnswash::daemon {

// Sends `state` ("READY=1\nSTATUS=...") if $NOTIFY_SOCKET is set; returns false if unset or on
// error (never throws: a daemon outside systemd just has nobody to tell).
bool sd_notify(const std::string &state);

}  // namespace dnswash::daemon
