// The NATS side of the fleet, on threads of its own so that neither the datapath nor the
// daemon's loop (control socket included) ever waits for NATS:
//   - a publisher thread connects (retrying for ever), makes sure both streams exist, then
//     sends the bounded outgoing queue in order with JetStream publish acks, keeping a message
//     at the head until the server has stored it (a Nats-Msg-Id makes a resend after a lost
//     ack a duplicate the server drops);
//   - one fetcher thread per stream pulls from this node's durable consumer and hands each
//     message to the daemon's loop (take(), woken through `wake`); the loop acks what it has
//     applied (ack()), so a message is acked only once its ban is in the map.
// Every call the loop makes here is a short mutex hold, never a network round trip.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "credentials.h"

struct __natsConnection;
struct __natsMsg;
struct __jsCtx;
struct __natsSubscription;

namespace dnswash::fleet {

struct LinkOptions {
  std::vector<std::string> servers;  // nats://host:port
  std::string node;
  Credentials creds;
  int64_t bans_max_age_ms = 0;  // DNSWASH_BANS MaxAge if this node creates it
  size_t queue_max = 10000;     // outgoing messages held while NATS is away
  int replicas = 1;             // the streams' Replicas if this node creates them (a cluster: 3)
};

struct Inbound {
  std::string subject;
  std::string data;
  int stream = 0;  // 0 DNSWASH_BANS, 1 DNSWASH_KEEP
  uint64_t stream_seq = 0;
  __natsMsg *msg = nullptr;  // to ack once applied
};

struct StreamStatus {
  std::string name;
  bool subscribed = false;
  bool caught_up = false;      // delivered everything pending when the consumer (re)started
  uint64_t last_seq = 0;       // stream's last sequence (polled)
  uint64_t delivered_seq = 0;  // stream sequence of the last message handed over
  uint64_t pending = 0;        // messages the durable consumer has not delivered yet (lag)
};

struct LinkStatus {
  bool connected = false;
  std::string server;
  uint64_t reconnects = 0;
  size_t queued = 0;
  uint64_t published = 0;
  uint64_t queue_drops = 0;
  uint64_t publish_retries = 0;
  std::string last_error;
  StreamStatus streams[2];
};

class NatsLink {
 public:
  NatsLink(LinkOptions opt, std::function<void()> wake);
  ~NatsLink();
  NatsLink(const NatsLink &) = delete;
  NatsLink &operator=(const NatsLink &) = delete;

  // Queues one message; false (and counted) if the queue is full.
  bool publish(std::string subject, std::string data, std::string msg_id);
  std::vector<Inbound> take();
  void ack(std::vector<Inbound> &&done);
  LinkStatus status() const;
  bool caught_up() const;

 private:
  struct Out {
    std::string subject, data, id;
  };
  void publisher();
  void fetcher(int stream);
  bool setup();
  void poll_info();
  void fail(const std::string &what, int status);

  LinkOptions opt_;
  std::function<void()> wake_;
  std::atomic<bool> stop_{false};
  __natsConnection *nc_ = nullptr;
  __jsCtx *js_ = nullptr;
  std::atomic<__natsSubscription *> subs_[2] = {nullptr, nullptr};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Out> out_;
  std::vector<Inbound> in_;
  std::vector<__natsMsg *> acks_[2];
  LinkStatus st_;
  std::atomic<uint64_t> reconnects_{0};
  std::thread pub_thread_;
  std::thread fetch_threads_[2];
};

}  // namespace dnswash::fleet
