// named's own list of the zones it serves, from its statistics channel (/json/v1/zones): the
// zones named.conf declares, rndc addzone's, catalog zone members, DLZ-less provisioning.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dns_name.h"
#include "runtime_source.h"

namespace dnswash {

// The primary and secondary zones of class IN of every view in a /json/v1/zones document
// (BIND 9.18: {"views": {"<view>": {"zones": [{"name", "class", "type", ...}]}}}; 9.16's
// "master"/"slave" count too), sorted, unique, without the root. Throws Error when the
// document is not complete JSON of that shape: a truncated read must not look like a server
// that dropped zones.
std::vector<DnsName> parse_named_stats_zones(std::string_view json);

// GET url with a total timeout and a size cap; the body of a 200 reply, else throws Error.
std::string http_get(const std::string &url, std::chrono::milliseconds timeout, size_t max_bytes);

// The URL of named's statistics channel for `inet ADDR [port N]` (ADDR as named.conf has it:
// "*" or 0.0.0.0 means loopback, "::" means ::1; default port 80).
std::string stats_url_for(const std::string &address, int port);

std::unique_ptr<RuntimeSource> make_named_stats_source(std::string url);

}  // namespace dnswash
