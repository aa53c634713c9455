#include "options.h"

#include <CLI/CLI.hpp>

#include "dnswash_abi.h"
#include "prefix_text.h"
#include "dns_name.h"
#include "duration.h"
#include "http_listen.h"

namespace dnswash::daemon {

ParsedOptions parse_options(int argc, char **argv) {
  ParsedOptions p;
  Options &o = p.opt;
  CLI::App app{
      "dnswashd: keeps an XDP filter on IFACE that drops DNS queries for names this BIND server "
      "is not authoritative for, in sync with named.conf.\n"
      "Signals: SIGTERM/SIGINT stop (and detach, unless --keep-on-exit); SIGUSR2 exits leaving "
      "the filter attached for the next dnswashd to take over (exit code 75); SIGHUP re-reads "
      "the zone sources."};
  app.option_defaults()->always_capture_default();
  app.set_version_flag("--version",
                       "dnswashd 0.1.0 (map ABI " + std::to_string(DW_ABI_VERSION) + ")");
  app.set_config("--config", "",
                 "Read options from FILE (TOML or INI; keys are the long option names)");

  app.add_option("-i,--iface", o.iface, "Interface to filter (the one the DNS queries arrive on)")
      ->required();
  app.add_option("--named-conf", o.named_conf,
                 "BIND configuration to take the zones from; \"\" for none (then only --zone and "
                 "--zones-file)");
  app.add_option("--chroot", o.chroot,
                 "Resolve named.conf paths under DIR, as named -t DIR does (\"\" = none)");
  app.add_option("--zone", o.zones, "Also allow this zone (repeatable)");
  app.add_option("--zones-file", o.zones_files,
                 "Also allow the zones in FILE, one per line, # comments (repeatable)");
  app.add_option("--zones-from", o.zones_from,
                 "Which server's zones to allow: bind (named.conf and named's statistics "
                 "channel), knot (knotc zone-status) or nsd (nsd-control zonestatus); --zone and "
                 "--zones-file add to any of them")
      ->check(CLI::IsMember({"bind", "knot", "nsd"}));
  app.add_option("--named-stats", o.named_stats,
                 "named's statistics channel to read the zones named serves from (e.g. "
                 "http://127.0.0.1:8053): auto = the one named.conf declares, if any; off = "
                 "named.conf only");
  app.add_option("--knotc", o.knotc, "--zones-from knot: the knotc program");
  app.add_option("--knot-socket", o.knot_socket,
                 "--zones-from knot: knotd's control socket ("
                 " = knotc's default)");
  app.add_option("--nsd-control", o.nsd_control, "--zones-from nsd: the nsd-control program");
  app.add_option("--nsd-conf", o.nsd_conf,
                 "--zones-from nsd: nsd.conf for nsd-control -c ("
                 " = its default)");
  app.add_option("--zones-poll-ms", o.zones_poll_ms,
                 "Read the running server's zone list (statistics channel, knotc, nsd-control) "
                 "every N ms (longer when a read takes more than a tenth of that)")
      ->check(CLI::Range(100u, 3600000u));
  app.add_option("--zones-max-drop-share", o.zones_max_drop_share,
                 "A server's list that lost more than this share of its zones (and more than "
                 "one) since the last read is applied only when the next read shows the same")
      ->check(CLI::Range(0.0, 1.0));
  app.add_option("--zones-drop-confirm-ms", o.zones_drop_confirm_ms,
                 "... and only when a read at least N ms after the first shows the same set")
      ->check(CLI::Range(0u, 3600000u));
  app.add_option("--mode", o.mode,
                 "auto (native XDP, else generic XDP, else NFQUEUE), native, generic or nfqueue")
      ->check(CLI::IsMember({"auto", "native", "generic", "nfqueue"}));
  app.add_option("--xdp-attach", o.xdp_attach,
                 "auto (libxdp's dispatcher if the kernel runs it, so other XDP programs share "
                 "the interface; else direct), libxdp or direct (dnswash's own link)")
      ->check(CLI::IsMember({"auto", "libxdp", "direct"}));
  app.add_flag("--dry-run,!--no-dry-run", o.dry_run,
               "Count verdicts but pass every packet (switchable at run time)");
  app.add_flag("--allow-chaos,!--no-allow-chaos", o.allow_chaos,
               "Pass CHAOS-class queries such as version.bind (switchable at run time)");
  app.add_option("--pin-dir", o.pin_dir,
                 "bpffs directory for the link and maps that a restarted dnswashd takes over; "
                 "\"\" = no pins (no restart without a window)");
  app.add_option("--state-dir", o.state_dir,
                 "Directory for <iface>.json, the running daemon's state (mode, ids, pins)");
  app.add_flag("--keep-on-exit", o.keep_on_exit,
               "On SIGTERM/SIGINT leave the filter attached and pinned (for a restart or "
               "upgrade); without it a stop removes everything")
      ->default_str("false");
  app.add_option("--on-abi-mismatch", o.on_abi_mismatch,
                 "When the pinned maps are from another map ABI version: replace (load fresh "
                 "maps and swap the program into the same link; counters and bans restart) or "
                 "refuse (exit with an error)")
      ->check(CLI::IsMember({"replace", "refuse"}));
  app.add_option("--queues", o.queues, "NFQUEUE mode: number of queues (one thread each)")
      ->check(CLI::Range(1u, 64u));
  app.add_flag("--fail-closed", o.fail_closed,
               "NFQUEUE mode: drop instead of pass when the queue is full or the daemon is gone")
      ->default_str("false");
  app.add_option("--ban-action", o.ban_action,
                 "What a banned source's UDP/53 query gets: drop (silence), or tc (a truncated "
                 "reply from XDP, so a real resolver retries over TCP; rate limited per source "
                 "prefix; NFQUEUE mode drops)")
      ->check(CLI::IsMember({"drop", "tc"}));
  app.add_option("--slip-rate", o.slip_rate,
                 "Ban action tc: truncated replies per second per source prefix")
      ->check(CLI::Range(1u, unsigned(DW_SLIP_MAX_PER_S)));
  app.add_option("--slip-burst", o.slip_burst,
                 "Ban action tc: truncated replies a quiet source prefix may get at once")
      ->check(CLI::Range(1u, unsigned(DW_SLIP_MAX_BURST)));
  app.add_option("--slip-v4-prefix", o.slip_v4_prefix,
                 "Ban action tc: IPv4 sources share a rate limit per prefix of this length")
      ->check(CLI::Range(1u, 32u));
  app.add_option("--slip-v6-prefix", o.slip_v6_prefix,
                 "Ban action tc: IPv6 sources share a rate limit per prefix of this length")
      ->check(CLI::Range(1u, 128u));
  // Odd queries and --refuse (docs/odd-queries.md).
  app.add_flag("--chaos-id,!--no-chaos-id", o.chaos_id,
               "Pass id.server and hostname.bind CH TXT queries to named, under the odd-query "
               "rate limit (anycast node identity; version.bind needs --allow-chaos)");
  app.add_option("--odd-rate", o.odd_rate,
                 "Queries with no name to judge (QDCOUNT != 1, odd opcodes and classes, first "
                 "fragments) passed to named per second per source prefix (the --slip-*-prefix "
                 "lengths); burst twice that")
      ->check(CLI::Range(1u, unsigned(DW_ODD_MAX_PER_S)));
  app.add_option("--odd-total-rate", o.odd_total_rate,
                 "The same queries passed to named per second from all sources together")
      ->check(CLI::Range(1u, unsigned(DW_ODD_MAX_PER_S)));
  app.add_option("--refuse", o.refuse,
                 "What a query for a name not served gets: off (silence), known (REFUSED from "
                 "XDP to source prefixes that sent an allowed query in the last hour, else "
                 "silence) or any (REFUSED to every source); rate limited per source prefix "
                 "with --slip-rate; NFQUEUE mode stays silent")
      ->check(CLI::IsMember({"off", "known", "any"}));
  // Rolling-subdomain detector and bans (docs/detector.md).
  auto duration_check = CLI::Validator(
      [](std::string &v) {
        std::string err;
        return parse_duration(v, &err) ? std::string() : err;
      },
      "DURATION");
  app.add_flag("--detector,!--no-detector", o.detector,
               "Ban sources that roll random names under a served zone (docs/detector.md)");
  app.add_option("--detector-signal", o.detector_signal,
                 "answers: count names named answered NXDOMAIN (tc egress, exact); queries: "
                 "count distinct allowed query names in XDP (when answers are not visible)")
      ->check(CLI::IsMember({"answers", "queries"}));
  app.add_option("--detector-threshold", o.detector_threshold,
                 "Distinct names under one zone within the window that ban a source; 0 = "
                 "3 (answers) or 20 (queries)")
      ->check(CLI::Range(0u, unsigned(DW_DET_MAX_THRESHOLD)));
  app.add_option("--detector-window", o.detector_window, "Counting window (e.g. 10m)")
      ->check(duration_check);
  app.add_option("--detector-min-nx-pct", o.detector_min_nx_pct,
                 "Ratio guard (answers signal): at least this percent of the source's answers "
                 "under the zone in the window were NXDOMAIN")
      ->check(CLI::Range(0u, 100u));
  app.add_option("--detector-v6-prefix", o.detector_v6_prefix,
                 "IPv6 sources are counted and banned per prefix of this length")
      ->check(CLI::Range(1u, 128u));
  app.add_option("--detector-exempt-zone", o.detector_exempt_zones,
                 "Never count names at or below this zone (repeatable; replaces the default "
                 "in-addr.arpa ip6.arpa)")
      ->check(CLI::Validator(
          [](std::string &v) {
            std::string err;
            return parse_dns_name(v, &err) ? std::string() : "'" + v + "': " + err;
          },
          "ZONE"));
  app.add_option("--never-ban", o.never_ban,
                 "Never let the detector ban this address or CIDR (repeatable; loopback, the "
                 "host's addresses and named.conf's servers are always included)")
      ->check(CLI::Validator(
          [](std::string &v) {
            std::string err;
            return parse_ban_prefix(v, &err) ? std::string() : err;
          },
          "CIDR"));
  app.add_option("--shield-action", o.shield_action,
                 "Zone shield (part of --detector): the answer to a name missing from a "
                 "shielded zone: nxdomain (built in XDP, with the zone's SOA; tc for a "
                 "signed zone), tc or drop")
      ->check(CLI::IsMember({"nxdomain", "tc", "drop"}));
  app.add_option("--shield-nx-rate", o.shield_nx_rate,
                 "Zone shield: NXDOMAIN answers per second under one zone (all sources) that "
                 "turn its shield on, if they are also --shield-nx-pct of its answers")
      ->check(CLI::Range(1u, 100000000u));
  app.add_option("--shield-nx-pct", o.shield_nx_pct,
                 "Zone shield: the NXDOMAIN share of the zone's answers that, with the rate, "
                 "turns its shield on")
      ->check(CLI::Range(1u, 100u));
  app.add_option("--shield-quiet", o.shield_quiet,
                 "Zone shield: an automatic shield goes off after the missing-name rate stayed "
                 "below half of --shield-nx-rate this long")
      ->check(duration_check);
  app.add_option("--shield-transfer-from", o.shield_transfer_from,
                 "Zone shield: named's address (ADDR or [ADDR]:PORT) for zone transfers (AXFR) "
                 "and SOA serial polls; named.conf must allow-transfer to this host");
  app.add_option("--ban-time", o.ban_time, "Length of a first detector ban")->check(duration_check);
  app.add_option("--ban-repeat", o.ban_repeat,
                 "Ban for an offense after an earlier ban: permanent or a DURATION")
      ->check(CLI::Validator(
          [](std::string &v) {
            std::string err;
            return v == "permanent" || parse_duration(v, &err) ? std::string() : err;
          },
          "permanent|DURATION"));
  app.add_option("--ban-forget", o.ban_forget,
                 "Forget a source's offense history this long after its last ban began: never "
                 "or a DURATION (an offense after that is a first offense again)")
      ->check(CLI::Validator(
          [](std::string &v) {
            std::string err;
            return v == "never" || parse_duration(v, &err) ? std::string() : err;
          },
          "never|DURATION"));
  app.add_option("--ban-history-max", o.ban_history_max,
                 "Sources with an offense history and no ban in force that are remembered (the "
                 "oldest are forgotten first; 0 = none)")
      ->check(CLI::Range(0u, 10000000u));
  app.add_option("--detector-max-bans-per-min", o.detector_max_bans_per_min,
                 "Cap on new detector bans per minute (an alarm is logged when reached)")
      ->check(CLI::Range(1u, 1000000u));
  app.add_option("--detector-max-bans", o.detector_max_bans,
                 "Cap on detector bans in force at once")
      ->check(CLI::Range(1u, unsigned(DW_BANS_MAX)));
  app.add_option("--ban-state-dir", o.ban_state_dir,
                 "Directory for bans-<iface>.lmdb: bans and offense history, kept across "
                 "restarts and reboots (so not under /run); \"\" = keep nothing");
  app.add_option("--sample-every", o.sample_every,
                 "dnswashctl top: sample about one in N dropped queries (0 = no sampling)");
  app.add_option("--sample-rate", o.sample_rate,
                 "dnswashctl top: at most N samples per CPU per second (0 = no sampling)");
  app.add_option("--metrics-listen", o.metrics_listen,
                 "Serve Prometheus metrics over HTTP at ADDR:PORT (GET /metrics; IPv6 as "
                 "[ADDR]:PORT); \"\" = off")
      ->check(
          [](const std::string &v) { return v.empty() ? std::string() : check_listen_address(v); });
  app.add_option("--control-clients", o.control_clients,
                 "Control socket: connections of non-root users, all together (the oldest of "
                 "the uid holding most gives way to a new one)")
      ->check(CLI::Range(1u, 4096u));
  app.add_option("--control-clients-per-uid", o.control_clients_per_uid,
                 "Control socket: connections of one non-root uid (its oldest gives way)")
      ->check(CLI::Range(1u, 4096u));
  app.add_option("--control-admin-reserve", o.control_admin_reserve,
                 "Control socket: connections kept for root and the daemon's uid beyond "
                 "--control-clients")
      ->check(CLI::Range(1u, 4096u));
  app.add_option("--metrics-clients", o.metrics_clients,
                 "Metrics endpoint: connections, all sources together (the oldest of the "
                 "source holding most gives way to a new one)")
      ->check(CLI::Range(1u, 4096u));
  app.add_option("--metrics-clients-per-source", o.metrics_clients_per_source,
                 "Metrics endpoint: connections of one source address (its oldest gives way)")
      ->check(CLI::Range(1u, 4096u));
  app.add_option("--fleet", o.fleet,
                 "Share bans with the other nodes through NATS JetStream at these servers "
                 "(nats://HOST:PORT, comma-separated; docs/fleet.md); \"\" = off");
  app.add_option("--fleet-node-id", o.fleet_node_id,
                 "This node's name in the fleet (letters, digits, '-', '_'; default: the host "
                 "name)");
  app.add_option("--fleet-quorum", o.fleet_quorum,
                 "Apply a remote ban only when this many other nodes report the prefix")
      ->check(CLI::Range(1u, 1000u));
  app.add_option("--fleet-credentials", o.fleet_credentials,
                 "NATS credentials and TLS CA file (root-only; docs/fleet.md)");
  app.add_option("--fleet-queue", o.fleet_queue,
                 "Messages held for NATS while it is unreachable (more are dropped, counted)")
      ->check(CLI::Range(1u, 10000000u));
  app.add_option("--fleet-ready-timeout", o.fleet_ready_timeout,
                 "How long startup waits for the fleet replay before reporting ready anyway")
      ->check(duration_check);
  app.add_option("--fleet-replicas", o.fleet_replicas,
                 "Replicas of the fleet's streams when this node creates them (a three-server "
                 "JetStream cluster: 3)")
      ->check(CLI::Range(1u, 5u));
  app.add_option("--fleet-max-age", o.fleet_max_age,
                 "MaxAge of the timed-ban stream when this node creates it (default: the "
                 "longest of 1d, --ban-time and a timed --ban-repeat)")
      ->check(CLI::Validator(
          [](std::string &v) {
            std::string err;
            return v.empty() || parse_duration(v, &err) ? std::string() : err;
          },
          "DURATION"));
  app.add_flag("-v,--verbose", o.verbose, "More logging (-v debug, -vv trace)")->default_str("0");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    int rc = app.exit(e);
    p.exit_now = rc == 0 ? 0 : 2;
  }
  return p;
}

}  // namespace dnswash::daemon
