#include "dns_types.h"

#include <charconv>

namespace dnswash {

namespace {
struct TypeName {
  uint16_t code;
  std::string_view name;
};
// The types an authoritative server is asked for in practice (IANA registry names).
// clang-format off
constexpr TypeName kTypes[] = {
    {1, "A"},        {2, "NS"},        {5, "CNAME"},  {6, "SOA"},      {12, "PTR"},
    {13, "HINFO"},   {15, "MX"},       {16, "TXT"},   {17, "RP"},      {18, "AFSDB"},
    {24, "SIG"},     {25, "KEY"},      {28, "AAAA"},  {29, "LOC"},     {33, "SRV"},
    {35, "NAPTR"},   {36, "KX"},       {37, "CERT"},  {39, "DNAME"},   {41, "OPT"},
    {42, "APL"},     {43, "DS"},       {44, "SSHFP"}, {45, "IPSECKEY"}, {46, "RRSIG"},
    {47, "NSEC"},    {48, "DNSKEY"},   {49, "DHCID"}, {50, "NSEC3"},   {51, "NSEC3PARAM"},
    {52, "TLSA"},    {53, "SMIMEA"},   {55, "HIP"},   {59, "CDS"},     {60, "CDNSKEY"},
    {61, "OPENPGPKEY"}, {62, "CSYNC"}, {63, "ZONEMD"}, {64, "SVCB"},   {65, "HTTPS"},
    {99, "SPF"},     {108, "EUI48"},   {109, "EUI64"}, {249, "TKEY"},  {250, "TSIG"},
    {251, "IXFR"},   {252, "AXFR"},    {255, "ANY"},  {256, "URI"},    {257, "CAA"},
};
// clang-format on

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'a' && x <= 'z') x = char(x - 32);
    if (y >= 'a' && y <= 'z') y = char(y - 32);
    if (x != y) return false;
  }
  return true;
}

std::optional<uint16_t> number(std::string_view s) {
  unsigned v = 0;
  if (s.empty() || s.size() > 5) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > 65535) return std::nullopt;
  return uint16_t(v);
}
}  // namespace

std::optional<uint16_t> parse_qtype(std::string_view text) {
  for (const auto &t : kTypes)
    if (iequal(text, t.name)) return t.code;
  if (text.size() > 4 && iequal(text.substr(0, 4), "TYPE")) return number(text.substr(4));
  return number(text);
}

std::string qtype_name(uint16_t code) {
  for (const auto &t : kTypes)
    if (t.code == code) return std::string(t.name);
  return "TYPE" + std::to_string(code);
}

}  // namespace dnswash
