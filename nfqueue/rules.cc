#include "nfqueue/rules.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "error.h"
#include "run_command.h"

namespace dnswash::nfqueue {

namespace {

std::string join(const std::vector<std::string> &argv) {
  std::string s;
  for (const auto &a : argv) s += (s.empty() ? "" : " ") + a;
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Splits one line of `iptables -S` into arguments (double quotes with backslash escapes, as
// iptables prints comments).
std::vector<std::string> split_rule_line(const std::string &line) {
  std::vector<std::string> out;
  std::string cur;
  bool in_quote = false, have = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (in_quote) {
      if (c == '\\' && i + 1 < line.size()) {
        cur += line[++i];
      } else if (c == '"') {
        in_quote = false;
      } else {
        cur += c;
      }
    } else if (c == '"') {
      in_quote = true;
      have = true;
    } else if (c == ' ' || c == '\t') {
      if (have) out.push_back(cur);
      cur.clear();
      have = false;
    } else {
      cur += c;
      have = true;
    }
  }
  if (have) out.push_back(cur);
  return out;
}

struct IptablesPair {
  const char *name;  // backend name
  const char *v4;
  const char *v6;
  const char *proc_v4;  // legacy only: where the kernel lists registered tables
  const char *proc_v6;
};
const IptablesPair kIptables[] = {
    {"iptables-nft", "iptables-nft", "ip6tables-nft", nullptr, nullptr},
    {"iptables-legacy", "iptables-legacy", "ip6tables-legacy", "/proc/net/ip_tables_names",
     "/proc/net/ip6_tables_names"},
};

// Legacy iptables instantiates a table on first use; list it only if it already exists.
bool legacy_raw_present(const char *proc) {
  if (!proc) return true;
  std::ifstream in(proc);
  std::string t;
  while (in >> t)
    if (t == "raw") return true;
  return false;
}

CommandResult run_tool(const std::string &bin, std::vector<std::string> args) {
  args.insert(args.begin(), bin);
  return run_command(args);
}

}  // namespace

void check_iface_name(const std::string &iface) {
  bool ok = !iface.empty() && iface.size() <= 15 && iface != "." && iface != "..";
  for (char c : iface)
    if (!(isalnum(uint8_t(c)) || c == '_' || c == '.' || c == '@' || c == '+' || c == '-'))
      ok = false;
  if (!ok)
    throw Error(
        "interface name '" + iface +
        "' is not usable for netfilter rules: use 1-15 characters of A-Z a-z 0-9 _ . @ + -");
}

std::string nft_table_name(const std::string &iface) {
  static const char hex[] = "0123456789abcdef";
  std::string t = "dnswash_";
  for (char c : iface) {
    if (isalnum(uint8_t(c))) {
      t += c;
    } else {
      t += '_';
      t += hex[uint8_t(c) >> 4];
      t += hex[uint8_t(c) & 15];
    }
  }
  return t;
}

std::string rule_comment(const std::string &iface) {
  return "dnswash:" + iface;
}

std::vector<std::string> Rules::iptables_rule(const RuleSpec &s) {
  std::vector<std::string> a = {"-t",
                                "raw",
                                "PREROUTING",
                                "-i",
                                s.iface,
                                "-p",
                                "udp",
                                "--dport",
                                "53",
                                "-m",
                                "comment",
                                "--comment",
                                rule_comment(s.iface),
                                "-j",
                                "NFQUEUE"};
  if (s.queues > 1) {
    a.push_back("--queue-balance");
    a.push_back(std::to_string(s.first_queue) + ":" + std::to_string(s.first_queue + s.queues - 1));
  } else {
    a.push_back("--queue-num");
    a.push_back(std::to_string(s.first_queue));
  }
  if (s.bypass) a.push_back("--queue-bypass");
  return a;
}

std::string Rules::nft_script(const RuleSpec &s) {
  std::string queues = std::to_string(s.first_queue);
  if (s.queues > 1) queues += "-" + std::to_string(s.first_queue + s.queues - 1);
  // Priority raw (-300): before conntrack (-200), like the iptables raw table. Without
  // "fanout", several queues are chosen by flow hash, as iptables' --queue-balance does.
  std::string c = "\"" + rule_comment(s.iface) + "\"";
  return "table inet " + nft_table_name(s.iface) + " { comment " + c +
         "; chain prerouting { type filter hook prerouting priority raw; policy accept; "
         "iifname \"" +
         s.iface + "\" udp dport 53 queue " + (s.bypass ? "flags bypass " : "") + "to " + queues +
         " comment " + c + "; }; }";
}

std::unique_ptr<Rules> Rules::install(const RuleSpec &spec) {
  check_iface_name(spec.iface);
  if (spec.queues == 0 || spec.first_queue + spec.queues - 1 > 65535)
    throw Error("queue range " + std::to_string(spec.first_queue) + "+" +
                std::to_string(spec.queues) + " does not fit in 0..65535");
  std::string why;

  // nft: the whole table is one transaction, so a kernel without the queue expression leaves
  // nothing behind.
  if (std::string nft = find_binary("nft"); !nft.empty()) {
    run_tool(nft, {"delete", "table", "inet", nft_table_name(spec.iface)});  // if stale
    CommandResult r = run_tool(nft, {nft_script(spec)});
    if (r.status == 0) return std::unique_ptr<Rules>(new Rules(spec, "nft"));
    why += "  nft: " + trim(r.output) + "\n";
  } else {
    why += "  nft: not installed\n";
  }

  std::vector<std::string> rule = iptables_rule(spec);
  std::vector<std::string> add = rule, del = rule;
  add.insert(add.begin() + 2, "-A");
  del.insert(del.begin() + 2, "-D");
  add.insert(add.begin(), {"-w", "5"});
  del.insert(del.begin(), {"-w", "5"});
  for (const auto &ipt : kIptables) {
    std::string v4 = find_binary(ipt.v4), v6 = find_binary(ipt.v6);
    if (v4.empty() || v6.empty()) {
      why += std::string("  ") + ipt.name + ": not installed\n";
      continue;
    }
    CommandResult r4 = run_tool(v4, add);
    if (r4.status != 0) {
      why += std::string("  ") + ipt.v4 + " " + join(add) + ": " + trim(r4.output) + "\n";
      continue;
    }
    CommandResult r6 = run_tool(v6, add);
    if (r6.status != 0) {
      why += std::string("  ") + ipt.v6 + " " + join(add) + ": " + trim(r6.output) + "\n";
      run_tool(v4, del);
      continue;
    }
    return std::unique_ptr<Rules>(new Rules(spec, ipt.name));
  }
  throw Error("cannot install the NFQUEUE rules for " + spec.iface +
              " (tried nft, iptables-nft, iptables-legacy):\n" + why +
              "check that the kernel has nfnetlink_queue and the nft queue expression or the "
              "xt NFQUEUE target (CONFIG_NFT_QUEUE or CONFIG_NETFILTER_XT_TARGET_NFQUEUE)");
}

Rules::~Rules() {
  if (backend_ == "nft") {
    run_tool(find_binary("nft"), {"delete", "table", "inet", nft_table_name(spec_.iface)});
    return;
  }
  std::vector<std::string> del = iptables_rule(spec_);
  del.insert(del.begin() + 2, "-D");
  del.insert(del.begin(), {"-w", "5"});
  for (const auto &ipt : kIptables) {
    if (backend_ != ipt.name) continue;
    run_tool(find_binary(ipt.v4), del);
    run_tool(find_binary(ipt.v6), del);
  }
}

int Rules::remove_stale(const std::string &iface) {
  int removed = 0;
  try {
    check_iface_name(iface);
  } catch (const Error &) {
    return 0;
  }
  if (std::string nft = find_binary("nft"); !nft.empty())
    if (run_tool(nft, {"delete", "table", "inet", nft_table_name(iface)}).status == 0) ++removed;
  const std::string tag = rule_comment(iface);
  for (const auto &ipt : kIptables) {
    for (int fam = 0; fam < 2; ++fam) {
      if (!legacy_raw_present(fam ? ipt.proc_v6 : ipt.proc_v4)) continue;
      std::string bin = find_binary(fam ? ipt.v6 : ipt.v4);
      if (bin.empty()) continue;
      CommandResult list = run_tool(bin, {"-w", "5", "-t", "raw", "-S", "PREROUTING"});
      if (list.status != 0) continue;
      std::stringstream ss(list.output);
      std::string line;
      while (std::getline(ss, line)) {
        std::vector<std::string> args = split_rule_line(line);
        if (args.size() < 2 || args[0] != "-A") continue;
        bool ours = false;
        for (size_t i = 0; i + 1 < args.size(); ++i)
          if (args[i] == "--comment" && args[i + 1] == tag) ours = true;
        if (!ours) continue;
        args[0] = "-D";
        args.insert(args.begin(), {"-w", "5", "-t", "raw"});
        if (run_tool(bin, args).status == 0) ++removed;
      }
    }
  }
  return removed;
}

}  // namespace dnswash::nfqueue
