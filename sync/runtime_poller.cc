#include "runtime_poller.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include "error.h"

namespace dnswash {

RuntimePoller::RuntimePoller(std::shared_ptr<RuntimeSource> source,
                             std::chrono::milliseconds interval)
    : source_(std::move(source)), interval_(interval) {
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) throw Error(errno_text("eventfd", errno));
}

RuntimePoller::~RuntimePoller() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (event_fd_ >= 0) close(event_fd_);
}

RuntimeReadResult RuntimePoller::read_once() {
  RuntimeReadResult r;
  auto t0 = std::chrono::steady_clock::now();
  try {
    r.zones = source_->read();
    r.ok = true;
  } catch (const std::exception &e) {
    r.error = e.what();
  }
  r.read_us =
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  return r;
}

RuntimeReadResult RuntimePoller::read_now_and_start() {
  RuntimeReadResult r = read_once();
  auto first_wait = std::max(interval_, std::chrono::milliseconds(r.read_us / 100));
  thread_ = std::thread([this, first_wait] {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, first_wait, [this] { return stop_ || wake_; });
    lock.unlock();
    run();
  });
  return r;
}

void RuntimePoller::run() {
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stop_) return;
      wake_ = false;
    }
    RuntimeReadResult r = read_once();
    auto wait = std::max(interval_, std::chrono::milliseconds(r.read_us / 100));
    {
      std::lock_guard lock(mu_);
      latest_ = std::move(r);
    }
    uint64_t one = 1;
    if (write(event_fd_, &one, sizeof one) < 0) {
      // Only EAGAIN (counter full) is possible: the loop is readable already.
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, wait, [this] { return stop_ || wake_; });
    if (stop_) return;
  }
}

void RuntimePoller::request_read() {
  {
    std::lock_guard lock(mu_);
    wake_ = true;
  }
  cv_.notify_all();
}

std::optional<RuntimeReadResult> RuntimePoller::take() {
  uint64_t n;
  if (read(event_fd_, &n, sizeof n) < 0) {
    // EAGAIN: nothing new signalled; a result may still be waiting below.
  }
  std::lock_guard lock(mu_);
  std::optional<RuntimeReadResult> r = std::move(latest_);
  latest_.reset();
  return r;
}

}  // namespace dnswash
