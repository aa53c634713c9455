// The zone-shield scene both shield benchmarks measure (shield_bench under BPF_PROG_TEST_RUN,
// shield_flood_bench on a live veth): dnswash loaded with 1,000 served zones
// z<i>.bench.test, and z0.bench.test's names installed as a shielded zone's name set (action
// NXDOMAIN, a small SOA). The shield flag (DW_CFG_SHIELD) is left to the caller.
#pragma once

#include <bpf/libbpf.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "dnswash_skel.h"
#include "name_set.h"
#include "shield_maps.h"
#include "zone_names.h"
#include "zone_table.h"

namespace dnswash::bench {

constexpr size_t kShieldZones = 1000;
inline const dw_hash_key kShieldKey = {0x0123456789abcdefULL, 0xfedcba9876543210ULL};

inline std::string shield_zone_name(size_t i) {
  return "z" + std::to_string(i) + ".bench.test";
}

struct ShieldScene {
  std::unique_ptr<DnswashSkel> skel;
  std::unique_ptr<ZoneTable> zones;
  std::unique_ptr<shield::ShieldMaps> maps;

  // names: the shielded zone's owner names (below z0.bench.test).
  explicit ShieldScene(const std::vector<std::string> &names) {
    skel = DnswashSkel::load(&kShieldKey);
    zones = std::make_unique<ZoneTable>(skel->zones_fd(), skel->key());
    std::vector<DnsName> zn;
    for (size_t i = 0; i < kShieldZones; ++i) zn.push_back(*parse_dns_name(shield_zone_name(i)));
    zones->apply(zn);
    auto *s = skel->skel();
    maps = std::make_unique<shield::ShieldMaps>(
        bpf_map__fd(s->maps.dw_shield_names), bpf_map__fd(s->maps.dw_shield_zones),
        bpf_map__fd(s->maps.dw_shield_stats), skel->config_fd());
    install_names(names);
    const DnsName apex = *parse_dns_name(shield_zone_name(0));
    dw_shield_zone z{};
    z.action = DW_SHIELD_ACT_NXDOMAIN;
    const uint8_t soa[] = {0, 6, 0, 1, 0,  0,  0, 30, 0, 27, 2, 'n', 's', 0,   1, 'h', 0, 0, 0,
                           0, 1, 0, 0, 14, 16, 0, 0,  2, 88, 0, 1,   81,  128, 0, 0,   0, 30};
    z.soa_len = sizeof soa;
    std::memcpy(z.soa, soa, sizeof soa);
    maps->set_zone(dw_zone_tag(zone_digest(zones->key(), apex)), z);
  }

  // Makes these the shielded zone's names (a new set, swapped in).
  void install_names(const std::vector<std::string> &names) {
    const DnsName apex = *parse_dns_name(shield_zone_name(0));
    shield::ZoneNamesBuilder b(apex);
    for (const auto &n : names) b.add(*parse_dns_name(n), 1);
    maps->install(shield::build_name_set(zones->key(), apex, b.finish()));
  }
};

}  // namespace dnswash::bench
