// The plain query the lab's traffic tools send (dwq, detq, dnswash-udp-load): ID, RD=0,
// QDCOUNT=1, NAME (dotted text, each label as given: no escapes, empty labels skipped), A IN.
// Header-only: these tools are single files and link nothing else.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace dnswash::lab {

inline std::vector<uint8_t> a_query(uint16_t id, const std::string &name) {
  std::vector<uint8_t> q = {uint8_t(id >> 8), uint8_t(id), 0, 0, 0, 1, 0, 0, 0, 0, 0, 0};
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string::npos) dot = name.size();
    if (dot > start) {
      q.push_back(uint8_t(dot - start));
      q.insert(q.end(), name.begin() + long(start), name.begin() + long(dot));
    }
    start = dot + 1;
  }
  q.push_back(0);
  q.insert(q.end(), {0, 1, 0, 1});  // A IN
  return q;
}

}  // namespace dnswash::lab
