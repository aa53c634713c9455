// Where named keeps zones added with `rndc addzone` (BIND 9.18, lib/dns/view.c nz_legacy and
// lib/isc/file.c isc_file_sanitize): per view, "<view>.nzf" (zone statements as text) or, when
// BIND is built with LMDB as Debian's is, "<view>.nzd" (an LMDB file: key = zone name, value =
// the zone's "{ ... }" options text). A view name containing '/', '\' or an uppercase letter is
// not used as a file name: named uses the first 16 hex digits of its SHA-256 instead (and the
// full 64-digit hash if a file by that name already exists).
#pragma once

#include <optional>
#include <string>

#include "named_conf_fs.h"

namespace dnswash::zones {

// The path named uses for a view's new-zone file with extension `ext` ("nzf" or "nzd").
// `cwd` is named's working directory (the options `directory`); `new_zones_directory` is the
// option's value if set (relative to cwd). Like named, a file found in cwd but not in the
// new-zones-directory is used from cwd (named would move it).
std::string new_zone_file_path(FileSystem &fs, const std::string &cwd,
                               const std::optional<std::string> &new_zones_directory,
                               const std::string &view, const std::string &ext);

}  // namespace dnswash::zones
