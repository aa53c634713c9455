#include "counters.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "error.h"

namespace dnswash {

Counters read_counters(int fd) {
  bpf_map_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
    throw Error(errno_text("reading the counters map", errno));
  if (info.value_size != sizeof(dw_cpu_state))
    throw Error("the counters map has another layout (another dnswash version?)");
  Counters out{};
  dw_cpu_state row;
  for (uint32_t cpu = 0; cpu < info.max_entries; ++cpu) {
    if (bpf_map_lookup_elem(fd, &cpu, &row) != 0)
      throw Error(errno_text("reading counters", errno));
    for (size_t i = 0; i < out.size(); ++i) out[i] += row.counters[i];
  }
  return out;
}

void add_counters(int fd, const Counters &delta) {
  // Row 0 read-modify-write: only for writers that are not the datapath (the NFQUEUE
  // fallback runs while no XDP program counts), so nothing races with it but itself.
  uint32_t cpu = 0;
  dw_cpu_state row;
  if (bpf_map_lookup_elem(fd, &cpu, &row) != 0) throw Error(errno_text("reading counters", errno));
  for (size_t i = 0; i < delta.size(); ++i) row.counters[i] += delta[i];
  if (bpf_map_update_elem(fd, &cpu, &row, BPF_ANY) != 0)
    throw Error(errno_text("writing counters", errno));
}

}  // namespace dnswash
