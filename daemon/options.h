// dnswashd's options: the command line and, with --config FILE, the same keys in a file
// (CLI11's TOML/INI reader: `iface = "eth0"`, `zone = ["example.org", "example.net"]`).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace dnswash::daemon {

struct Options {
  std::string iface;
  std::string named_conf = "/etc/bind/named.conf";
  std::string chroot;
  std::vector<std::string> zones;
  std::vector<std::string> zones_files;
  // Zone sources (docs/zone-sources.md): bind = named.conf plus named's statistics channel,
  // knot = knotc zone-status, nsd = nsd-control zonestatus.
  std::string zones_from = "bind";
  std::string named_stats = "auto";  // URL | auto (named.conf's statistics-channels) | off
  std::string knotc = "knotc";
  std::string knot_socket;  // "" = knotc's default
  std::string nsd_control = "nsd-control";
  std::string nsd_conf;  // "" = nsd-control's default
  unsigned zones_poll_ms = 1000;
  double zones_max_drop_share = 0.1;
  unsigned zones_drop_confirm_ms = 2000;
  std::string mode = "auto";
  // How XDP attaches (docs/nic-sharing.md): libxdp = a component of libxdp's dispatcher (the
  // hook shared with other programs), direct = dnswash's own bpf_link, auto = libxdp when the
  // kernel runs its dispatcher and the hook holds no other kind of program, direct otherwise.
  std::string xdp_attach = "auto";
  bool dry_run = false;
  bool allow_chaos = false;
  std::string pin_dir = "/sys/fs/bpf/dnswash";
  std::string state_dir = "/run/dnswash";
  bool keep_on_exit = false;
  std::string on_abi_mismatch = "replace";
  unsigned queues = 1;
  bool fail_closed = false;
  int verbose = 0;
  // Ban action (docs/ban-action.md): "drop", or "tc" = a truncated reply from XDP, at most
  // slip_rate per second (burst slip_burst) per source prefix of these lengths.
  std::string ban_action = "drop";
  unsigned slip_rate = 5;        // DW_SLIP_DEF_PER_S
  unsigned slip_burst = 10;      // DW_SLIP_DEF_BURST
  unsigned slip_v4_prefix = 24;  // DW_SLIP_DEF_V4_PREFIX
  unsigned slip_v6_prefix = 56;  // DW_SLIP_DEF_V6_PREFIX
  // Odd queries and --refuse (docs/odd-queries.md, odd_answers.h).
  bool chaos_id = true;            // DW_CFG_CHAOS_ID
  std::string refuse = "off";      // off | known | any
  unsigned odd_rate = 10;          // DW_ODD_DEF_PER_S
  unsigned odd_total_rate = 1000;  // DW_ODD_DEF_TOTAL_PER_S
  // Rolling-subdomain detector and bans (docs/detector.md).
  bool detector = false;
  std::string detector_signal = "answers";  // answers | queries
  unsigned detector_threshold = 0;          // 0: 3 (answers) or 20 (queries)
  std::string detector_window = "10m";
  unsigned detector_min_nx_pct = 50;
  unsigned detector_v6_prefix = 64;
  std::vector<std::string> detector_exempt_zones = {"in-addr.arpa", "ip6.arpa"};
  std::vector<std::string> never_ban;
  std::string ban_time = "2h";
  std::string ban_repeat = "permanent";  // permanent | DURATION
  std::string ban_forget = "never";      // never | DURATION (ban_manager.h: BanPolicy)
  unsigned ban_history_max = 10000;
  unsigned detector_max_bans_per_min = 60;
  unsigned detector_max_bans = 10000;
  std::string ban_state_dir = "/var/lib/dnswash";
  // Zone shield (part of --detector; docs/detector.md "Zone shield"; shield_feature.h).
  std::string shield_action = "nxdomain";          // nxdomain | tc | drop
  unsigned shield_nx_rate = 100;                   // NXDOMAIN/s under a zone that may turn it on
  unsigned shield_nx_pct = 25;                     // ... if also this share of its answers
  std::string shield_quiet = "60s";                // below half the rate this long: off again
  std::string shield_transfer_from = "127.0.0.1";  // named, for AXFR and SOA polls (ADDR[:PORT])
  // `dnswashctl top` (sampler_feature.h): one in sample_every drops, at most sample_rate per
  // CPU per second; 0 turns sampling off.
  unsigned sample_every = 64;
  unsigned sample_rate = 1000;
  // The fleet (docs/fleet.md): NATS servers, comma-separated; "" = off.
  std::string fleet;
  std::string fleet_node_id;  // "" = the host name
  unsigned fleet_quorum = 1;
  std::string fleet_credentials;
  unsigned fleet_queue = 10000;
  std::string fleet_ready_timeout = "5s";
  std::string fleet_max_age;  // "" = the longest of 1d, --ban-time, a timed --ban-repeat
  unsigned fleet_replicas = 1;
  // ADDR:PORT for the Prometheus /metrics HTTP listener (metrics_feature.h); "" = none.
  std::string metrics_listen;
  // Connection limits (control_server.h, http_listen.h; docs/dnswashd.md "Limits").
  unsigned control_clients = 64;
  unsigned control_clients_per_uid = 8;
  unsigned control_admin_reserve = 16;
  unsigned metrics_clients = 64;
  unsigned metrics_clients_per_source = 8;
};

// Parses argv (and the --config file). Returns the options, or the exit code to leave with
// (0 after --help/--version, 2 on a usage error, which CLI11 has printed).
struct ParsedOptions {
  Options opt;
  std::optional<int> exit_now;
};
ParsedOptions parse_options(int argc, char **argv);

}  // namespace dnswash::daemon
