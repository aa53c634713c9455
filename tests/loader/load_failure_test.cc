// The message an operator gets when the kernel refuses a program (loader/load_failure.h): the
// program libbpf names, the kernel release and the verifier's last lines, from libbpf's output.
#include "load_failure.h"

#include <gtest/gtest.h>

#include <cerrno>

namespace dnswash {
namespace {

const char kLibbpfLog[] =
    "libbpf: prog 'dnswash_det_tc': BPF program load failed: Argument list too long\n"
    "libbpf: prog 'dnswash_det_tc': -- BEGIN PROG LOAD LOG --\n"
    "0: (bf) r6 = r1\n"
    "1: (b7) r0 = 0\n"
    "342: (55) if r8 != 0x0 goto pc-17\n"
    "BPF program is too large. Processed 1000001 insn\n"
    "processed 1000001 insns (limit 1000000) max_states_per_insn 15\n"
    "-- END PROG LOAD LOG --\n"
    "libbpf: prog 'dnswash_det_tc': failed to load: -7\n"
    "libbpf: failed to load object 'dnswash_bpf'\n";

TEST(LoadFailure, NamesProgramKernelAndVerifierTail) {
  std::string m = load_failure_text(kLibbpfLog, -E2BIG, "dnswash_xdp", 3);
  EXPECT_NE(m.find("program dnswash_det_tc on kernel " + kernel_release()), std::string::npos) << m;
  EXPECT_NE(m.find("Argument list too long"), std::string::npos) << m;
  EXPECT_NE(m.find("BPF program is too large. Processed 1000001 insn"), std::string::npos) << m;
  EXPECT_NE(m.find("processed 1000001 insns"), std::string::npos) << m;
  EXPECT_NE(m.find("342: (55)"), std::string::npos) << m;
  EXPECT_EQ(m.find("0: (bf) r6 = r1"), std::string::npos) << "only the last 3 lines: " << m;
  EXPECT_EQ(m.find("failed to load object"), std::string::npos) << m;
}

TEST(LoadFailure, FallbackNameWithoutLibbpfLog) {
  std::string m = load_failure_text("", -EPERM, "dnswash_xdp");
  EXPECT_NE(m.find("program dnswash_xdp on kernel "), std::string::npos) << m;
}

}  // namespace
}  // namespace dnswash
