// The named.conf reader: which zones this server answers for authoritatively, read the way
// BIND 9.18's named reads its configuration (token splicing for includes, chdir on `options {
// directory }`, views, in-view, rndc addzone's NZF/NZD files). See docs/named-conf.md.
//
// Usage:
//   dnswash::zones::ParseOptions opt;
//   opt.path = "/etc/bind/named.conf";
//   auto result = dnswash::zones::parse_named_conf(opt);   // throws ParseError
//   for (const auto &name : dnswash::zones::allowlist(result)) ...
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dns_name.h"
#include "named_conf_fs.h"

namespace dnswash::zones {

// Where something was read: the file name as named would print it (include names as written,
// after glob expansion), 1-based line and byte column.
struct Location {
  std::string file;
  int line = 0;
  int column = 0;
  std::string to_text() const;  // "file:line:column"
};

// A syntax or semantic error named would also refuse to start with. what() is
// "file:line:column: message".
class ParseError : public std::runtime_error {
 public:
  ParseError(Location where, const std::string &message);
  const Location &where() const { return where_; }
  const std::string &message() const { return message_; }
  // ParseResult::watched_paths as far as the parser got: the files whose fix or creation may
  // cure the error (the zone sync keeps watching them).
  const std::vector<std::string> &watched_paths() const { return watched_paths_; }
  void set_watched_paths(std::vector<std::string> paths) { watched_paths_ = std::move(paths); }

 private:
  Location where_;
  std::string message_;
  std::vector<std::string> watched_paths_;
};

struct Warning {
  Location where;
  std::string message;
  std::string to_text() const { return where.to_text() + ": " + message; }
};

// Where a zone declaration came from.
enum class ZoneOrigin { kConfig, kNzf, kNzd };

struct Zone {
  DnsName name;
  std::string name_text;   // as written in the configuration
  std::string view;        // "_default" outside view blocks, as named calls it
  std::string type;        // canonical: primary, secondary, hint, forward, stub, ...;
                           // an in-view zone carries the type of the zone it refers to
  std::string zone_class;  // IN, CH, HS or CLASSnnn
  std::string file;        // the zone's `file` clause as written (empty if none)
  std::string in_view;     // referenced view for in-view zones
  Location where;
  ZoneOrigin origin = ZoneOrigin::kConfig;
  // True when the zone belongs in the wire allowlist: type primary or secondary, class IN and
  // not the root zone.
  bool allowed = false;
};

struct ParseOptions {
  // named.conf path. With `chroot`, it is a path inside the chroot, as with named -t.
  std::string path;
  // Every path is resolved under this directory, as named -t does. Empty: no chroot.
  std::string chroot;
  // named's working directory when it starts parsing (relative includes before any `options {
  // directory }` resolve against it). Empty: the process cwd, or "/" with a chroot (named
  // changes to / after chroot).
  std::string cwd;
  // Replaces the disk, e.g. for tests and fuzzing. Null: a DiskFileSystem under `chroot`.
  std::shared_ptr<FileSystem> fs;
  // Read zones added with `rndc addzone` (NZF and NZD files) for views with allow-new-zones.
  bool read_new_zones = true;
  // Fill ParseResult::zones. The daemon's sync sets false: it needs only the allowlist
  // (ParseResult::allowed), and a million Zone objects cost ~500 MB and seconds to build.
  bool zone_details = true;
};

struct ParseResult {
  // Every zone statement, in the order named reads them (empty unless zone_details).
  std::vector<Zone> zones;
  // The allowlist: sorted (DnsName order), de-duplicated names of the zones with `allowed`.
  std::vector<DnsName> allowed;
  std::vector<Warning> warnings;
  // True if any query-source/notify-source/transfer-source (and -v6, alt-, parental-) clause
  // binds source port 53: named's own outgoing traffic then comes from port 53.
  bool uses_source_port_53 = false;
  // Literal addresses of primaries (inline and named lists), also-notify, allow-transfer,
  // allow-update, allow-notify and server statements, as sorted unique CIDR text
  // ("192.0.2.1/32", "2001:db8::/32"). Negated entries, ACL names and keys are skipped.
  std::vector<std::string> protected_addresses;
  // Host paths worth watching for changes: every file read or included (also one that could not
  // be opened), the fixed directory of every include pattern with wildcards (a new matching
  // file appears there), and the NZF/NZD path of every view that allows new zones. Sorted,
  // unique.
  std::vector<std::string> watched_paths;
  // `statistics-channels { inet ADDR [port N] ...; }` entries in order, as "ADDR PORT" pairs
  // (ADDR as written: "*", "127.0.0.1", "::1"; PORT 80 when not given). The zone sync reads
  // named's zone list from the first one (docs/zone-sources.md).
  std::vector<std::pair<std::string, int>> statistics_channels;
};

// Parses the configuration at options.path. Throws ParseError.
ParseResult parse_named_conf(const ParseOptions &options);

// Parses `text` as if it were the file options.path (which is not read); includes, NZF and NZD
// files go through options.fs. For fuzzing and tests. Throws ParseError.
ParseResult parse_named_conf_text(const std::string &text, const ParseOptions &options);

// The allowlist: sorted, de-duplicated names of the zones with `allowed` set (computed from
// `zones`, or result.allowed when zones is empty).
std::vector<DnsName> allowlist(const ParseResult &result);

}  // namespace dnswash::zones
