#include "ban_table.h"

#include <bpf/bpf.h>
#include <time.h>

#include "error.h"

namespace dnswash {

uint64_t boottime_ns() {
  timespec ts;
  clock_gettime(CLOCK_BOOTTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ULL + uint64_t(ts.tv_nsec);
}

void ban_put(int fd, const dw_ban_key &key, const dw_ban_val &val) {
  if (bpf_map_update_elem(fd, &key, &val, BPF_ANY) != 0)
    throw Error(errno_text("adding ban " + ban_prefix_text(key), errno));
}

bool ban_del(int fd, const dw_ban_key &key) {
  if (bpf_map_delete_elem(fd, &key) == 0) return true;
  if (errno == ENOENT) return false;
  throw Error(errno_text("removing ban " + ban_prefix_text(key), errno));
}

}  // namespace dnswash
