// DNS RR type mnemonics for `dnswashctl check --type` and the `check` control command.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dnswash {

// "A", "aaaa", "TYPE65", "65" -> the type code; nullopt for anything else (or > 65535).
std::optional<uint16_t> parse_qtype(std::string_view text);
// The mnemonic, or "TYPEnnn" (RFC 3597) for codes without one.
std::string qtype_name(uint16_t code);

}  // namespace dnswash
