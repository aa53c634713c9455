#include "check_feature.h"

#include <arpa/inet.h>

#include <cstring>

#include "dns_name.h"
#include "dns_types.h"
#include "dnswash_skel.h"
#include "error.h"
#include "reasons.h"
#include "verdict_user.h"

namespace dnswash::daemon {

using nlohmann::json;

std::vector<uint8_t> build_query_frame(const std::string &src, const std::vector<uint8_t> &qname,
                                       uint16_t qtype) {
  uint8_t a4[4], a6[16];
  const bool v4 = inet_pton(AF_INET, src.c_str(), a4) == 1;
  if (!v4 && inet_pton(AF_INET6, src.c_str(), a6) != 1)
    throw Error("check: '" + src + "' is not an IPv4 or IPv6 address");
  std::vector<uint8_t> dns = {0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};  // QUERY, QDCOUNT 1
  dns.insert(dns.end(), qname.begin(), qname.end());
  dns.insert(dns.end(), {uint8_t(qtype >> 8), uint8_t(qtype), 0, 1});  // class IN
  const size_t udp_len = 8 + dns.size();
  std::vector<uint8_t> f(12, 0);  // MAC addresses: unused by the verdict
  auto put16 = [&f](size_t v) {
    f.push_back(uint8_t(v >> 8));
    f.push_back(uint8_t(v));
  };
  put16(v4 ? 0x0800 : 0x86DD);
  if (v4) {
    f.insert(f.end(), {0x45, 0});
    put16(20 + udp_len);
    f.insert(f.end(), {0, 0, 0, 0, 64, 17, 0, 0});  // id, no fragment, ttl, UDP, checksum
    f.insert(f.end(), a4, a4 + 4);
    f.insert(f.end(), {0, 0, 0, 0});
  } else {
    f.insert(f.end(), {0x60, 0, 0, 0});
    put16(udp_len);
    f.insert(f.end(), {17, 64});
    f.insert(f.end(), a6, a6 + 16);
    f.insert(f.end(), 16, 0);
  }
  put16(40000);  // source port
  put16(53);
  put16(udp_len);
  put16(0);  // checksum: not checked by the verdict
  f.insert(f.end(), dns.begin(), dns.end());
  return f;
}

json check_query(const json &req, int zones_fd, int bans_fd, int config_fd) {
  if (!req.contains("name") || !req["name"].is_string()) throw Error("check: no \"name\" given");
  const std::string text = req["name"].get<std::string>();
  std::string err;
  auto name = parse_dns_name(text, &err);
  if (!name) throw Error("check: bad name '" + escape_label(text) + "': " + err);
  const std::string src = req.value("src", std::string("0.0.0.0"));
  uint16_t qtype = 1;
  if (req.contains("qtype")) {
    const json &q = req["qtype"];
    std::optional<uint16_t> t;
    if (q.is_number_unsigned() && q.get<uint64_t>() <= 65535)
      t = uint16_t(q.get<uint64_t>());
    else if (q.is_string())
      t = parse_qtype(q.get<std::string>());
    if (!t)
      throw Error("check: bad qtype " + q.dump() + " (a mnemonic like AAAA, TYPEnnn or 0..65535)");
    qtype = *t;
  }
  auto frame = build_query_frame(src, name->to_wire(), qtype);
  VerdictEngine eng(LiveMaps{zones_fd, bans_fd, config_fd});
  UserVerdict v = eng.classify_frame(frame.data(), frame.size());
  const bool dry_run = (eng.config().flags & DW_CFG_DRY_RUN) != 0;
  json zone = nullptr;
  if (v.reason == DW_R_ALLOWED && v.match_depth <= name->labels.size()) {
    DnsName z;
    z.labels.assign(name->labels.end() - v.match_depth, name->labels.end());
    zone = z.to_text();
  }
  return {{"ok", true},
          {"name", name->to_text()},
          {"src", src},
          {"qtype", qtype_name(qtype)},
          {"verdict", v.drop() ? "drop" : "pass"},
          {"reason", std::string(counter_name(unsigned(v.reason)))},
          {"zone", zone},
          {"dry_run", dry_run},
          // What happens to the packet: a drop verdict passes while dry-run is on.
          {"action", v.drop() && !dry_run ? "drop" : "pass"}};
}

CheckFeature::CheckFeature(DaemonHooks &hooks) {
  hooks.add_command("check", false, [&hooks](const json &req, const Peer &) {
    DnswashSkel &s = hooks.skel();
    return check_query(req, s.zones_fd(), s.bans_fd(), s.config_fd());
  });
}

}  // namespace dnswash::daemon
