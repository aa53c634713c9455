// Start-up checks that turn the usual environment problems into one clear sentence each.
#pragma once

#include <string>

namespace dnswash::daemon {

// Root, or CAP_BPF (or CAP_SYS_ADMIN) plus CAP_NET_ADMIN in the effective set. Throws Error.
void check_privileges();
// The bpf() syscall exists and may load XDP programs. Throws Error.
void check_kernel_bpf();
// if_nametoindex, with a message that says where it looked. Throws Error.
int interface_index(const std::string &iface);

}  // namespace dnswash::daemon
