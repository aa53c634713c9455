#include "metrics_text.h"

#include <set>
#include <sstream>

#include "reasons.h"

namespace dnswash::daemon {

namespace {

using nlohmann::json;

// "dry-run-passed" -> "dry_run_passed"
std::string snake(std::string_view s) {
  std::string out(s);
  for (char &c : out)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) c = '_';
  return out;
}

// Label values: backslash, double quote and newline escaped (the format's only escapes).
std::string label_value(const std::string &v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

struct Writer {
  std::ostringstream out;
  void family(const std::string &name, const char *type, const char *help) {
    out << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }
  void sample(const std::string &name, double v, const std::string &labels = "") {
    out << name;
    if (!labels.empty()) out << '{' << labels << '}';
    out << ' ' << v << '\n';
  }
  // A family is written once: a datapath counter may share a name with a status-derived one.
  void single(const std::string &name, const char *type, const char *help, double v) {
    if (!seen.insert(name).second) return;
    family(name, type, help);
    sample(name, v);
  }
  std::set<std::string> seen;
};

double num(const json &j, const char *key, double dflt = 0) {
  auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : dflt;
}
bool flag(const json &j, const char *key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

}  // namespace

std::string prometheus_text(const json &status, const Counters &counters) {
  Writer w;
  w.out.precision(17);
  w.family("dnswash_packets_total", "counter",
           "Packets judged by the filter, by verdict reason (summed over CPUs).");
  for (unsigned i = 0; i < DW_R_COUNT; ++i)
    w.sample("dnswash_packets_total", double(counters[i]),
             "reason=\"" + label_value(std::string(counter_name(i))) + "\"");
  // Counters that are not verdicts, by their names (a new one appears without a change here).
  for (unsigned i = DW_R_COUNT; i < DW_C_COUNT; ++i) {
    const std::string name = "dnswash_" + snake(counter_name(i)) + "_total";
    w.single(name, "counter", ("Datapath counter '" + std::string(counter_name(i)) + "'.").c_str(),
             double(counters[i]));
  }
  double bans = 0;
  if (status.contains("detector") && status["detector"].is_object() &&
      status["detector"].contains("bans"))
    bans = num(status["detector"], "bans");
  else if (status.contains("ban_map"))
    bans = num(status["ban_map"], "entries");
  w.single("dnswash_bans", "gauge", "Entries in the ban map (addresses and prefixes).", bans);
  w.single("dnswash_zones", "gauge", "Zones in the kernel's zone set.", num(status, "zones"));
  const json sync = status.value("sync", json::object());
  w.single("dnswash_sync_errors_total", "counter",
           "Zone syncs that failed (named.conf unreadable or invalid).", num(sync, "failed"));
  w.single("dnswash_sync_failing", "gauge",
           "1 while the last zone sync failed (the kernel holds an older zone set).",
           flag(sync, "failing") ? 1 : 0);
  w.single("dnswash_dry_run", "gauge", "1 while dry-run is on (drop verdicts pass).",
           flag(status, "dry_run") ? 1 : 0);
  w.single("dnswash_attached", "gauge", "1 while the filter is attached to its interface.",
           flag(status, "attached") ? 1 : 0);
  if (status.contains("sampler"))
    w.single("dnswash_samples_total", "counter",
             "Dropped-query samples read from the datapath (dnswashctl top).",
             num(status["sampler"], "events"));
  if (status.contains("detector") && status["detector"].is_object()) {
    const json &d = status["detector"];
    if (d.contains("caps_hit") && d["caps_hit"].is_object()) {
      w.family("dnswash_detector_caps_hit_total", "counter",
               "Detector bans not made because a cap was hit.");
      for (const auto &[cap, v] : d["caps_hit"].items())
        if (v.is_number())
          w.sample("dnswash_detector_caps_hit_total", v.get<double>(),
                   "cap=\"" + label_value(cap) + "\"");
    }
  }
  if (status.contains("ban_store") && status["ban_store"].is_object()) {
    const json &b = status["ban_store"];
    w.single("dnswash_ban_store_ok", "gauge",
             "1 while every ban change is saved; 0 while the store fails (bans stay in force).",
             flag(b, "ok") ? 1 : 0);
    w.single("dnswash_ban_store_unsaved", "gauge",
             "Ban changes in force but not saved yet (queued, or failed and waiting for a retry).",
             num(b, "unsaved"));
    w.single("dnswash_ban_store_failures_total", "counter",
             "Ban store writes that failed (a full or read-only state filesystem).",
             num(b, "failures"));
  }
  if (status.contains("control") && status["control"].is_object()) {
    const json &c = status["control"];
    w.single("dnswash_control_clients", "gauge", "Connections open on the control socket.",
             num(c, "clients"));
    w.family("dnswash_control_closed_total", "counter",
             "Control connections the daemon closed, by why (limits and deadlines).");
    for (const char *why : {"evicted", "refused", "timed_out", "oversized"})
      w.sample("dnswash_control_closed_total", num(c, why), std::string("why=\"") + why + "\"");
  }
  if (status.contains("metrics_http") && status["metrics_http"].is_object()) {
    const json &m = status["metrics_http"];
    w.single("dnswash_metrics_clients", "gauge", "Connections open on the metrics endpoint.",
             num(m, "clients"));
    w.family("dnswash_metrics_closed_total", "counter",
             "Metrics connections the daemon closed before an answer, by why.");
    for (const char *why : {"evicted", "timed_out", "oversized"})
      w.sample("dnswash_metrics_closed_total", num(m, why), std::string("why=\"") + why + "\"");
  }
  if (status.contains("fleet") && status["fleet"].is_object() && flag(status["fleet"], "enabled")) {
    // The fleet (docs/fleet.md): fixed labels only (reason, stream), no per-peer series.
    const json &f = status["fleet"];
    w.single("dnswash_fleet_connected", "gauge", "1 while connected to a NATS server.",
             flag(f, "connected") ? 1 : 0);
    w.single("dnswash_fleet_applied_total", "counter", "Fleet messages from other nodes applied.",
             num(f, "applied"));
    w.family("dnswash_fleet_rejected_total", "counter",
             "Fleet messages dropped by the checks, by reason.");
    if (f.contains("rejected") && f["rejected"].is_object())
      for (const auto &[why, v] : f["rejected"].items())
        if (why != "total" && v.is_number())
          w.sample("dnswash_fleet_rejected_total", v.get<double>(),
                   "reason=\"" + label_value(why) + "\"");
    w.single("dnswash_fleet_never_ban_refused_total", "counter",
             "Remote bans not applied because the local never-ban list covers them.",
             num(f, "never_ban_refused"));
    w.single("dnswash_fleet_bans", "gauge", "Bans in force because of other nodes' reports.",
             num(f, "fleet_bans"));
    w.single("dnswash_fleet_pending_quorum", "gauge",
             "Prefixes other nodes ban that are short of --fleet-quorum.",
             num(f, "pending_quorum"));
    w.single("dnswash_fleet_shields", "gauge", "Zones the fleet has shielded (other nodes' words).",
             f.contains("shields_on") && f["shields_on"].is_array() ? double(f["shields_on"].size())
                                                                    : 0);
    w.single("dnswash_fleet_shields_ignored_total", "counter",
             "The fleet's shield words on zones this node does not serve (or has no shield).",
             num(f, "shields_ignored"));
    w.single("dnswash_fleet_peers", "gauge", "Other nodes heard from.",
             f.contains("peers") && f["peers"].is_object() ? double(f["peers"].size()) : 0);
    const json q = f.value("queue", json::object());
    w.single("dnswash_fleet_published_total", "counter", "Messages this node published.",
             num(q, "published"));
    w.single("dnswash_fleet_queued", "gauge", "Messages waiting for NATS.", num(q, "queued"));
    w.single("dnswash_fleet_queue_dropped_total", "counter",
             "Messages dropped because the outgoing queue was full.", num(q, "dropped"));
    if (f.contains("streams") && f["streams"].is_array()) {
      w.family("dnswash_fleet_stream_last_seq", "gauge", "A fleet stream's last sequence.");
      for (const json &st : f["streams"])
        w.sample("dnswash_fleet_stream_last_seq", num(st, "last_seq"),
                 "stream=\"" + label_value(st.value("name", std::string())) + "\"");
      w.family("dnswash_fleet_stream_lag", "gauge",
               "Messages this node's durable consumer has yet to deliver.");
      for (const json &st : f["streams"])
        w.sample("dnswash_fleet_stream_lag", num(st, "lag"),
                 "stream=\"" + label_value(st.value("name", std::string())) + "\"");
    }
  }
  // Zone shield (docs/detector.md): per zone, from the `shield` status section.
  if (status.contains("shield") && status["shield"].is_object() &&
      status["shield"].contains("zones") && status["shield"]["zones"].is_array() &&
      !status["shield"]["zones"].empty()) {
    const json &zones = status["shield"]["zones"];
    struct Fam {
      const char *name, *type, *key, *help;
    };
    const Fam fams[] = {
        {"dnswash_shield_shielded", "gauge", "shielded", "1 while the zone is shielded."},
        {"dnswash_shield_since_seconds", "gauge", "since_unix_ms",
         "Unix time the zone's shield last changed state (0: never)."},
        {"dnswash_shield_names", "gauge", "names", "Names of the zone in the kernel's name set."},
        {"dnswash_shield_drops_total", "counter", "drops",
         "Queries for missing names the shield answered or dropped in XDP."},
    };
    for (const Fam &f : fams) {
      w.family(f.name, f.type, f.help);
      for (const auto &z : zones) {
        double v = 0;
        if (z.contains(f.key) && z[f.key].is_boolean()) v = z[f.key].get<bool>() ? 1 : 0;
        if (z.contains(f.key) && z[f.key].is_number()) v = z[f.key].get<double>();
        if (std::string(f.key) == "since_unix_ms") v /= 1000;
        w.sample(f.name, v, "zone=\"" + label_value(z.value("zone", std::string())) + "\"");
      }
    }
  }
  w.family("dnswash_info", "gauge", "The filter's mode and version (value always 1).");
  w.sample("dnswash_info", 1,
           "mode=\"" + label_value(status.value("mode", std::string())) + "\",version=\"" +
               label_value(status.value("version", std::string())) + "\"");
  return w.out.str();
}

}  // namespace dnswash::daemon
