// lab_ctl: sends one control request to the dnswashd of this network namespace (through
// loader/control_client, the code dnswashctl uses) and prints the reply, or one field of it.
//   lab_ctl [--iface IF] [--field a.b] '{"cmd":"status"}'     exit 1 if the reply is not ok
//   lab_ctl --list                                            running filters, one per line
#include <cstdio>
#include <string>

#include "control_client.h"
#include "error.h"

int main(int argc, char **argv) {
  std::string iface, field, request;
  bool list = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--iface" && i + 1 < argc) iface = argv[++i];
    else if (a == "--field" && i + 1 < argc) field = argv[++i];
    else if (a == "--list") list = true;
    else request = a;
  }
  try {
    if (list) {
      for (const auto &f : dnswash::list_filters()) printf("%s\n", f.c_str());
      return 0;
    }
    auto reply = dnswash::control_request(dnswash::resolve_filter(iface),
                                          nlohmann::json::parse(request));
    if (field.empty()) {
      printf("%s\n", reply.dump().c_str());
    } else {
      nlohmann::json::json_pointer ptr("/" + [&] {
        std::string p = field;
        for (auto &c : p)
          if (c == '.') c = '/';
        return p;
      }());
      const auto &v = reply.at(ptr);
      printf("%s\n", v.is_string() ? v.get<std::string>().c_str() : v.dump().c_str());
    }
    return reply.value("ok", false) ? 0 : 1;
  } catch (const std::exception &e) {
    fprintf(stderr, "lab_ctl: %s\n", e.what());
    return 1;
  }
}
