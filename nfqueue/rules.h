// The netfilter rules of the NFQUEUE fallback: UDP to port 53 arriving on one interface, IPv4
// and IPv6, queued from the raw table's PREROUTING (before conntrack, which a spoofed flood
// would fill). Three ways to install them, tried in order:
//   nft             one table "inet dnswash_<iface>" with the native queue statement
//                   (needs CONFIG_NFT_QUEUE)
//   iptables-nft    iptables-nft + ip6tables-nft: the xt NFQUEUE target through nft_compat
//   iptables-legacy iptables-legacy + ip6tables-legacy
// Every rule (and the nft table) carries the comment "dnswash:<iface>", which is how
// remove_stale() finds what a crashed instance left behind.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "run_command.h"

namespace dnswash::nfqueue {

struct RuleSpec {
  std::string iface;
  uint16_t first_queue = 53;
  unsigned queues = 1;  // > 1: spread over first..first+queues-1 by flow hash (queue-balance)
  bool bypass = true;   // accept when no process is bound to the queue (dead daemon)
};

// "iface" must look like an interface name (1-15 of [A-Za-z0-9_.@+-]); throws Error if not,
// so nothing an operator types can reach a command line or an nft script unquoted.
void check_iface_name(const std::string &iface);
// The nft table for an interface: "dnswash_" + the name with every character outside
// [A-Za-z0-9] written as _HH, so distinct names never share a table.
std::string nft_table_name(const std::string &iface);
// The tag on every rule: "dnswash:<iface>".
std::string rule_comment(const std::string &iface);

class Rules {
 public:
  // Installs the rules with the first backend that takes them. Throws Error listing what each
  // backend said; nothing is left installed then.
  static std::unique_ptr<Rules> install(const RuleSpec &spec);
  // Removes exactly the rules install() added.
  ~Rules();
  Rules(const Rules &) = delete;
  Rules &operator=(const Rules &) = delete;

  const std::string &backend() const { return backend_; }  // "nft", "iptables-nft", ...

  // Removes every rule tagged for this interface in every backend. Never throws; returns how
  // many rules (an nft table counts as one) it removed.
  static int remove_stale(const std::string &iface);

  // The argv (after the binary and "-w") of one iptables rule, without the -A/-D.
  static std::vector<std::string> iptables_rule(const RuleSpec &spec);
  // The nft command (one argument, one transaction) that creates the table.
  static std::string nft_script(const RuleSpec &spec);

 private:
  Rules(RuleSpec spec, std::string backend)
      : spec_(std::move(spec)), backend_(std::move(backend)) {}
  RuleSpec spec_;
  std::string backend_;
};

}  // namespace dnswash::nfqueue
