#include "load_failure.h"

#include <bpf/libbpf.h>
#include <sys/utsname.h>

#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <regex>
#include <vector>

namespace dnswash {

namespace {

std::string *g_text = nullptr;
libbpf_print_fn_t g_prev = nullptr;

int capture(enum libbpf_print_level level, const char *fmt, va_list ap) {
  int n = 0;
  if (g_text && level != LIBBPF_DEBUG) {
    va_list again;
    va_copy(again, ap);
    n = std::vsnprintf(nullptr, 0, fmt, again);
    va_end(again);
    if (n > 0) {
      std::string buf(size_t(n) + 1, '\0');
      va_copy(again, ap);
      std::vsnprintf(buf.data(), buf.size(), fmt, again);
      va_end(again);
      buf.resize(size_t(n));
      *g_text += buf;
    }
  }
  return g_prev ? g_prev(level, fmt, ap) : n;
}

}  // namespace

LoadLogCapture::LoadLogCapture() {
  g_text = new std::string;
  g_prev = libbpf_set_print(capture);
}

LoadLogCapture::~LoadLogCapture() {
  libbpf_set_print(g_prev);
  g_prev = nullptr;
  delete g_text;
  g_text = nullptr;
}

const std::string &LoadLogCapture::text() const {
  return *g_text;
}

std::string kernel_release() {
  utsname u{};
  return uname(&u) == 0 ? u.release : "(unknown)";
}

std::string load_failure_text(const std::string &log, int err, const std::string &fallback,
                              size_t lines) {
  std::string prog = fallback;
  std::smatch m;
  static const std::regex failed("prog '([^']+)': (BPF program load failed|failed to load)");
  if (std::regex_search(log, m, failed)) prog = m[1];
  std::string body = log;
  size_t b = log.find("-- BEGIN PROG LOAD LOG --"), e = log.find("-- END PROG LOAD LOG --");
  if (b != std::string::npos && e != std::string::npos && e > b) {
    b = log.find('\n', b);
    body = log.substr(b + 1, e - b - 1);
  }
  std::vector<std::string> all;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    if (nl == std::string::npos) nl = body.size();
    if (nl > pos) all.push_back(body.substr(pos, nl - pos));
    pos = nl + 1;
  }
  std::string out = "program " + prog + " on kernel " + kernel_release() + ": " +
                    std::strerror(err < 0 ? -err : err) + "; the verifier's last lines:";
  for (size_t i = all.size() > lines ? all.size() - lines : 0; i < all.size(); ++i)
    out += "\n    " + all[i];
  return out;
}

}  // namespace dnswash
