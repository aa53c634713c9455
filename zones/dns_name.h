// Domain names as dnswash handles them: a list of labels, leftmost first, ASCII case-folded.
// Used by the named.conf parser (zone names), the zone-map sync (hash keys) and the CLI.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dnswash {

struct DnsName {
  // Leftmost label first; the root is the empty list. Each label is 1..63 raw bytes, with
  // ASCII A-Z folded to a-z (DNS compares names case-insensitively in ASCII only).
  std::vector<std::string> labels;

  bool is_root() const { return labels.empty(); }
  // Length of the uncompressed wire form, including the terminating root byte.
  size_t wire_length() const;
  // Lowercase presentation form without trailing dot; "." for the root. Bytes outside
  // printable ASCII, and '.', '\\', '"', ';', '(', ')', '@', '$' and space are escaped as \DDD
  // or \c, so the result is safe to print, log and put in JSON.
  std::string to_text() const;
  // Uncompressed wire form (length-prefixed labels, terminating zero byte).
  std::vector<uint8_t> to_wire() const;
  bool operator==(const DnsName &) const = default;
  auto operator<=>(const DnsName &) const = default;
};

// Parses a name in presentation form: labels separated by '.', optional trailing dot,
// escapes \c (a literal character) and \DDD (decimal byte 0..255). Enforces label length
// 1..63 and wire length <= 255. Returns nullopt and sets *error on failure.
std::optional<DnsName> parse_dns_name(std::string_view text, std::string *error = nullptr);

// The same, appending the name's uncompressed wire form (case-folded, with the terminating zero
// byte) to *wire instead of building a DnsName: no allocation per name, for the million-zone
// parse. On failure *wire is left as it was and false is returned.
bool append_wire_name(std::string_view text, std::string *wire, std::string *error = nullptr);

// The DnsName of a well-formed wire name (as append_wire_name writes it; no checks).
DnsName name_from_wire(std::string_view wire);

// Parses an uncompressed wire-form name starting at data[0]. Rejects compression pointers
// and extended label types. Returns nullopt on any malformation.
std::optional<DnsName> parse_wire_name(const uint8_t *data, size_t len, size_t *consumed = nullptr);

// ASCII-only case fold, as the datapath does it.
inline char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? char(c + 32) : c;
}

// True if any byte of the name is outside printable ASCII (0x21..0x7e): such a zone name in
// named.conf never matches an IDN query on the wire, which is punycode (xn--...).
bool has_non_ascii(const DnsName &name);

// Escapes arbitrary bytes the way to_text() escapes a label (for logging raw wire bytes).
std::string escape_label(std::string_view raw);

}  // namespace dnswash
