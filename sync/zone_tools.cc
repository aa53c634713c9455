#include "zone_tools.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>

#include "error.h"

extern char **environ;

namespace dnswash {

namespace {

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return std::string(s.substr(b, e - b + 1));
}

DnsName name_or_throw(const std::string &text, const char *tool) {
  auto n = parse_dns_name(text);
  if (!n) throw Error(std::string(tool) + ": not a zone name: '" + text + "'");
  return std::move(*n);
}

}  // namespace

std::vector<DnsName> parse_knotc_zone_status(std::string_view text) {
  std::vector<DnsName> out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    std::string t = trim(line);
    if (t.empty()) continue;
    if (t.rfind("error:", 0) == 0) throw Error("knotc: " + t);
    if (t[0] != '[') continue;
    // The name is in brackets; knotc escapes ']' inside it as \093, so the first ']' ends it.
    size_t close = t.find(']');
    if (close == std::string::npos) throw Error("knotc: cut line: '" + t + "'");
    std::string rest = trim(std::string_view(t).substr(close + 1));
    if (rest.rfind("error:", 0) == 0) throw Error("knotc: " + t);
    out.push_back(name_or_throw(t.substr(1, close - 1), "knotc"));
  }
  normalize_runtime_zones(out);
  return out;
}

std::vector<DnsName> parse_nsd_zonestatus(std::string_view text) {
  std::vector<DnsName> out;
  std::istringstream in{std::string(text)};
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("error", 0) == 0) throw Error("nsd-control: " + trim(line));
    if (line.rfind("zone:", 0) != 0) continue;
    out.push_back(name_or_throw(trim(std::string_view(line).substr(5)), "nsd-control"));
  }
  normalize_runtime_zones(out);
  return out;
}

ToolResult run_tool(const std::vector<std::string> &argv, std::chrono::milliseconds timeout) {
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) throw Error(errno_text("pipe2", errno));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    throw Error(errno_text("pipe2", errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
  std::vector<char *> args;
  for (const auto &a : argv) args.push_back(const_cast<char *>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out_pipe[1]);
  close(err_pipe[1]);
  if (rc != 0) {
    close(out_pipe[0]);
    close(err_pipe[0]);
    throw Error(errno_text("cannot run " + argv[0], rc));
  }
  ToolResult r;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  int open_fds = 2;
  bool timed_out = false;
  char buf[65536];
  while (open_fds > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    if (poll(fds, 2, int(left.count())) < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        std::string &dst = i == 0 ? r.out : r.err;
        if (i == 0 || dst.size() < 4096) dst.append(buf, size_t(n));
      } else if (n == 0 || errno != EINTR) {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto &f : fds)
    if (f.fd >= 0) close(f.fd);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = !timed_out && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (timed_out) r.err = "timed out after " + std::to_string(timeout.count()) + " ms";
  return r;
}

namespace {

class ToolSource : public RuntimeSource {
 public:
  using Parse = std::vector<DnsName> (*)(std::string_view);
  ToolSource(std::string name, std::vector<std::string> argv, Parse parse)
      : name_(std::move(name)), argv_(std::move(argv)), parse_(parse) {}
  const std::string &name() const override { return name_; }
  std::string where() const override {
    std::string s;
    for (const auto &a : argv_) s += (s.empty() ? "" : " ") + a;
    return s;
  }
  std::vector<DnsName> read() override {
    ToolResult r = run_tool(argv_, std::chrono::milliseconds(10000));
    if (r.exit_code != 0) {
      std::string why = trim(r.err.empty() ? r.out.substr(0, 512) : r.err);
      throw Error(where() + ": exit " + std::to_string(r.exit_code) + (why.empty() ? "" : ": ") +
                  why);
    }
    return parse_(r.out);
  }

 private:
  std::string name_;
  std::vector<std::string> argv_;
  Parse parse_;
};

}  // namespace

std::unique_ptr<RuntimeSource> make_knot_source(std::string knotc, std::string socket) {
  std::vector<std::string> argv = {std::move(knotc)};
  if (!socket.empty()) argv.insert(argv.end(), {"-s", std::move(socket)});
  argv.push_back("zone-status");
  return std::make_unique<ToolSource>("knot", std::move(argv), parse_knotc_zone_status);
}

std::unique_ptr<RuntimeSource> make_nsd_source(std::string nsd_control, std::string config) {
  std::vector<std::string> argv = {std::move(nsd_control)};
  if (!config.empty()) argv.insert(argv.end(), {"-c", std::move(config)});
  argv.push_back("zonestatus");
  return std::make_unique<ToolSource>("nsd", std::move(argv), parse_nsd_zonestatus);
}

}  // namespace dnswash
