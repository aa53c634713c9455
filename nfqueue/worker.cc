#include "nfqueue/worker.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

// libmnl-based API of libnetfilter_queue (not the classic nfq_open/nfq_handle one): we own the
// socket, so NETLINK_NO_ENOBUFS and the receive buffer are plain setsockopts, packets are read
// many at a time with recvmmsg, and verdict batches are built straight into one send buffer.
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstring>
#include <vector>

#include "error.h"
#include "nfqueue/judge.h"

namespace dnswash::nfqueue {

CounterSink::CounterSink(int counters_fd) : fd_(counters_fd) {}

void CounterSink::add(const Counters &delta) {
  std::lock_guard<std::mutex> lock(mu_);
  try {
    add_counters(fd_, delta);
  } catch (const Error &e) {
    spdlog::warn("nfqueue: cannot add to the counters: {}", e.what());
  }
}

namespace {

uint64_t monotonic_ns() {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now().time_since_epoch())
                      .count());
}

constexpr unsigned kBatch = 64;             // packets per recvmmsg
constexpr size_t kMsgBuf = 2048;            // one queued packet: headers + at most kCopyRange bytes
constexpr size_t kWholeBuf = 65536 + 4096;  // whole-packet queue: up to the kernel's max range
constexpr auto kFlushEvery = std::chrono::milliseconds(100);

// One netlink socket bound to one queue.
class NfqSocket {
 public:
  NfqSocket(uint16_t queue, uint32_t copy_range, const WorkerConfig &cfg) : queue_(queue) {
    nl_ = mnl_socket_open(NETLINK_NETFILTER);
    if (!nl_) throw Error(errno_text("opening a netfilter netlink socket", errno));
    try {
      if (mnl_socket_bind(nl_, 0, MNL_SOCKET_AUTOPID) < 0)
        throw Error(errno_text("binding the netlink socket", errno));
      portid_ = mnl_socket_get_portid(nl_);
      int one = 1;
      // A full socket buffer is the kernel's business (fail-open accepts, fail-closed
      // drops); recv must not fail with ENOBUFS because of it.
      if (mnl_socket_setsockopt(nl_, NETLINK_NO_ENOBUFS, &one, sizeof one) < 0)
        throw Error(errno_text("setting NETLINK_NO_ENOBUFS", errno));
      int rcv = cfg.rcvbuf;
      if (setsockopt(fd(), SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof rcv) < 0)
        setsockopt(fd(), SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);  // without CAP_NET_ADMIN

      // Bind, copy mode and range, flags and queue length in one message with one ACK.
      std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
      nlmsghdr *nlh = nfq_nlmsg_put(buf.data(), NFQNL_MSG_CONFIG, queue);
      nfq_nlmsg_cfg_put_cmd(nlh, AF_UNSPEC, NFQNL_CFG_CMD_BIND);
      nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, int(copy_range));
      nfq_nlmsg_cfg_put_qmaxlen(nlh, cfg.queue_maxlen);
      // GSO is in the mask and not in the flags: the kernel segments GSO packets before
      // queueing, so every packet is one datagram as XDP would see it.
      mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(cfg.fail_open ? NFQA_CFG_F_FAIL_OPEN : 0));
      mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN | NFQA_CFG_F_GSO));
      nlh->nlmsg_flags |= NLM_F_ACK;
      nlh->nlmsg_seq = 1;
      if (mnl_socket_sendto(nl_, nlh, nlh->nlmsg_len) < 0)
        throw Error(errno_text("configuring NFQUEUE " + std::to_string(queue), errno));
      for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl_, buf.data(), buf.size());
        if (n < 0) throw Error(errno_text("reading the NFQUEUE config ack", errno));
        int r = mnl_cb_run(buf.data(), size_t(n), 1, portid_, nullptr, nullptr);
        if (r == MNL_CB_STOP) break;  // the ACK
        if (r < 0) {
          int e = errno;
          throw Error(errno_text("binding NFQUEUE " + std::to_string(queue), e) +
                      // The kernel says EPERM for a queue bound by another socket.
                      (e == EPERM ? " (another process holds this queue, or this one lacks "
                                    "CAP_NET_ADMIN; pick another queue number)"
                                  : ""));
        }
      }
    } catch (...) {
      mnl_socket_close(nl_);
      throw;
    }
  }
  ~NfqSocket() { mnl_socket_close(nl_); }
  NfqSocket(const NfqSocket &) = delete;
  NfqSocket &operator=(const NfqSocket &) = delete;

  int fd() const { return mnl_socket_get_fd(nl_); }
  uint16_t queue() const { return queue_; }
  mnl_socket *nl() { return nl_; }

 private:
  mnl_socket *nl_ = nullptr;
  uint16_t queue_;
  unsigned portid_ = 0;
};

struct Pending {
  uint32_t id;
  uint32_t verdict;
};

}  // namespace

struct Worker::Impl {
  WorkerConfig cfg;
  LiveMaps maps;
  CounterSink &sink;
  NfqSocket main;
  NfqSocket whole;
  Judge judge;
  Sampler sampler;
  int wake_fd = -1;
  std::thread thread;
  bool stopped = false;

  // Written by the worker thread only; read by stats().
  std::atomic<uint64_t> packets{0}, accepted{0}, dropped{0}, requeued{0}, verdict_msgs{0},
      errors{0};
  Counters local{};
  std::vector<Pending> pending;
  std::vector<char> sendbuf;
  std::vector<std::vector<char>> bufs;
  std::vector<mmsghdr> msgs = std::vector<mmsghdr>(kBatch);
  std::vector<iovec> iov = std::vector<iovec>(kBatch);
  std::vector<char> whole_buf;

  Impl(const WorkerConfig &c, const LiveMaps &m, CounterSink &s)
      : cfg(c),
        maps(m),
        sink(s),
        main(c.queue, Judge::kCopyRange, c),
        whole(c.whole_queue, 0xFFFF, c),
        judge(m) {
    wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (wake_fd < 0) throw Error(errno_text("eventfd", errno));
    bufs.assign(kBatch, std::vector<char>(kMsgBuf));
    whole_buf.resize(kWholeBuf);
    sendbuf.resize(kBatch * 64);
  }
  ~Impl() {
    if (wake_fd >= 0) close(wake_fd);
  }

  void error(const std::string &what) {
    uint64_t n = ++errors;
    if ((n & (n - 1)) == 0)  // 1st, 2nd, 4th, ...: visible without flooding the log
      spdlog::warn("nfqueue {}: {} (error #{})", cfg.queue, what, n);
  }

  // Once per receive batch: the zone set and dw_config (dry-run, allow flags, depths).
  void begin_batch() {
    if (!judge.begin_batch())
      error(std::string("reading the zone set or dw_config: ") + strerror(errno));
  }

  // Judges one packet message; appends its verdict to `pending`.
  void on_packet(const nlmsghdr *nlh, bool from_whole) {
    nlattr *attr[NFQA_MAX + 1] = {};
    if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR]) {
      error("unparsable packet message");
      return;
    }
    auto *ph = static_cast<nfqnl_msg_packet_hdr *>(mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));
    uint32_t id = ntohl(ph->packet_id);
    const uint8_t *data = nullptr;
    size_t copied = 0;
    if (attr[NFQA_PAYLOAD]) {
      data = static_cast<const uint8_t *>(mnl_attr_get_payload(attr[NFQA_PAYLOAD]));
      copied = mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]);
    }
    size_t orig = attr[NFQA_CAP_LEN] ? ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN])) : copied;
    Decision d = judge.decide(data, copied, orig, !from_whole);
    uint32_t verdict;
    if (d.action == Decision::NeedWhole) {
      verdict = NF_QUEUE_NR(uint32_t(cfg.whole_queue)) |
                (cfg.fail_open ? NF_VERDICT_FLAG_QUEUE_BYPASS : 0);
      ++requeued;
    } else {
      ++packets;
      if (d.reason >= 0 && d.reason < DW_R_COUNT) ++local[size_t(d.reason)];
      if (d.dry_run_passed) ++local[DW_C_DRYRUN_PASSED];
      const dw_config &c = judge.engine().config();
      if (cfg.samples && c.sample_every && c.sample_per_s &&
          (d.action == Decision::Drop || d.dry_run_passed) &&
          sampler.on_drop(c, d.verdict, data, copied, monotonic_ns(), *cfg.samples) ==
              Sampler::kLost)
        ++local[DW_C_SAMPLES_LOST];
      if (d.action == Decision::Drop) {
        verdict = NF_DROP;
        ++dropped;
      } else {
        verdict = NF_ACCEPT;
        ++accepted;
      }
    }
    pending.push_back({id, verdict});
  }

  // Walks the netlink messages of one datagram.
  void on_datagram(const char *buf, size_t len, bool from_whole) {
    auto *nlh = reinterpret_cast<const nlmsghdr *>(buf);
    int left = int(len);
    for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        auto *e = static_cast<const nlmsgerr *>(mnl_nlmsg_get_payload(nlh));
        if (e->error != 0) error(std::string("kernel rejected a verdict: ") + strerror(-e->error));
        continue;
      }
      if (nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET))
        on_packet(nlh, from_whole);
    }
  }

  // One NFQNL_MSG_VERDICT_BATCH per run of equal verdicts: the kernel applies a batch verdict
  // to every packet of the queue with an id up to the given one, and ids grow in the order we
  // received them, so the run's last id covers exactly the run.
  void send_verdicts(NfqSocket &s) {
    if (pending.empty()) return;
    size_t off = 0;
    for (size_t i = 0; i < pending.size(); ++i) {
      if (i + 1 < pending.size() && pending[i + 1].verdict == pending[i].verdict) continue;
      if (off + 64 > sendbuf.size()) sendbuf.resize(sendbuf.size() * 2);
      nlmsghdr *nlh = nfq_nlmsg_put(sendbuf.data() + off, NFQNL_MSG_VERDICT_BATCH, s.queue());
      nfq_nlmsg_verdict_put(nlh, int(pending[i].id), int(pending[i].verdict));
      off += NLMSG_ALIGN(nlh->nlmsg_len);
      ++verdict_msgs;
    }
    if (mnl_socket_sendto(s.nl(), sendbuf.data(), off) < 0)
      error(std::string("sending verdicts: ") + strerror(errno));
    pending.clear();
  }

  // Reads what is waiting on the main socket, at most `rounds` recvmmsg calls. Returns false
  // when the socket is empty.
  bool drain_main(int rounds) {
    for (int r = 0; r < rounds; ++r) {
      for (unsigned i = 0; i < kBatch; ++i) {
        iov[i] = {bufs[i].data(), bufs[i].size()};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      int n = recvmmsg(main.fd(), msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
      if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) error(std::string("recvmmsg: ") + strerror(errno));
        return false;
      }
      begin_batch();
      for (int i = 0; i < n; ++i) {
        if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
          error("a queued packet message did not fit the receive buffer");
          continue;
        }
        on_datagram(bufs[i].data(), msgs[i].msg_len, false);
      }
      send_verdicts(main);
      if (unsigned(n) < kBatch) return false;
    }
    return true;
  }

  bool drain_whole(int rounds) {
    for (int r = 0; r < rounds; ++r) {
      ssize_t n = recv(whole.fd(), whole_buf.data(), whole_buf.size(), MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0) {
        if (errno != EAGAIN && errno != EINTR) error(std::string("recv: ") + strerror(errno));
        return false;
      }
      if (size_t(n) > whole_buf.size()) {
        error("a whole-packet message did not fit the receive buffer");
        continue;
      }
      begin_batch();
      on_datagram(whole_buf.data(), size_t(n), true);
      send_verdicts(whole);
    }
    return true;
  }

  void flush_counters() {
    bool any = false;
    for (uint64_t v : local) any = any || v != 0;
    if (!any) return;
    sink.add(local);
    local.fill(0);
  }

  void run() {
    auto next_flush = std::chrono::steady_clock::now() + kFlushEvery;
    for (;;) {
      pollfd p[3] = {{main.fd(), POLLIN, 0}, {whole.fd(), POLLIN, 0}, {wake_fd, POLLIN, 0}};
      auto now = std::chrono::steady_clock::now();
      int timeout = int(std::chrono::duration_cast<std::chrono::milliseconds>(
                            next_flush > now ? next_flush - now : kFlushEvery * 0)
                            .count());
      int n = poll(p, 3, timeout);
      if (n < 0 && errno != EINTR) error(std::string("poll: ") + strerror(errno));
      if (n > 0 && p[2].revents) break;
      if (n > 0 && p[0].revents) drain_main(16);
      if (n > 0 && p[1].revents) drain_whole(16);
      if (std::chrono::steady_clock::now() >= next_flush) {
        flush_counters();
        next_flush = std::chrono::steady_clock::now() + kFlushEvery;
      }
    }
    // Stopping (the rules are already gone): judge whatever is still queued, so closing the
    // sockets does not drop it.
    for (int i = 0; i < 64; ++i) {
      bool more_main = drain_main(64);
      bool more_whole = drain_whole(64);  // after main: requeues from it land here at once
      if (!more_main && !more_whole) break;
    }
    flush_counters();
  }
};

Worker::Worker(const WorkerConfig &cfg, const LiveMaps &maps, CounterSink &sink)
    : impl_(std::make_unique<Impl>(cfg, maps, sink)) {}

Worker::~Worker() {
  stop();
}

void Worker::start() {
  impl_->thread = std::thread([this] { impl_->run(); });
}

void Worker::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  if (impl_->thread.joinable()) {
    uint64_t one = 1;
    if (write(impl_->wake_fd, &one, sizeof one) < 0) {
      // eventfd write cannot fail with a counter far from overflow
    }
    impl_->thread.join();
  }
}

WorkerStats Worker::stats() const {
  WorkerStats s;
  s.queue = impl_->cfg.queue;
  s.packets = impl_->packets;
  s.accepted = impl_->accepted;
  s.dropped = impl_->dropped;
  s.requeued = impl_->requeued;
  s.verdict_msgs = impl_->verdict_msgs;
  s.errors = impl_->errors;
  return s;
}

}  // namespace dnswash::nfqueue
