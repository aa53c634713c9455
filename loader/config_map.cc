#include "config_map.h"

#include <bpf/bpf.h>

#include "error.h"

namespace dnswash {

dw_config read_config(int fd) {
  uint32_t k = 0;
  dw_config c{};
  if (bpf_map_lookup_elem(fd, &k, &c) != 0) throw Error(errno_text("reading dw_config", errno));
  return c;
}

void write_config(int fd, const dw_config &c) {
  uint32_t k = 0;
  if (bpf_map_update_elem(fd, &k, &c, BPF_ANY) != 0)
    throw Error(errno_text("writing dw_config", errno));
}

void set_config_flag(int fd, uint32_t flag, bool on) {
  dw_config c = read_config(fd);
  c.flags = on ? (c.flags | flag) : (c.flags & ~flag);
  write_config(fd, c);
}

}  // namespace dnswash
