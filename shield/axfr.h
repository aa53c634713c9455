// The zone shield's source of truth: the zone as named serves it, by a zone transfer (AXFR
// over TCP) from the local server, and its SOA serial by a plain SOA query, polled to notice a
// change (dynamic UPDATE, reload) within a fraction of a second. named.conf must allow the
// transfer to the daemon (docs/detector.md: `allow-transfer { 127.0.0.1; ::1; };`).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dns_name.h"
#include "zone_names.h"

namespace dnswash::shield {

struct Endpoint {
  std::string address = "127.0.0.1";  // numeric IPv4 or IPv6
  uint16_t port = 53;
  std::string text() const;
};

struct ZoneTransfer {
  uint32_t serial = 0;
  // The SOA record after its owner name, as the kernel appends it to an NXDOMAIN: type, class,
  // TTL (the negative-caching TTL: min(SOA TTL, MINIMUM), RFC 2308), RDLENGTH, RDATA with
  // uncompressed names.
  std::vector<uint8_t> soa_rr;
  std::vector<NameEntry> names;  // ZoneNamesBuilder's result
  size_t records = 0;
  // A DNSKEY at the apex: the zone is signed, and a validator rejects an NXDOMAIN without the
  // NSEC/NSEC3 records that prove it, which XDP cannot make (the shield answers TC=1 instead).
  bool signed_zone = false;
};

// AXFR of `zone` from `from`. Throws std::runtime_error (refused, timeout, malformed).
ZoneTransfer transfer_zone(const Endpoint &from, const DnsName &zone,
                           std::chrono::milliseconds timeout);

// What an IXFR (RFC 1995) brought since a serial: the new serial and SOA, and the names of
// the records it added (with their empty non-terminals, as ZoneNamesBuilder makes them).
// Deleted records are only counted: a name stays in the set until the next whole transfer
// (a missing name let through meanwhile only reaches named; an existing one is never
// dropped).
struct ZoneDelta {
  uint32_t serial = 0;
  std::vector<uint8_t> soa_rr;  // as ZoneTransfer's
  std::vector<NameEntry> added;
  size_t added_records = 0, deleted_records = 0;
  bool dnskey_added = false;  // a DNSKEY added at the apex: the zone is signed now
};
struct ZoneChange {
  bool whole = false;  // the server sent the whole zone (no journal): `zone` holds it
  ZoneTransfer zone;
  ZoneDelta delta;  // otherwise (no records at all if the server was not newer)
};

// IXFR of `zone` since `serial`. A server without the history answers with the whole zone,
// as AXFR would. Throws std::runtime_error as transfer_zone.
ZoneChange transfer_zone_since(const Endpoint &from, const DnsName &zone, uint32_t serial,
                               std::chrono::milliseconds timeout);

// The zone's SOA serial by a UDP SOA query; nullopt on timeout or a non-answer.
std::optional<uint32_t> query_serial(const Endpoint &from, const DnsName &zone,
                                     std::chrono::milliseconds timeout);

// Wire helpers, exposed for the tests: a name at msg[*off] (compression pointers followed,
// loops refused), case-folded. Advances *off past the name as it sits in the message.
std::optional<DnsName> read_name(const uint8_t *msg, size_t len, size_t *off);

}  // namespace dnswash::shield
