// fleet_pub URL SUBJECT (DATA | --size N): publishes one raw message to JetStream, as a
// forger would (tests/fleet/fleet_lab.sh). --size N sends N bytes of 'x'. Exit 0 once the
// server has stored it.
#include <nats/nats.h>

#include <cstdio>
#include <string>

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: fleet_pub URL SUBJECT (DATA | --size N)\n");
    return 2;
  }
  std::string data = argv[3];
  if (data == "--size" && argc == 5) data.assign(std::stoul(argv[4]), 'x');
  natsConnection *nc = nullptr;
  jsCtx *js = nullptr;
  natsStatus s = natsConnection_ConnectTo(&nc, argv[1]);
  if (s == NATS_OK) s = natsConnection_JetStream(&js, nc, nullptr);
  if (s == NATS_OK)
    s = js_Publish(nullptr, js, argv[2], data.data(), int(data.size()), nullptr, nullptr);
  if (s != NATS_OK) fprintf(stderr, "fleet_pub: %s\n", natsStatus_GetText(s));
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  return s == NATS_OK ? 0 : 1;
}
