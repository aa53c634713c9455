#include "fleet_cmd.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <sstream>

#include "client.h"
#include "output.h"

namespace dnswash::ctl::fleet {

namespace {

using nlohmann::json;

uint64_t u(const json &j, const char *k) {
  return j.is_object() ? j.value(k, uint64_t(0)) : 0;
}

std::string ago(int64_t then_ms, int64_t now_ms) {
  if (then_ms <= 0) return "-";
  return fmt_duration(std::max<int64_t>(0, (now_ms - then_ms) / 1000)) + " ago";
}

void print_human(const json &f) {
  if (!f.value("enabled", false)) {
    std::cout << "fleet: off (dnswashd runs without --fleet)\n";
    return;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  Table head({{"", Table::Align::kLeft}, {"", Table::Align::kLeft}});
  head.add_row({"node", f.value("node", "") + " (quorum " + std::to_string(u(f, "quorum")) + ")"});
  head.add_row({"NATS", f.value("connected", false)
                            ? "connected to " + f.value("server", "") + ", " +
                                  fmt_count(u(f, "reconnects")) + " reconnect(s)"
                            : "NOT connected" + (f.value("last_error", "").empty()
                                                     ? std::string()
                                                     : ": " + f.value("last_error", ""))});
  head.add_row({"replayed at start", f.value("replayed", false) ? "yes" : "no"});
  head.add_row({"applied", fmt_count(u(f, "applied")) + " message(s), " +
                               fmt_count(u(f, "fleet_bans")) + " fleet ban(s) in force"});
  const json rej = f.value("rejected", json::object());
  std::string why;
  for (const auto &[k, v] : rej.items())
    if (k != "total" && v.is_number() && v.get<uint64_t>() > 0)
      why += (why.empty() ? "" : ", ") + k + " " + fmt_count(v.get<uint64_t>());
  head.add_row({"rejected", fmt_count(u(rej, "total")) + (why.empty() ? "" : " (" + why + ")")});
  head.add_row({"never-ban refused", fmt_count(u(f, "never_ban_refused"))});
  head.add_row({"short of quorum", fmt_count(u(f, "pending_quorum")) + " prefix(es)"});
  const json q = f.value("queue", json::object());
  head.add_row({"outgoing", fmt_count(u(q, "published")) + " published, " +
                                fmt_count(u(q, "queued")) + " queued (max " +
                                fmt_count(u(q, "max")) + "), " + fmt_count(u(q, "dropped")) +
                                " dropped"});
  std::ostringstream block;
  head.print(block);
  std::string text = block.str();
  std::cout << text.substr(text.find('\n') + 1) << "\n";

  Table streams({{"stream", Table::Align::kLeft},
                 {"last seq", Table::Align::kRight},
                 {"delivered", Table::Align::kRight},
                 {"lag", Table::Align::kRight},
                 {"caught up", Table::Align::kLeft}});
  const json stream_list = f.value("streams", json::array());
  for (const json &s : stream_list)
    streams.add_row({s.value("name", ""), fmt_count(u(s, "last_seq")),
                     fmt_count(u(s, "delivered_seq")), fmt_count(u(s, "lag")),
                     s.value("caught_up", false) ? "yes" : "no"});
  streams.print(std::cout);
  std::cout << "\n";
  Table peers({{"peer", Table::Align::kLeft},
               {"messages", Table::Align::kRight},
               {"last message", Table::Align::kLeft},
               {"delay", Table::Align::kRight}});
  const json peer_map = f.value("peers", json::object());
  for (const auto &[node, p] : peer_map.items())
    peers.add_row({node, fmt_count(u(p, "messages")),
                   ago(p.value("last_message_unix_ms", int64_t(0)), now),
                   std::to_string(p.value("last_delay_ms", int64_t(0))) + " ms"});
  peers.print(std::cout);
}

}  // namespace

void registerCommand(CLI::App &app) {
  struct Args {
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto *cmd = app.add_subcommand("fleet", "Bans shared with the other nodes through NATS");
  add_json_flag(*cmd, args->json);
  cmd->callback([args] {
    run([&] {
      json r = request({{"cmd", "fleet"}});
      const json f = r.value("fleet", json::object());
      if (args->json)
        print_json(f);
      else
        print_human(f);
    });
  });
}

}  // namespace dnswash::ctl::fleet
