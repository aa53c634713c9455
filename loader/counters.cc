#include "counters.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <vector>

#include "error.h"

namespace dnswash {

Counters read_counters(int fd) {
  int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) throw Error(errno_text("counting CPUs", ncpu));
  std::vector<uint64_t> per_cpu(size_t(ncpu), 0);
  Counters out{};
  for (uint32_t i = 0; i < DW_C_COUNT; ++i) {
    if (bpf_map_lookup_elem(fd, &i, per_cpu.data()) != 0)
      throw Error(errno_text("reading counters", errno));
    for (uint64_t v : per_cpu) out[i] += v;
  }
  return out;
}

}  // namespace dnswash
