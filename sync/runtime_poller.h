// Reads a RuntimeSource on its own thread, every `interval` and when asked (SIGHUP), so a slow
// server (a million zones of statistics JSON) never stalls the daemon's loop. Results are
// handed over through fd(): readable when take() has one.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "runtime_source.h"

namespace dnswash {

struct RuntimeReadResult {
  bool ok = false;
  std::vector<DnsName> zones;  // ok: sorted, unique
  std::string error;           // !ok
  int64_t read_us = 0;
};

class RuntimePoller {
 public:
  // The next read starts `interval` after the previous one ended, and never sooner than ten
  // times the previous read's duration after it: a source that takes 1 s to read costs at
  // most a tenth of a CPU.
  RuntimePoller(std::shared_ptr<RuntimeSource> source, std::chrono::milliseconds interval);
  ~RuntimePoller();
  RuntimePoller(const RuntimePoller &) = delete;
  RuntimePoller &operator=(const RuntimePoller &) = delete;

  // Reads once on the calling thread (the daemon's start), then starts the thread.
  RuntimeReadResult read_now_and_start();
  void request_read();  // the thread reads at once (SIGHUP)
  int fd() const { return event_fd_; }
  std::optional<RuntimeReadResult> take();  // the latest result not yet taken
  RuntimeSource &source() { return *source_; }

 private:
  void run();
  RuntimeReadResult read_once();

  std::shared_ptr<RuntimeSource> source_;
  std::chrono::milliseconds interval_;
  int event_fd_ = -1;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool wake_ = false;
  std::optional<RuntimeReadResult> latest_;
  std::thread thread_;
};

}  // namespace dnswash
