#include "datapath_harness.h"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include "ban_table.h"
#include "config_map.h"
#include "error.h"
#include "zone_table.h"

namespace dnswash::test {

int RunResult::reason() const {
  int found = -1;
  for (unsigned i = 0; i < DW_R_COUNT; ++i) {
    if (delta[i] == 0) continue;
    if (found != -1 || delta[i] != 1) return -1;
    found = int(i);
  }
  return found;
}

Datapath::Datapath(bool det_tc) {
  static const dw_hash_key kTestKey = {0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
  skel_ = DnswashSkel::load(&kTestKey, ReuseMaps{}, OptionalPrograms{.det_tc = det_tc});
  zones_ = std::make_unique<ZoneTable>(skel_->zones_fd(), skel_->key());
}

Datapath::~Datapath() = default;

void Datapath::set_zones(const std::vector<std::string> &zones) {
  std::vector<DnsName> names;
  for (const auto &z : zones) {
    std::string err;
    auto n = parse_dns_name(z, &err);
    if (!n) throw Error("bad zone " + z + ": " + err);
    names.push_back(*n);
  }
  zones_->apply(names);
}

void Datapath::set_flag(uint32_t flag, bool on) {
  set_config_flag(skel_->config_fd(), flag, on);
}

void Datapath::ban(const std::string &prefix, uint64_t expires_ns) {
  std::string err;
  auto k = parse_ban_prefix(prefix, &err);
  if (!k) throw Error(err);
  ban_put(skel_->bans_fd(), *k, dw_ban_val{expires_ns, DW_BAN_ORIGIN_OPERATOR, 0});
}

void Datapath::unban(const std::string &prefix) {
  std::string err;
  auto k = parse_ban_prefix(prefix, &err);
  if (!k) throw Error(err);
  ban_del(skel_->bans_fd(), *k);
}

RunResult Datapath::run(const Bytes &frame) {
  Counters before = read_counters(skel_->counters_fd());
  Bytes out(frame.size() + 256);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = out.data(),
              .data_size_in = uint32_t(frame.size()), .data_size_out = uint32_t(out.size()),
              .repeat = 1);
  if (int err = bpf_prog_test_run_opts(skel_->prog_fd(), &opts); err)
    throw Error(errno_text("BPF_PROG_TEST_RUN on a " + std::to_string(frame.size()) + "-byte frame",
                           errno));
  Counters after = read_counters(skel_->counters_fd());
  RunResult r;
  r.action = int(opts.retval);
  for (size_t i = 0; i < after.size(); ++i) r.delta[i] = after[i] - before[i];
  return r;
}

std::string action_name(int action) {
  switch (action) {
    case XDP_PASS:
      return "XDP_PASS";
    case XDP_DROP:
      return "XDP_DROP";
    case XDP_TX:
      return "XDP_TX";
    case XDP_ABORTED:
      return "XDP_ABORTED";
    default:
      return "action " + std::to_string(action);
  }
}

}  // namespace dnswash::test
