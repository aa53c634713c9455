#include "ledger.h"

#include <algorithm>
#include <cstring>

namespace dnswash::fleet {

Ledger::Key Ledger::key_of(const dw_ban_key &k) {
  Key out;
  std::memcpy(out.data(), &k, sizeof k);
  return out;
}

Outcome Ledger::add(const Message &m, int64_t now_ms, std::vector<BanChange> *bans,
                    std::vector<ShieldChange> *shields) {
  if (m.node == self_) return Outcome::kOwn;
  if (m.kind == Kind::kShield) {
    ShieldWord &w = shields_[m.zone][m.node];
    if (m.seq <= w.seq) return Outcome::kStale;
    w = {m.seq, m.shield_on};
    size_t on = 0;
    for (const auto &[node, word] : shields_[m.zone]) on += word.on;
    bool want = on >= quorum_;
    bool &cur = shield_on_[m.zone];
    if (want != cur) {
      cur = want;
      shields->push_back({m.zone, want});
    }
    return Outcome::kApplied;
  }
  Key k = key_of(m.key);
  Prefix &p = prefixes_[k];
  p.key = m.key;
  Report &r = p.by_node[m.node];
  if (m.seq <= r.seq) return Outcome::kStale;
  if (m.kind == Kind::kBan && m.at_ms <= p.cleared_at_ms) {
    r.seq = m.seq;  // an operator lifted the ban after this node made it
    return Outcome::kStale;
  }
  r.seq = m.seq;
  r.at_ms = m.at_ms;
  r.banned = m.kind == Kind::kBan;
  r.expires_ms = m.expires_ms;
  r.start_ms = m.start_ms;
  r.manual = m.manual;
  r.zone = m.zone;
  r.offenses = m.offenses;
  if (m.kind == Kind::kUnban && m.manual) {
    lift(m.key, m.at_ms, now_ms, bans);
    return Outcome::kApplied;
  }
  update(k, now_ms, bans);
  return Outcome::kApplied;
}

void Ledger::lift(const dw_ban_key &key, int64_t at_ms, int64_t now_ms,
                  std::vector<BanChange> *out) {
  Key k = key_of(key);
  Prefix &p = prefixes_[k];
  p.key = key;
  p.cleared_at_ms = std::max(p.cleared_at_ms, at_ms);
  for (auto &[node, other] : p.by_node)
    if (other.banned && other.at_ms <= at_ms) other.banned = false;
  update(k, now_ms, out);
}

std::optional<Decision> Ledger::decide(const Prefix &p, int64_t now_ms) const {
  std::vector<const Report *> live;
  for (const auto &[node, r] : p.by_node)
    if (r.banned && (!r.expires_ms || *r.expires_ms > now_ms)) live.push_back(&r);
  if (live.size() < quorum_) return std::nullopt;
  // Longest first, permanent before any timed ban; the quorum-th is what `quorum` agree on.
  std::sort(live.begin(), live.end(), [](const Report *a, const Report *b) {
    if (!a->expires_ms || !b->expires_ms) return !a->expires_ms && b->expires_ms;
    return *a->expires_ms > *b->expires_ms;
  });
  Decision d;
  d.expires_ms = live[quorum_ - 1]->expires_ms;
  d.nodes = live.size();
  d.start_ms = live.front()->start_ms;
  for (const auto &[node, r] : p.by_node)
    if (r.banned && (!r.expires_ms || *r.expires_ms > now_ms) &&
        d.by.size() + node.size() + 1 <= 255)
      d.by += (d.by.empty() ? "" : ",") + node;
  for (const Report *r : live) {
    d.start_ms = std::min(d.start_ms, r->start_ms);
    d.manual |= r->manual;
    if (d.zone.empty()) d.zone = r->zone;
    d.offenses = std::max(d.offenses, r->offenses);
  }
  return d;
}

void Ledger::update(const Key &k, int64_t now_ms, std::vector<BanChange> *out) {
  const Prefix &p = prefixes_.at(k);
  auto want = decide(p, now_ms);
  auto it = decided_.find(k);
  if (want) {
    if (it != decided_.end() && it->second.expires_ms == want->expires_ms) {
      it->second = *want;  // same ban: who reported it is bookkeeping only
      return;
    }
    decided_[k] = *want;
    out->push_back({p.key, want});
  } else if (it != decided_.end()) {
    decided_.erase(it);
    out->push_back({p.key, std::nullopt});
  }
}

void Ledger::expire(int64_t now_ms, std::vector<BanChange> *out) {
  for (auto it = prefixes_.begin(); it != prefixes_.end();) {
    Prefix &p = it->second;
    bool any_live = false, any_due = false;
    for (auto &[node, r] : p.by_node) {
      if (!r.banned) continue;
      if (r.expires_ms && *r.expires_ms <= now_ms) {
        r.banned = false;
        any_due = true;
      } else {
        any_live = true;
      }
    }
    if (any_due) update(it->first, now_ms, out);
    // A prefix nobody bans is kept only for its seqs (a late replay of an older message
    // must not revive it) until the timed stream has aged such messages out too: a day
    // after the newest word is far past any redelivery.
    bool old = true;
    for (const auto &[node, r] : p.by_node) old &= r.at_ms + 86400000 < now_ms;
    if (!any_live && old && !decided_.count(it->first))
      it = prefixes_.erase(it);
    else
      ++it;
  }
}

std::optional<Decision> Ledger::decision(const dw_ban_key &key) const {
  auto it = decided_.find(key_of(key));
  if (it == decided_.end()) return std::nullopt;
  return it->second;
}

size_t Ledger::pending_quorum(int64_t now_ms) const {
  size_t n = 0;
  for (const auto &[k, p] : prefixes_) {
    if (decided_.count(k)) continue;
    for (const auto &[node, r] : p.by_node)
      if (r.banned && (!r.expires_ms || *r.expires_ms > now_ms)) {
        ++n;
        break;
      }
  }
  return n;
}

bool Ledger::shield(const std::string &zone) const {
  auto it = shield_on_.find(zone);
  return it != shield_on_.end() && it->second;
}

std::vector<std::string> Ledger::shields_on() const {
  std::vector<std::string> out;
  for (const auto &[zone, on] : shield_on_)
    if (on) out.push_back(zone);
  return out;
}

}  // namespace dnswash::fleet
