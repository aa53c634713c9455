#include "dns_name.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace dnswash {

size_t DnsName::wire_length() const {
  size_t n = 1;
  for (const auto &l : labels) n += 1 + l.size();
  return n;
}

namespace {

// Appends one label in presentation form. A plain byte is appended as is; the rest as \c or
// \DDD. Appending into one string (no temporary per label) matters: the zone table formats a
// million names at a full load.
void append_escaped(std::string &out, std::string_view raw) {
  for (unsigned char c : raw) {
    switch (c) {
      case '.':
      case '\\':
      case '"':
      case ';':
      case '(':
      case ')':
      case '@':
      case '$':
        out += '\\';
        out += char(c);
        break;
      default:
        if (c > 0x20 && c < 0x7f) {
          out += char(c);
        } else {
          char buf[4] = {'\\', char('0' + c / 100), char('0' + c / 10 % 10), char('0' + c % 10)};
          out.append(buf, 4);
        }
    }
  }
}

}  // namespace

std::string escape_label(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  append_escaped(out, raw);
  return out;
}

std::string DnsName::to_text() const {
  if (labels.empty()) return ".";
  std::string out;
  out.reserve(wire_length());  // enough unless something needs escaping
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i) out += '.';
    append_escaped(out, labels[i]);
  }
  return out;
}

std::vector<uint8_t> DnsName::to_wire() const {
  std::vector<uint8_t> w;
  w.reserve(wire_length());
  for (const auto &l : labels) {
    w.push_back(uint8_t(l.size()));
    w.insert(w.end(), l.begin(), l.end());
  }
  w.push_back(0);
  return w;
}

bool append_wire_name(std::string_view text, std::string *wire, std::string *error) {
  auto fail = [&](std::string msg) {
    if (error) *error = std::move(msg);
    return false;
  };
  if (text.empty()) return fail("empty name");
  size_t start = wire->size();
  if (text == ".") {
    wire->push_back('\0');
    return true;
  }
  // The wire form is at most two bytes longer than the text (a length byte in front, the
  // terminator; dots become length bytes, escapes shrink): size once, write by index.
  wire->resize(start + text.size() + 2);
  char *out = wire->data();
  size_t pos = start;
  size_t len_at = pos++;  // the open label's length byte
  size_t label_len = 0;
  bool label_open = false;  // distinguishes "a..b" (empty label) from the end
  auto undo = [&](std::string msg) {
    wire->resize(start);
    return fail(std::move(msg));
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '.') {
      if (label_len == 0) return undo("empty label in '" + std::string(text) + "'");
      out[len_at] = char(label_len);
      len_at = pos++;
      label_len = 0;
      label_open = false;
      continue;
    }
    label_open = true;
    if (c == '\\') {
      if (i + 1 >= text.size()) return undo("dangling backslash");
      char n = text[i + 1];
      if (n >= '0' && n <= '9') {
        if (i + 3 >= text.size() || !isdigit((unsigned char)text[i + 2]) ||
            !isdigit((unsigned char)text[i + 3]))
          return undo("\\DDD escape needs three digits");
        int v = (n - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
        if (v > 255) return undo("\\DDD escape above 255");
        out[pos++] = ascii_lower(char(v));
        i += 3;
      } else {
        out[pos++] = ascii_lower(n);
        i += 1;
      }
    } else {
      out[pos++] = ascii_lower(c);
    }
    if (++label_len > 63) return undo("label longer than 63 bytes");
  }
  if (label_open) {
    out[len_at] = char(label_len);
    out[pos++] = '\0';
  } else {
    out[len_at] = '\0';  // a trailing dot: the last length byte is the terminator
  }
  if (pos - start > 255) return undo("name longer than 255 bytes in wire form");
  wire->resize(pos);
  return true;
}

DnsName name_from_wire(std::string_view wire) {
  DnsName name;
  size_t n = 0;
  for (size_t off = 0; off < wire.size() && wire[off] != 0; off += 1 + uint8_t(wire[off])) ++n;
  name.labels.reserve(n);
  for (size_t off = 0; off < wire.size() && wire[off] != 0; off += 1 + uint8_t(wire[off]))
    name.labels.emplace_back(wire.substr(off + 1, uint8_t(wire[off])));
  return name;
}

std::optional<DnsName> parse_dns_name(std::string_view text, std::string *error) {
  std::string wire;
  if (!append_wire_name(text, &wire, error)) return std::nullopt;
  return name_from_wire(wire);
}

std::optional<DnsName> parse_wire_name(const uint8_t *data, size_t len, size_t *consumed) {
  DnsName name;
  size_t off = 0;
  while (true) {
    if (off >= len) return std::nullopt;
    uint8_t l = data[off];
    if (l == 0) {
      ++off;
      break;
    }
    if (l > 63) return std::nullopt;  // pointers (0xc0) and extended label types
    if (off + 1 + l > len) return std::nullopt;
    std::string label(reinterpret_cast<const char *>(data + off + 1), l);
    for (auto &c : label) c = ascii_lower(c);
    name.labels.push_back(std::move(label));
    off += 1 + l;
    if (off + 1 > 255) return std::nullopt;
  }
  if (consumed) *consumed = off;
  return name;
}

bool has_non_ascii(const DnsName &name) {
  for (const auto &l : name.labels)
    for (unsigned char c : l)
      if (c < 0x21 || c > 0x7e) return true;
  return false;
}

}  // namespace dnswash
