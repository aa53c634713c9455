// The minimal demo until the netns lab exists (issue 9): loads the real XDP program, serves a
// few zones, runs an attack-shaped scenario through it with BPF_PROG_TEST_RUN and prints each
// verdict and the counters, as an operator would read them.
#include <linux/bpf.h>

#include <cstdio>

#include "datapath_harness.h"
#include "reasons.h"

using namespace dnswash;
using namespace dnswash::test;

int main() {
  try {
    Datapath dp;
    std::vector<std::string> zones = {"example.com", "example.net"};
    dp.set_zones(zones);
    dp.ban("203.0.113.66");
    std::printf("serving: example.com example.net   banned: 203.0.113.66\n\n");
    struct Step {
      const char *what;
      Bytes frame;
    };
    auto q = [](std::string name, std::string src = "198.51.100.7", int family = 4) {
      FrameSpec f;
      f.family = family;
      f.src = src;
      DnsSpec d;
      d.qname = std::move(name);
      return frame(f, dns_message(d));
    };
    FrameSpec tcp;
    tcp.l4 = 6;
    tcp.src = "203.0.113.66";
    std::vector<Step> steps = {
        {"www.example.com (served)", q("www.example.com")},
        {"WwW.ExAmPlE.NeT (0x20 case)", q("WwW.ExAmPlE.NeT")},
        {"mail.example.com over IPv6", q("mail.example.com", "2001:db8::7", 6)},
        {"notexample.com (substring trap)", q("notexample.com")},
        {"example.com.evil.net (label trap)", q("example.com.evil.net")},
        {"ddosasia.victim.org (junk)", q("ddosasia.victim.org")},
        {"www.example.com from banned source", q("www.example.com", "203.0.113.66")},
        {"TCP/53 from banned source", frame(tcp, Bytes(20, 0))},
    };
    for (auto &s : steps) {
      RunResult r = dp.run(s.frame);
      std::printf("  %-40s %-9s %s\n", s.what, action_name(r.action).c_str(),
                  std::string(counter_name(unsigned(r.reason()))).c_str());
    }
    Counters c = read_counters(dp.skel().counters_fd());
    std::printf("\ncounters:\n");
    for (unsigned i = 0; i < DW_C_COUNT; ++i)
      if (c[i])
        std::printf("  %-20s %llu\n", std::string(counter_name(i)).c_str(),
                    (unsigned long long)c[i]);
    return 0;
  } catch (const std::exception &e) {
    std::fprintf(stderr, "demo: %s\n", e.what());
    return 1;
  }
}
