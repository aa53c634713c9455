#include "nats_link.h"

#include <nats/nats.h>

#include <chrono>

#include <spdlog/spdlog.h>

#include "subjects.h"

namespace dnswash::fleet {

namespace {

constexpr int64_t kApiWaitMs = 2000;   // JetStream API calls and publish acks
constexpr int64_t kFetchWaitMs = 500;  // one pull request's life
constexpr int kFetchBatch = 256;
constexpr int64_t kNs = 1000000;                  // ns per ms
constexpr int32_t kStreamMaxMsgSize = 64 * 1024;  // larger than kMaxMessageBytes on purpose:
                                                  // an oversized message is seen and counted

const char *stream_name(int s) {
  return s == 0 ? kBansStream : kKeepStream;
}
const char *stream_filter(int s) {
  return s == 0 ? kBansSubjects : kKeepSubjects;
}

std::string status_text(natsStatus s, jsErrCode jerr) {
  std::string t = natsStatus_GetText(s);
  if (jerr) t += " (JetStream error " + std::to_string(int(jerr)) + ")";
  const char *last = nats_GetLastError(nullptr);
  if (last && *last) t += ": " + std::string(last);
  return t;
}

}  // namespace

NatsLink::NatsLink(LinkOptions opt, std::function<void()> wake)
    : opt_(std::move(opt)), wake_(std::move(wake)) {
  st_.streams[0].name = kBansStream;
  st_.streams[1].name = kKeepStream;
  natsOptions *o = nullptr;
  natsStatus s = natsOptions_Create(&o);
  std::vector<const char *> servers;
  for (const auto &u : opt_.servers) servers.push_back(u.c_str());
  if (s == NATS_OK) s = natsOptions_SetServers(o, servers.data(), int(servers.size()));
  if (s == NATS_OK) s = natsOptions_SetName(o, ("dnswashd " + opt_.node).c_str());
  // Reconnect for ever, quickly: a node must rejoin within a second or two of the server.
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(o, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(o, 200);
  if (s == NATS_OK) s = natsOptions_SetReconnectJitter(o, 50, 50);
  if (s == NATS_OK) s = natsOptions_SetTimeout(o, 1000);
  if (s == NATS_OK) s = natsOptions_SetPingInterval(o, 2000);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(o, 2);
  if (s == NATS_OK)
    s = natsOptions_SetReconnectedCB(
        o, [](natsConnection *, void *c) { ++static_cast<NatsLink *>(c)->reconnects_; }, this);
  const Credentials &c = opt_.creds;
  if (s == NATS_OK && !c.user.empty())
    s = natsOptions_SetUserInfo(o, c.user.c_str(), c.password.c_str());
  if (s == NATS_OK && !c.token.empty()) s = natsOptions_SetToken(o, c.token.c_str());
  if (s == NATS_OK && !c.nkey.empty())
    s = natsOptions_SetNKeyFromSeed(o, c.nkey.c_str(), c.nkey_seed.c_str());
  if (s == NATS_OK && !c.creds.empty())
    s = natsOptions_SetUserCredentialsFromFiles(o, c.creds.c_str(), nullptr);
  if (s == NATS_OK && !c.tls_ca.empty()) {
    s = natsOptions_SetSecure(o, true);
    if (s == NATS_OK) s = natsOptions_LoadCATrustedCertificates(o, c.tls_ca.c_str());
  }
  // The first connect may fail too (the server is down when the node starts): the library
  // keeps trying in the background and we carry on.
  if (s == NATS_OK)
    s = natsOptions_SetRetryOnFailedConnect(
        o, true, [](natsConnection *, void *) {}, nullptr);
  if (s == NATS_OK) {
    s = natsConnection_Connect(&nc_, o);
    if (s == NATS_NOT_YET_CONNECTED) s = NATS_OK;
  }
  natsOptions_Destroy(o);
  if (s != NATS_OK) {
    std::string why = status_text(s, jsErrCode(0));
    if (nc_) natsConnection_Destroy(nc_);
    throw std::runtime_error("fleet: NATS client setup: " + why);
  }
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = kApiWaitMs;
  if (natsConnection_JetStream(&js_, nc_, &jo) != NATS_OK) {
    natsConnection_Destroy(nc_);
    throw std::runtime_error("fleet: JetStream context");
  }
  pub_thread_ = std::thread([this] { publisher(); });
  for (int i = 0; i < 2; ++i) fetch_threads_[i] = std::thread([this, i] { fetcher(i); });
}

NatsLink::~NatsLink() {
  stop_ = true;
  cv_.notify_all();
  pub_thread_.join();
  for (auto &t : fetch_threads_) t.join();
  std::lock_guard lk(mu_);
  for (auto &a : acks_)
    for (natsMsg *m : a) natsMsg_Destroy(m);
  for (auto &i : in_) natsMsg_Destroy(i.msg);
  for (auto &s : subs_)
    if (s) natsSubscription_Destroy(s);
  jsCtx_Destroy(js_);
  natsConnection_Destroy(nc_);
}

bool NatsLink::publish(std::string subject, std::string data, std::string msg_id) {
  std::lock_guard lk(mu_);
  if (out_.size() >= opt_.queue_max) {
    ++st_.queue_drops;
    return false;
  }
  out_.push_back({std::move(subject), std::move(data), std::move(msg_id)});
  cv_.notify_all();
  return true;
}

std::vector<Inbound> NatsLink::take() {
  std::lock_guard lk(mu_);
  return std::exchange(in_, {});
}

void NatsLink::ack(std::vector<Inbound> &&done) {
  std::lock_guard lk(mu_);
  for (auto &i : done) {
    acks_[i.stream].push_back(i.msg);
    i.msg = nullptr;
  }
}

LinkStatus NatsLink::status() const {
  std::lock_guard lk(mu_);
  LinkStatus s = st_;
  s.connected = natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED;
  char url[256] = "";
  if (s.connected && natsConnection_GetConnectedUrl(nc_, url, sizeof url) == NATS_OK)
    s.server = url;
  s.reconnects = reconnects_;
  s.queued = out_.size();
  return s;
}

bool NatsLink::caught_up() const {
  std::lock_guard lk(mu_);
  return st_.streams[0].caught_up && st_.streams[1].caught_up && in_.empty();
}

void NatsLink::fail(const std::string &what, int status) {
  std::string t = what + ": " + status_text(natsStatus(status), jsErrCode(0));
  std::lock_guard lk(mu_);
  if (t != st_.last_error) spdlog::warn("fleet: {}", t);
  st_.last_error = t;
}

bool NatsLink::setup() {
  for (int i = 0; i < 2; ++i) {
    if (subs_[i]) continue;
    jsErrCode jerr = jsErrCode(0);
    jsStreamInfo *si = nullptr;
    natsStatus s = js_GetStreamInfo(&si, js_, stream_name(i), nullptr, &jerr);
    if (s == NATS_NOT_FOUND) {
      // No operator-made stream: make it as docs/fleet.md describes.
      jsStreamConfig sc;
      jsStreamConfig_Init(&sc);
      const char *subjects[] = {stream_filter(i)};
      sc.Name = stream_name(i);
      sc.Subjects = subjects;
      sc.SubjectsLen = 1;
      sc.Storage = js_FileStorage;
      sc.MaxMsgsPerSubject = 1;
      sc.MaxMsgSize = kStreamMaxMsgSize;
      sc.Replicas = int64_t(opt_.replicas);
      if (i == 0) sc.MaxAge = opt_.bans_max_age_ms * kNs;
      jerr = jsErrCode(0);
      s = js_AddStream(&si, js_, &sc, nullptr, &jerr);
      if (s == NATS_OK)
        spdlog::info("fleet: created stream {} ({} replica(s))", stream_name(i), opt_.replicas);
    } else if (s == NATS_OK && i == 0 && si->Config->MaxAge != 0 &&
               si->Config->MaxAge < opt_.bans_max_age_ms * kNs) {
      spdlog::warn(
          "fleet: stream {} keeps messages {} s, shorter than this node's longest timed ban "
          "({} s): a node that joins late may miss such a ban",
          kBansStream, si->Config->MaxAge / 1000000000, opt_.bans_max_age_ms / 1000);
    }
    if (si) jsStreamInfo_Destroy(si);
    if (s != NATS_OK) {
      fail(std::string("stream ") + stream_name(i), s);
      return false;
    }
    std::string durable = "dnswash-" + opt_.node + (i == 0 ? "-bans" : "-keep");
    // Once per start, the consumer begins again from the stream's first message: each stream
    // holds one message per (node, prefix), the fleet's current state, so this node rebuilds
    // all of it (a restart forgets the ledger; a ban lifted meanwhile is seen lifted). While
    // the daemon runs, the durable consumer carries it across reconnects and server restarts.
    jerr = jsErrCode(0);
    natsStatus del = js_DeleteConsumer(js_, stream_name(i), durable.c_str(), nullptr, &jerr);
    if (del != NATS_OK && del != NATS_NOT_FOUND) {
      fail("resetting durable consumer " + durable, del);
      return false;
    }
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream_name(i);
    so.Config.Durable = durable.c_str();
    so.Config.AckPolicy = js_AckExplicit;
    so.Config.DeliverPolicy = js_DeliverAll;
    so.Config.AckWait = 10000 * kNs;
    so.Config.MaxAckPending = 20000;
    natsSubscription *sub = nullptr;
    jerr = jsErrCode(0);
    s = js_PullSubscribe(&sub, js_, stream_filter(i), durable.c_str(), nullptr, &so, &jerr);
    if (s != NATS_OK) {
      fail("durable consumer " + durable, s);
      return false;
    }
    // What the consumer has still to deliver: nothing means caught up at once.
    jsConsumerInfo *ci = nullptr;
    bool idle = false;
    if (js_GetConsumerInfo(&ci, js_, stream_name(i), durable.c_str(), nullptr, &jerr) == NATS_OK) {
      idle = ci->NumPending == 0 && ci->NumAckPending == 0;
      jsConsumerInfo_Destroy(ci);
    }
    {
      std::lock_guard lk(mu_);
      st_.streams[i].subscribed = true;
      if (idle) st_.streams[i].caught_up = true;
    }
    subs_[i] = sub;
    spdlog::info("fleet: durable consumer {} on {}{}", durable, stream_name(i),
                 idle ? " (nothing to replay)" : "");
  }
  wake_();  // the loop may be waiting for caught_up()
  return true;
}

void NatsLink::poll_info() {
  for (int i = 0; i < 2; ++i) {
    jsErrCode jerr = jsErrCode(0);
    jsStreamInfo *si = nullptr;
    uint64_t last = 0, pending = 0;
    bool have_pending = false;
    if (js_GetStreamInfo(&si, js_, stream_name(i), nullptr, &jerr) == NATS_OK) {
      last = si->State.LastSeq;
      jsStreamInfo_Destroy(si);
    }
    std::string durable = "dnswash-" + opt_.node + (i == 0 ? "-bans" : "-keep");
    jsConsumerInfo *ci = nullptr;
    if (subs_[i] &&
        js_GetConsumerInfo(&ci, js_, stream_name(i), durable.c_str(), nullptr, &jerr) == NATS_OK) {
      pending = ci->NumPending;
      have_pending = true;
      jsConsumerInfo_Destroy(ci);
    }
    std::lock_guard lk(mu_);
    if (last) st_.streams[i].last_seq = last;
    if (have_pending) st_.streams[i].pending = pending;
  }
}

void NatsLink::publisher() {
  auto next_info = std::chrono::steady_clock::now();
  bool ready = false;
  while (!stop_) {
    if (natsConnection_Status(nc_) != NATS_CONN_STATUS_CONNECTED) {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(100), [this] { return stop_.load(); });
      continue;
    }
    if (!ready) {
      ready = setup();
      if (!ready) {
        std::unique_lock lk(mu_);
        cv_.wait_for(lk, std::chrono::milliseconds(500), [this] { return stop_.load(); });
        continue;
      }
    }
    if (std::chrono::steady_clock::now() >= next_info) {
      poll_info();
      next_info = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    }
    Out o;
    {
      std::unique_lock lk(mu_);
      if (out_.empty()) {
        cv_.wait_for(lk, std::chrono::milliseconds(500),
                     [this] { return stop_.load() || !out_.empty(); });
        continue;
      }
      o = out_.front();  // stays queued until stored
    }
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = o.id.c_str();
    po.MaxWait = kApiWaitMs;
    jsPubAck *pa = nullptr;
    jsErrCode jerr = jsErrCode(0);
    natsStatus s =
        js_Publish(&pa, js_, o.subject.c_str(), o.data.data(), int(o.data.size()), &po, &jerr);
    if (pa) jsPubAck_Destroy(pa);
    if (s == NATS_OK) {
      std::lock_guard lk(mu_);
      if (!out_.empty() && out_.front().id == o.id) out_.pop_front();
      ++st_.published;
      continue;
    }
    fail("publishing " + o.subject, s);
    std::unique_lock lk(mu_);
    ++st_.publish_retries;
    cv_.wait_for(lk, std::chrono::milliseconds(100), [this] { return stop_.load(); });
  }
}

void NatsLink::fetcher(int i) {
  while (!stop_) {
    natsSubscription *sub = subs_[i];
    if (!sub) {
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(100), [this] { return stop_.load(); });
      continue;
    }
    std::vector<natsMsg *> acks;
    {
      std::lock_guard lk(mu_);
      acks.swap(acks_[i]);
    }
    for (natsMsg *m : acks) {
      // A lost ack means a redelivery, which the ledger's seqs make harmless.
      natsMsg_Ack(m, nullptr);
      natsMsg_Destroy(m);
    }
    natsMsgList list{};
    jsErrCode jerr = jsErrCode(0);
    natsStatus s = natsSubscription_Fetch(&list, sub, kFetchBatch, kFetchWaitMs, &jerr);
    if (s == NATS_TIMEOUT && list.Count == 0) {
      std::lock_guard lk(mu_);
      bool was = st_.streams[i].caught_up;
      // Connected, and nothing to deliver for a whole pull: caught up (the consumer info
      // at setup usually said so earlier).
      if (natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED) {
        st_.streams[i].caught_up = true;
        st_.streams[i].pending = 0;
      }
      if (!was && st_.streams[i].caught_up) wake_();
      continue;
    }
    if (s != NATS_OK && list.Count == 0) {
      if (natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED)
        fail(std::string("fetching from ") + stream_name(i), s);
      std::unique_lock lk(mu_);
      cv_.wait_for(lk, std::chrono::milliseconds(100), [this] { return stop_.load(); });
      continue;
    }
    std::vector<Inbound> got;
    uint64_t pending = 0, seq = 0;
    for (int k = 0; k < list.Count; ++k) {
      natsMsg *m = list.Msgs[k];
      list.Msgs[k] = nullptr;  // ours now
      Inbound in;
      in.subject = natsMsg_GetSubject(m);
      in.data.assign(natsMsg_GetData(m), size_t(natsMsg_GetDataLength(m)));
      in.stream = i;
      jsMsgMetaData *md = nullptr;
      if (natsMsg_GetMetaData(&md, m) == NATS_OK) {
        in.stream_seq = md->Sequence.Stream;
        seq = md->Sequence.Stream;
        pending = md->NumPending;
        jsMsgMetaData_Destroy(md);
      }
      in.msg = m;
      got.push_back(std::move(in));
    }
    natsMsgList_Destroy(&list);
    {
      std::lock_guard lk(mu_);
      for (auto &g : got) in_.push_back(std::move(g));
      st_.streams[i].delivered_seq = seq;
      st_.streams[i].pending = pending;
      if (pending == 0) st_.streams[i].caught_up = true;
    }
    wake_();
  }
}

}  // namespace dnswash::fleet
