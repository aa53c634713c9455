// The measuring step every per-packet benchmark shares: run each frame once through a program
// with BPF_PROG_TEST_RUN (repeat=1: a repeated frame would be served from cache) and return
// the kernel's mean duration per frame, in ns. Exits on a test-run failure: a benchmark
// that cannot run must not print a number. `repeat` > 1 measures the compute alone: each
// frame run that many times in a row, its lines in cache (shield_bench's second table).
#pragma once

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace dnswash::bench {

template <typename Frame>
double run_pass(int prog_fd, const std::vector<Frame> &frames, int repeat = 1) {
  uint64_t total = 0;
  for (const auto &fr : frames) {
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = fr.data(), .data_size_in = uint32_t(fr.size()),
                .repeat = repeat);
    if (bpf_prog_test_run_opts(prog_fd, &opts) != 0) {
      perror("BPF_PROG_TEST_RUN");
      std::exit(1);
    }
    total += opts.duration;
  }
  return double(total) / double(frames.size());
}

}  // namespace dnswash::bench
