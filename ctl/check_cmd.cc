#include "check_cmd.h"

#include <arpa/inet.h>

#include <iostream>
#include <memory>

#include "client.h"
#include "dns_name.h"
#include "dns_types.h"
#include "output.h"

namespace dnswash::ctl::check {

namespace {

using nlohmann::json;

struct Args {
  std::string name;
  std::string src = "0.0.0.0";
  std::string type = "A";
  bool json = false;
};

void run_check(const Args &a) {
  json r = request({{"cmd", "check"}, {"name", a.name}, {"src", a.src}, {"qtype", a.type}});
  r.erase("ok");
  if (a.json) {
    print_json(r);
    return;
  }
  std::cout << r.value("name", "") << " " << r.value("qtype", "") << " from " << r.value("src", "")
            << ": " << r.value("verdict", "") << " (" << r.value("reason", "");
  if (r["zone"].is_string()) std::cout << ", zone " << r["zone"].get<std::string>();
  std::cout << ")";
  if (r.value("verdict", "") == "drop" && r.value("action", "") == "pass")
    std::cout << "; dry-run is on, so the query would pass";
  std::cout << "\n";
}

}  // namespace

void registerCommand(CLI::App &app) {
  auto args = std::make_shared<Args>();
  auto *cmd = app.add_subcommand(
      "check",
      "The verdict the running filter would give a query for NAME (nothing is sent or counted)");
  cmd->add_option("name", args->name, "Query name (presentation form, \\DDD escapes allowed)")
      ->required()
      ->check(CLI::Validator(
          [](std::string &s) -> std::string {
            std::string err;
            return parse_dns_name(s, &err) ? std::string() : "bad name: " + err;
          },
          "NAME"));
  cmd->add_option("--src", args->src, "Source address of the query (IPv4 or IPv6)")
      ->check(CLI::Validator(
          [](std::string &s) -> std::string {
            unsigned char b[16];
            return inet_pton(AF_INET, s.c_str(), b) == 1 || inet_pton(AF_INET6, s.c_str(), b) == 1
                       ? std::string()
                       : "'" + s + "' is not an IPv4 or IPv6 address";
          },
          "IP"))
      ->capture_default_str();
  cmd->add_option("--type", args->type, "Query type: A, AAAA, MX, TYPE65, 28, ...")
      ->check(CLI::Validator(
          [](std::string &s) -> std::string {
            return parse_qtype(s) ? std::string() : "'" + s + "' is not a query type";
          },
          "TYPE"))
      ->capture_default_str();
  add_json_flag(*cmd, args->json);
  cmd->callback([args] { run([&] { run_check(*args); }); });
}

}  // namespace dnswash::ctl::check
