#include "logging.h"

#include <bpf/libbpf.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace dnswash::daemon {

namespace {

std::string *g_capture = nullptr;  // set while a KernelMessageCapture is alive

int libbpf_to_spdlog(enum libbpf_print_level level, const char *fmt, va_list args) {
  char buf[4096];
  va_list copy;
  va_copy(copy, args);
  int n = vsnprintf(buf, sizeof buf, fmt, copy);
  va_end(copy);
  if (n < 0) return n;
  std::string_view msg(buf, std::min<size_t>(size_t(n), sizeof buf - 1));
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.remove_suffix(1);
  // libbpf's netlink code prints the kernel's extack as "libbpf: Kernel error message: ...".
  constexpr std::string_view kExtack = "Kernel error message: ";
  if (auto at = msg.find(kExtack); g_capture && at != std::string_view::npos)
    *g_capture = std::string(msg.substr(at + kExtack.size()));
  switch (level) {
    case LIBBPF_WARN:
      spdlog::warn("{}", msg);
      break;
    case LIBBPF_INFO:
      spdlog::info("{}", msg);
      break;
    case LIBBPF_DEBUG:
      spdlog::debug("{}", msg);
      break;
  }
  return n;
}

}  // namespace

void setup_logging(int verbosity) {
  auto logger = spdlog::stderr_logger_st("dnswashd");
  // Under systemd the journal stamps time, host and unit; on a terminal a timestamp helps.
  if (getenv("JOURNAL_STREAM") || getenv("INVOCATION_ID"))
    logger->set_pattern("[%l] %v");
  else
    logger->set_pattern("%Y-%m-%d %H:%M:%S.%e dnswashd[%P] [%l] %v");
  logger->set_level(verbosity >= 2   ? spdlog::level::trace
                    : verbosity == 1 ? spdlog::level::debug
                                     : spdlog::level::info);
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
  libbpf_set_print(libbpf_to_spdlog);
}

KernelMessageCapture::KernelMessageCapture() {
  g_capture = new std::string;
}
KernelMessageCapture::~KernelMessageCapture() {
  delete g_capture;
  g_capture = nullptr;
}
const std::string &KernelMessageCapture::text() const {
  return *g_capture;
}

}  // namespace dnswash::daemon
