// dnswash-bpf-verify: loads every program of each BPF object given, one program at a time, and
// prints one line per program: its name, the kernel release and verified_insns, or the reason
// it failed with the verifier's last lines. Exits 1 if any program fails to load or verifies
// at more than --max instructions. The kernel matrix (tests/kernel/) runs it in every guest;
// it also runs on the host (ctest kernel_verify_host).
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/utsname.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

std::string g_log;  // libbpf's messages while one program loads

int capture(enum libbpf_print_level level, const char *fmt, va_list ap) {
  if (level == LIBBPF_DEBUG) return 0;
  va_list again;
  va_copy(again, ap);
  int n = std::vsnprintf(nullptr, 0, fmt, again);
  va_end(again);
  if (n <= 0) return n;
  std::string buf(size_t(n) + 1, '\0');
  std::vsnprintf(buf.data(), buf.size(), fmt, ap);
  buf.resize(size_t(n));
  g_log += buf;
  return n;
}

// The last `n` lines of the verifier's log inside libbpf's message (libbpf reloads a failing
// program with the log on and prints it between these markers).
std::string verifier_tail(const std::string &log, size_t n) {
  std::string body = log;
  size_t b = log.find("-- BEGIN PROG LOAD LOG --");
  size_t e = log.find("-- END PROG LOAD LOG --");
  if (b != std::string::npos && e != std::string::npos && e > b)
    body = log.substr(b + 25, e - b - 25);
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    if (nl == std::string::npos) nl = body.size();
    if (nl > pos) lines.push_back(body.substr(pos, nl - pos));
    pos = nl + 1;
  }
  std::string out;
  for (size_t i = lines.size() > n ? lines.size() - n : 0; i < lines.size(); ++i)
    out += "    " + lines[i] + "\n";
  return out;
}

}  // namespace

int main(int argc, char **argv) {
  unsigned long max = 200000;
  std::vector<const char *> objs;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--max") && i + 1 < argc)
      max = std::strtoul(argv[++i], nullptr, 10);
    else
      objs.push_back(argv[i]);
  }
  if (objs.empty()) {
    std::fprintf(stderr, "usage: dnswash-bpf-verify [--max N] OBJECT.bpf.o...\n");
    return 2;
  }
  utsname u{};
  uname(&u);
  libbpf_set_print(capture);
  int failed = 0, programs = 0;
  for (const char *path : objs) {
    // The program names first, from an object opened only to list them.
    std::vector<std::string> names;
    if (bpf_object *o = bpf_object__open(path)) {
      bpf_program *p;
      bpf_object__for_each_program(p, o) names.push_back(bpf_program__name(p));
      bpf_object__close(o);
    } else {
      std::printf("FAIL object %s: cannot open\n", path);
      ++failed;
      continue;
    }
    for (const std::string &name : names) {
      ++programs;
      g_log.clear();
      bpf_object *o = bpf_object__open(path);
      bpf_program *p, *mine = nullptr;
      bpf_object__for_each_program(p, o) {
        bool me = name == bpf_program__name(p);
        bpf_program__set_autoload(p, me);
        if (me) mine = p;
      }
      int err = bpf_object__load(o);
      bpf_prog_info info{};
      uint32_t len = sizeof info;
      if (err == 0 && bpf_obj_get_info_by_fd(bpf_program__fd(mine), &info, &len) != 0) err = -errno;
      if (err != 0) {
        std::printf("FAIL prog %s kernel %s: load error %d (%s); verifier's last lines:\n%s",
                    name.c_str(), u.release, err, std::strerror(-err),
                    verifier_tail(g_log, 12).c_str());
        ++failed;
      } else if (info.verified_insns > max) {
        std::printf("FAIL prog %s kernel %s verified_insns %u > %lu\n", name.c_str(), u.release,
                    info.verified_insns, max);
        ++failed;
      } else {
        std::printf("ok   prog %s kernel %s verified_insns %u\n", name.c_str(), u.release,
                    info.verified_insns);
      }
      std::fflush(stdout);
      bpf_object__close(o);
    }
  }
  std::printf("%d programs, %d failed\n", programs, failed);
  return failed ? 1 : 0;
}
