#include "ban_table.h"

#include <bpf/bpf.h>
#include <time.h>

#include <algorithm>

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

size_t ban_put_all(int fd, const dw_ban_key *keys, const dw_ban_val *vals, size_t n,
                   const std::function<void(size_t, const std::string &)> &on_error) {
  // Big enough that the syscall cost vanishes, small enough that one failing chunk redone
  // entry by entry costs little.
  constexpr size_t kChunk = 4096;
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
  bool batch = true;
  size_t put = 0;
  for (size_t i = 0; i < n;) {
    size_t end = std::min(n, i + kChunk);
    if (batch) {
      __u32 count = __u32(end - i);
      int rc = bpf_map_update_batch(fd, keys + i, vals + i, &count, &opts);
      int err = errno;
      if (rc == 0) {
        i = end;
        put += count;
        continue;
      }
      // No batch op for this map type on this kernel (ENOTSUPP, the kernel's internal 524,
      // reaches userspace): one at a time from here on.
      if (err == EOPNOTSUPP || err == 524) {
        batch = false;
      } else if (err != EFAULT && count < end - i) {
        // The first `count` went in; the rest of the chunk goes singly, which names the
        // entry that failed and why. (After EFAULT the count cannot be trusted: redo it all.)
        i += count;
        put += count;
      }
    }
    for (; i < end; ++i) {
      if (bpf_map_update_elem(fd, &keys[i], &vals[i], BPF_ANY) == 0)
        ++put;
      else
        on_error(i, errno_text("adding ban " + ban_prefix_text(keys[i]), errno));
    }
  }
  return put;
}

bool ban_del(int fd, const dw_ban_key &key) {
  if (bpf_map_delete_elem(fd, &key) == 0) return true;
  if (errno == ENOENT) return false;
  throw Error(errno_text("removing ban " + ban_prefix_text(key), errno));
}

}  // namespace dnswash
