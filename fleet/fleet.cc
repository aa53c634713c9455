#include "fleet.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <chrono>

#include <spdlog/spdlog.h>

#include "prefix_text.h"
#include "subjects.h"
#include "wall_clock.h"

namespace dnswash::fleet {

using nlohmann::json;

namespace {

int64_t now_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void drain(int fd) {
  uint64_t v;
  while (read(fd, &v, sizeof v) == sizeof v) {
  }
}

}  // namespace

Fleet::Fleet(FleetOptions opt, FleetTarget &target)
    : opt_(std::move(opt)), target_(target), ledger_(opt_.link.node, opt_.quorum) {
  if (!valid_node_id(opt_.link.node))
    throw std::runtime_error("fleet: node id '" + opt_.link.node +
                             "' must be 1-64 letters, digits, '-' or '_'");
  first_seq_ = uint64_t(now_us());
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw std::runtime_error("fleet: eventfd failed");
  if (!opt_.link.servers.empty()) {
    int fd = wake_fd_;
    link_ = std::make_unique<NatsLink>(opt_.link, [fd] {
      uint64_t one = 1;
      [[maybe_unused]] ssize_t n = write(fd, &one, sizeof one);
    });
  }
}

Fleet::~Fleet() {
  link_.reset();
  close(wake_fd_);
}

void Fleet::publish(Message m, bool keep, bool both) {
  // Strictly increasing per node, also across restarts (the clock moves on meanwhile).
  seq_ = std::max<uint64_t>(seq_ + 1, uint64_t(now_us()));
  m.seq = seq_;
  m.node = opt_.link.node;
  ++local_published_;
  if (!link_) return;
  std::string data = encode(m);
  std::string id = m.node + "-" + std::to_string(m.seq);
  if (m.kind == Kind::kShield) {
    link_->publish(shield_subject(m.node, m.zone), data, id);
    return;
  }
  if (both || !keep) link_->publish(ban_subject(m.node, m.key, false), data, id + "-b");
  if (both || keep) link_->publish(ban_subject(m.node, m.key, true), data, id + "-k");
}

void Fleet::on_local_ban(const LocalBan &b) {
  Message m;
  m.kind = Kind::kBan;
  m.at_ms = now_unix_ms();
  m.key = b.key;
  m.manual = b.manual;
  m.zone = b.zone;
  m.start_ms = std::min(b.start_ms, m.at_ms);
  m.expires_ms = b.expires_ms;
  m.offenses = b.offenses;
  // A ban outliving the timed stream's MaxAge would be aged out before it ends: keep it.
  bool keep = !b.expires_ms || *b.expires_ms - m.at_ms > opt_.link.bans_max_age_ms;
  publish(std::move(m), keep, false);
}

void Fleet::on_local_unban(const dw_ban_key &key, bool manual) {
  Message m;
  m.kind = Kind::kUnban;
  m.at_ms = now_unix_ms();
  m.key = key;
  m.manual = manual;
  if (manual) {
    // The operator lifted it here: the fleet's reports made before now no longer count on
    // this node either (else the periodic check would put the fleet's ban straight back).
    std::vector<BanChange> bans;
    ledger_.lift(key, m.at_ms, now_unix_ms(), &bans);
    apply(bans, {});
  }
  publish(std::move(m), false, true);  // the ban may be in either stream
}

void Fleet::on_shield(const std::string &zone, bool on) {
  local_shield_[zone] = on;
  Message m;
  m.kind = Kind::kShield;
  m.at_ms = now_unix_ms();
  m.zone = zone;
  m.shield_on = on;
  publish(std::move(m), true, false);
}

void Fleet::apply(const std::vector<BanChange> &bans, const std::vector<ShieldChange> &shields) {
  for (const BanChange &c : bans) {
    std::string p = ban_prefix_text(c.key);
    if (!c.now) {
      target_.remove_ban(c.key);
      ++bans_lifted_;
      spdlog::info("fleet: ban on {} lifted", p);
      continue;
    }
    if (target_.never_ban(c.key)) {
      ++never_ban_;
      spdlog::warn("fleet: {} is on the never-ban list: the fleet's ban is not applied", p);
      continue;
    }
    target_.apply_ban(c.key, *c.now);
    ++bans_applied_;
  }
  for (const ShieldChange &s : shields) {
    if (target_.apply_shield(s.zone, s.on))
      ++shields_applied_;
    else
      ++shields_ignored_;
  }
}

Reject Fleet::receive(const std::string &subject, const std::string &data, int64_t now_ms) {
  Message m;
  Reject r = decode(subject, data, now_ms, &m);
  if (r != Reject::kNone) {
    ++rejected_[r];
    spdlog::warn("fleet: dropped a message on {} ({}, {} bytes)", subject.substr(0, 200),
                 reject_name(r), data.size());
    return r;
  }
  if (m.node == opt_.link.node && m.kind == Kind::kShield && m.shield_on && m.seq < first_seq_ &&
      !local_shield_.count(m.zone)) {
    // This node's word from before it (re)started: its shield state did not survive the
    // restart (a new daemon starts unshielded), so the fleet must not go on holding the zone
    // for it. Published once; a redelivery then finds local_shield_ set.
    spdlog::info("fleet: shield {} was on here before this start: publishing off", m.zone);
    ++shields_corrected_;
    on_shield(m.zone, false);
  }
  std::vector<BanChange> bans;
  std::vector<ShieldChange> shields;
  switch (ledger_.add(m, now_ms, &bans, &shields)) {
    case Outcome::kOwn:
      ++own_;
      return r;
    case Outcome::kStale:
      ++stale_;
      break;
    case Outcome::kApplied:
      ++applied_;
      break;
  }
  Peer &peer = peers_[m.node];
  peer.last_rx_ms = now_ms;
  peer.last_at_ms = std::max(peer.last_at_ms, m.at_ms);
  peer.last_delay_ms = now_ms - m.at_ms;
  ++peer.messages;
  apply(bans, shields);
  return r;
}

void Fleet::poll() {
  drain(wake_fd_);
  if (!link_) return;
  auto in = link_->take();
  if (in.empty()) return;
  int64_t now = now_unix_ms();
  for (const Inbound &i : in) receive(i.subject, i.data, now);
  // Acked only once durable here: a crash before means a redelivery, not a loss. The target
  // calls back before the Fleet is destroyed (or never: then the server redelivers).
  auto batch = std::make_shared<std::vector<Inbound>>(std::move(in));
  NatsLink *link = link_.get();
  target_.when_durable([link, batch] { link->ack(std::move(*batch)); });
}

void Fleet::tick() {
  std::vector<BanChange> bans;
  ledger_.expire(now_unix_ms(), &bans);
  apply(bans, {});
  // A fleet ban the map lost (the operator flushed it, a shorter local ban on the prefix
  // ended): enforce it again.
  for (const auto &[k, d] : ledger_.decisions()) {
    dw_ban_key key;
    std::memcpy(&key, k.data(), sizeof key);
    if (target_.has_ban(key) || target_.never_ban(key)) continue;
    target_.apply_ban(key, d);
    ++reapplied_;
  }
}

bool Fleet::replay(std::chrono::milliseconds limit) {
  if (!link_) return true;
  auto end = std::chrono::steady_clock::now() + limit;
  while (true) {
    poll();
    if (link_->caught_up()) {
      replayed_ = true;
      // Fleet bans saved before a restart that the fleet no longer decides (lifted, expired,
      // short of this node's quorum) go.
      for (const dw_ban_key &k : target_.fleet_bans())
        if (!ledger_.decision(k)) {
          target_.remove_ban(k);
          ++bans_lifted_;
        }
      return true;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{wake_fd_, POLLIN, 0};
    ::poll(&p, 1, int(std::min<int64_t>(left.count(), 100)));
  }
}

json Fleet::status() const {
  int64_t now = now_unix_ms();
  json peers = json::object();
  for (const auto &[node, p] : peers_)
    peers[node] = {{"last_message_unix_ms", p.last_rx_ms},
                   {"last_change_unix_ms", p.last_at_ms},
                   {"last_delay_ms", p.last_delay_ms},
                   {"messages", p.messages}};
  json rejected = {{"total", 0}};
  uint64_t total = 0;
  for (Reject r : {Reject::kOversized, Reject::kMalformed, Reject::kVersion, Reject::kRange,
                   Reject::kSubject}) {
    auto it = rejected_.find(r);
    uint64_t n = it == rejected_.end() ? 0 : it->second;
    rejected[reject_name(r)] = n;
    total += n;
  }
  rejected["total"] = total;
  json j = {{"enabled", true},
            {"node", opt_.link.node},
            {"servers", opt_.link.servers},
            {"quorum", ledger_.quorum()},
            {"replayed", replayed_},
            {"peers", peers},
            {"applied", applied_},
            {"stale", stale_},
            {"own", own_},
            {"rejected", rejected},
            {"never_ban_refused", never_ban_},
            {"pending_quorum", ledger_.pending_quorum(now)},
            {"fleet_bans", ledger_.decisions().size()},
            {"bans_applied", bans_applied_},
            {"bans_lifted", bans_lifted_},
            {"bans_reapplied", reapplied_},
            {"shields_applied", shields_applied_},
            {"shields_ignored", shields_ignored_},
            {"shields_corrected", shields_corrected_},
            {"shields_on", ledger_.shields_on()},
            {"local_changes", local_published_}};
  if (link_) {
    LinkStatus s = link_->status();
    j["connected"] = s.connected;
    j["server"] = s.server;
    j["reconnects"] = s.reconnects;
    j["queue"] = {{"queued", s.queued},
                  {"max", opt_.link.queue_max},
                  {"dropped", s.queue_drops},
                  {"published", s.published},
                  {"retries", s.publish_retries}};
    j["last_error"] = s.last_error;
    json streams = json::array();
    for (const StreamStatus &st : s.streams)
      streams.push_back({{"name", st.name},
                         {"subscribed", st.subscribed},
                         {"caught_up", st.caught_up},
                         {"last_seq", st.last_seq},
                         {"delivered_seq", st.delivered_seq},
                         {"lag", st.pending}});
    j["streams"] = streams;
  } else {
    j["connected"] = false;
  }
  return j;
}

}  // namespace dnswash::fleet
