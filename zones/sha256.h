// SHA-256, only to derive the file names BIND gives NZF/NZD files of views whose names cannot
// be used as file names (isc_file_sanitize). Small enough that we need not link a crypto library.
#pragma once

#include <string>
#include <string_view>

namespace dnswash::zones {

// Lowercase hex digest of `data`.
std::string sha256_hex(std::string_view data);

}  // namespace dnswash::zones
