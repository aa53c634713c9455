// Knot DNS and NSD as zone sources, through their own control tools, so catalog zones,
// includes and zones added at run time are theirs to resolve:
//   knotc [-s SOCKET] zone-status     "[example.com.] role: master | serial: 1 ..."
//   nsd-control [-c CONF] zonestatus  "zone:\texample.com" then indented details
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dns_name.h"
#include "runtime_source.h"

namespace dnswash {

// The zones in knotc's zone-status output, sorted, unique, without the root. Throws Error on
// a line knotc prints for a failure ("error: ...").
std::vector<DnsName> parse_knotc_zone_status(std::string_view text);

// The zones in nsd-control's zonestatus output, sorted, unique, without the root. Throws Error
// on "error ..." lines.
std::vector<DnsName> parse_nsd_zonestatus(std::string_view text);

struct ToolResult {
  int exit_code = -1;  // -1: killed (timeout) or did not start
  std::string out;     // stdout
  std::string err;     // stderr, at most 4 KiB
};

// Runs argv[0] (searched in PATH) without a shell, with stdin from /dev/null, and kills it
// after `timeout`. Throws Error when it cannot be started.
ToolResult run_tool(const std::vector<std::string> &argv, std::chrono::milliseconds timeout);

// knotc = path of knotc, socket = its control socket ("" = knotc's default).
std::unique_ptr<RuntimeSource> make_knot_source(std::string knotc, std::string socket);
// nsd_control = path of nsd-control, config = nsd.conf ("" = nsd-control's default).
std::unique_ptr<RuntimeSource> make_nsd_source(std::string nsd_control, std::string config);

}  // namespace dnswash
