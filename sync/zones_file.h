// The --zones-file format: one zone name per line in presentation form (trailing dot
// optional, \DDD escapes as in named.conf), '#' starts a comment that runs to the end of the
// line, blank lines and surrounding spaces or tabs are ignored.
//
//   # zones served by the hidden primary, not in named.conf
//   example.com
//   example.net.   # trailing dot is fine
#pragma once

#include <string>
#include <vector>

#include "dns_name.h"

namespace dnswash {

// Parses the text of a zones file named `display` in messages. Throws Error
// "display:line:column: ..." for an invalid name, a second name on a line, or the root zone.
std::vector<DnsName> parse_zones_text(const std::string &text, const std::string &display);

// Reads and parses the file. Throws Error "path: ..." if it cannot be read.
std::vector<DnsName> read_zones_file(const std::string &path);

// A --zone NAME argument. Throws Error "--zone 'NAME': ..." when invalid or the root zone.
DnsName parse_zone_argument(const std::string &name);

}  // namespace dnswash
