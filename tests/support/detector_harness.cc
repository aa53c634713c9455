#include "detector_harness.h"

#include <bpf/bpf.h>

#include <cstring>

#include "ban_table.h"
#include "config_map.h"
#include "error.h"
#include "zone_table.h"

namespace dnswash::test {

Bytes response_frame(const Response &r) {
  DnsSpec d;
  d.qname = r.qname;
  d.qr = true;
  if (r.edns) d.trailer = edns_opt_record();
  Bytes msg = dns_message(d);
  if (r.rd) msg[2] = uint8_t(msg[2] | 0x01);
  msg[3] = uint8_t((msg[3] & 0xF0) | (r.rcode & 0x0F));
  FrameSpec f;
  f.family = r.family;
  f.src = r.family == 6 && r.server == "192.0.2.53" ? "2001:db8::53" : r.server;
  f.dst = r.client;
  f.sport = 53;
  f.dport = 40000;
  return frame(f, msg);
}

Detector::Detector() : Datapath(true) {
  rb_ = ring_buffer__new(bpf_map__fd(skel().skel()->maps.dw_det_events), on_event, this, nullptr);
  if (!rb_) throw Error(errno_text("ring_buffer__new", errno));
}

Detector::~Detector() {
  ring_buffer__free(rb_);
}

int Detector::on_event(void *ctx, void *data, size_t size) {
  dw_det_event ev{};
  std::memcpy(&ev, data, std::min(size, sizeof ev));
  static_cast<Detector *>(ctx)->pending_.push_back(ev);
  return 0;
}

void Detector::configure(uint32_t threshold, uint32_t window_s, uint32_t min_nx_pct,
                         uint32_t budget, bool queries, uint32_t v6_prefix, uint64_t ban_ns) {
  dw_config c = read_config(skel().config_fd());
  c.flags |= DW_CFG_DETECTOR;
  if (queries)
    c.flags |= DW_CFG_DETECTOR_QUERIES;
  else
    c.flags &= ~DW_CFG_DETECTOR_QUERIES;
  c.det_threshold = threshold;
  c.det_window_s = window_s;
  c.det_min_nx_pct = min_nx_pct;
  c.det_bans_budget = budget;
  c.det_v6_prefix = v6_prefix;
  c.det_ban_ns = ban_ns;
  write_config(skel().config_fd(), c);
}

int Detector::run_tc(const Bytes &frame) {
  Bytes out(frame.size() + 256);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.data(), .data_out = out.data(),
              .data_size_in = uint32_t(frame.size()), .data_size_out = uint32_t(out.size()),
              .repeat = 1);
  int fd = bpf_program__fd(skel().skel()->progs.dnswash_det_tc);
  if (bpf_prog_test_run_opts(fd, &opts) != 0)
    throw Error(errno_text("BPF_PROG_TEST_RUN of the tc program", errno));
  return int(opts.retval);
}

bool Detector::banned(const std::string &prefix, dw_ban_val *val) {
  auto k = parse_ban_prefix(prefix, nullptr);
  if (!k) throw Error("bad prefix " + prefix);
  // LPM lookups match the longest prefix: walk the keys for an exact one instead.
  dw_ban_key cur{}, next{};
  const dw_ban_key *prev = nullptr;
  while (bpf_map_get_next_key(skel().bans_fd(), prev, &next) == 0) {
    cur = next;
    prev = &cur;
    if (std::memcmp(&cur, &*k, sizeof cur) == 0) {
      dw_ban_val v{};
      if (bpf_map_lookup_elem(skel().bans_fd(), &cur, &v) != 0) return false;
      if (val) *val = v;
      return true;
    }
  }
  return false;
}

size_t Detector::det_entries() {
  int fd = bpf_map__fd(skel().skel()->maps.dw_det);
  dw_det_key cur{}, next{};
  const dw_det_key *prev = nullptr;
  size_t n = 0;
  while (bpf_map_get_next_key(fd, prev, &next) == 0) {
    cur = next;
    prev = &cur;
    ++n;
  }
  return n;
}

void Detector::exempt_zone(const std::string &zone) {
  auto n = parse_dns_name(zone);
  if (!n) throw Error("bad zone " + zone);
  uint64_t tag = dw_zone_tag(zone_digest(zones().key(), *n));
  uint8_t one = 1;
  if (bpf_map_update_elem(bpf_map__fd(skel().skel()->maps.dw_det_exempt), &tag, &one, 0) != 0)
    throw Error(errno_text("exempt", errno));
}

uint64_t Detector::name_digest(const std::string &name) {
  auto n = parse_dns_name(name);
  if (!n) throw Error("bad name " + name);
  return zone_digest(zones().key(), *n);
}

void Detector::never_ban(const std::string &prefix) {
  auto k = parse_ban_prefix(prefix, nullptr);
  if (!k) throw Error("bad prefix " + prefix);
  uint8_t one = 1;
  if (bpf_map_update_elem(bpf_map__fd(skel().skel()->maps.dw_det_never), &*k, &one, 0) != 0)
    throw Error(errno_text("never-ban", errno));
}

std::vector<dw_det_event> Detector::events() {
  ring_buffer__consume(rb_);
  std::vector<dw_det_event> out;
  out.swap(pending_);
  return out;
}

uint64_t Detector::counter(unsigned idx) {
  return read_counters(skel().counters_fd())[idx];
}

uint32_t Detector::budget() {
  return read_config(skel().config_fd()).det_bans_budget;
}

uint32_t verified_insns(int prog_fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0)
    throw Error(errno_text("bpf_obj_get_info_by_fd", errno));
  return info.verified_insns;
}

}  // namespace dnswash::test
