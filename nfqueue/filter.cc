#include "nfqueue/filter.h"

#include "error.h"
#include "nfqueue/rules.h"

namespace dnswash::nfqueue {

struct Filter::Impl {
  // Declaration order is teardown order reversed: the rules go first, then the workers
  // (which still flush into the sink), then the sink.
  std::unique_ptr<CounterSink> sink;
  SampleQueue samples;  // outlives the workers that push to it
  std::vector<std::unique_ptr<Worker>> workers;
  std::unique_ptr<Rules> rules;
  std::string backend;

  void stop() {
    rules.reset();  // no new packets are queued from here on
    for (auto &w : workers) w->stop();
  }
  ~Impl() { stop(); }
};

Filter::Filter(const Options &opt, const LiveMaps &maps, int counters_fd)
    : impl_(std::make_unique<Impl>()) {
  check_iface_name(opt.iface);
  if (opt.queues < 1 || opt.queues > 256)
    throw Error("--queues " + std::to_string(opt.queues) + ": use 1 to 256");
  if (unsigned(opt.queue_base) + 2 * opt.queues - 1 > 65535)
    throw Error("queue numbers " + std::to_string(opt.queue_base) + ".." +
                std::to_string(opt.queue_base + 2 * opt.queues - 1) +
                " do not fit in 0..65535: lower the first queue number");
  impl_->sink = std::make_unique<CounterSink>(counters_fd);
  // A second of samples from every thread at up to 4,096 a second each (the daemon empties
  // the queue every second; --sample-rate's default is 1,000 per thread).
  impl_->samples.set_capacity(4096 * size_t(opt.queues));
  // Queues are bound and served before any rule sends packets to them.
  for (unsigned i = 0; i < opt.queues; ++i) {
    WorkerConfig qc;
    qc.queue = uint16_t(opt.queue_base + i);
    qc.whole_queue = uint16_t(opt.queue_base + opt.queues + i);
    qc.fail_open = !opt.fail_closed;
    qc.queue_maxlen = opt.queue_maxlen;
    qc.samples = &impl_->samples;
    impl_->workers.push_back(std::make_unique<Worker>(qc, maps, *impl_->sink));
    impl_->workers.back()->start();
  }
  RuleSpec spec;
  spec.iface = opt.iface;
  spec.first_queue = opt.queue_base;
  spec.queues = opt.queues;
  spec.bypass = !opt.fail_closed;
  impl_->rules = Rules::install(spec);
  impl_->backend = impl_->rules->backend();
}

void Filter::stop() {
  impl_->stop();
}

Filter::~Filter() = default;

SampleQueue &Filter::samples() {
  return impl_->samples;
}

std::string Filter::backend() const {
  return impl_->backend;
}

std::vector<WorkerStats> Filter::stats() const {
  std::vector<WorkerStats> out;
  for (const auto &w : impl_->workers) out.push_back(w->stats());
  return out;
}

void Filter::remove_stale_rules(const std::string &iface) {
  Rules::remove_stale(iface);
}

}  // namespace dnswash::nfqueue
