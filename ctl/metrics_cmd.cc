#include "metrics_cmd.h"

#include <iostream>
#include <memory>
#include <sstream>

#include "client.h"
#include "output.h"

namespace dnswash::ctl::metrics {

namespace {

using nlohmann::json;

// Samples of the exposition as JSON: [{"name","labels":{..},"value"}]. The text is ours
// (metrics_text.cc): label values never hold '"' unescaped, ',' or '}' inside quotes is
// handled by the quote tracking.
json samples(const std::string &text) {
  json out = json::array();
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t brace = line.find('{'), space;
    json labels = json::object();
    std::string name;
    if (brace != std::string::npos && brace < line.find(' ')) {
      name = line.substr(0, brace);
      size_t i = brace + 1;
      while (i < line.size() && line[i] != '}') {
        size_t eq = line.find('=', i);
        std::string key = line.substr(i, eq - i), val;
        i = eq + 2;  // past ="
        while (i < line.size() && line[i] != '"') {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            val += line[i] == 'n' ? '\n' : line[i];
          } else {
            val += line[i];
          }
          ++i;
        }
        labels[key] = val;
        i += 1;  // closing quote
        if (i < line.size() && line[i] == ',') ++i;
      }
      space = line.find(' ', i);
    } else {
      space = line.find(' ');
      name = line.substr(0, space);
    }
    out.push_back(
        {{"name", name}, {"labels", labels}, {"value", std::stod(line.substr(space + 1))}});
  }
  return out;
}

}  // namespace

void registerCommand(CLI::App &app) {
  struct Args {
    bool json = false;
  };
  auto args = std::make_shared<Args>();
  auto *cmd = app.add_subcommand(
      "metrics", "Prometheus text exposition (what dnswashd --metrics-listen serves)");
  add_json_flag(*cmd, args->json);
  cmd->callback([args] {
    run([&] {
      json r = request({{"cmd", "metrics"}});
      const std::string text = r.value("text", "");
      if (args->json)
        print_json({{"iface", r["iface"]}, {"metrics", samples(text)}});
      else
        std::cout << text;
    });
  });
}

}  // namespace dnswash::ctl::metrics
