// lab_ctl: sends one control request to the dnswashd of this network namespace (through
// control/control_client, the code dnswashctl uses) and prints the reply, or one field of it.
//   lab_ctl [--iface IF] [--field a.b] '{"cmd":"status"}'     exit 1 if the reply is not ok
//   lab_ctl --list                                            running filters, one per line
//   lab_ctl --notify-listen PATH    plays systemd: receives sd_notify datagrams on PATH and
//                                   prints them until one contains READY=1 (30 s at most)
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "control_client.h"
#include "error.h"

static int notify_listen(const std::string &path) {
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
    perror("lab_ctl: notify socket");
    return 1;
  }
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 30000) <= 0) {
      fprintf(stderr, "lab_ctl: no READY=1 within 30 s\n");
      return 1;
    }
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf - 1, 0);
    if (n < 0) return 1;
    std::string msg(buf, size_t(n));
    printf("%s\n", msg.c_str());
    fflush(stdout);
    if (msg.find("READY=1") != std::string::npos) return 0;
  }
}

int main(int argc, char **argv) {
  std::string iface, field, request;
  bool list = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--notify-listen" && i + 1 < argc) return notify_listen(argv[i + 1]);
    if (a == "--iface" && i + 1 < argc)
      iface = argv[++i];
    else if (a == "--field" && i + 1 < argc)
      field = argv[++i];
    else if (a == "--list")
      list = true;
    else
      request = a;
  }
  try {
    if (list) {
      for (const auto &f : dnswash::list_filters()) printf("%s\n", f.c_str());
      return 0;
    }
    auto reply =
        dnswash::control_request(dnswash::resolve_filter(iface), nlohmann::json::parse(request));
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
