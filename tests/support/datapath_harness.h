// Runs frames through the real XDP program with BPF_PROG_TEST_RUN and reports the action and
// which counters moved. Needs root and a BPF-capable kernel: it throws (the test fails) if the
// kernel cannot load or run the program, it never skips.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "counters.h"
#include "dnswash_skel.h"
#include "packet_builder.h"
#include "zone_table.h"

namespace dnswash::test {

struct RunResult {
  int action = -1;  // XDP_PASS / XDP_DROP
  Counters delta{};
  // The single verdict counter that moved, or -1 if none or several did.
  int reason() const;
};

class Datapath {
 public:
  // The XDP program only, unless det_tc: the detector's tc program is verified only for the
  // tests that run it (each verification costs seconds in the kernel matrix's TCG guests).
  explicit Datapath(bool det_tc = false);
  ~Datapath();
  void set_zones(const std::vector<std::string> &zones);
  void set_flag(uint32_t flag, bool on);
  void ban(const std::string &prefix, uint64_t expires_ns = 0);
  void unban(const std::string &prefix);
  RunResult run(const Bytes &frame);
  DnswashSkel &skel() { return *skel_; }
  ZoneTable &zones() { return *zones_; }

 private:
  std::unique_ptr<DnswashSkel> skel_;
  std::unique_ptr<ZoneTable> zones_;
};

std::string action_name(int action);

}  // namespace dnswash::test
