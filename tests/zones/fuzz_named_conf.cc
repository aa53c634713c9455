// libFuzzer target for the named.conf reader. The input is split at lines "%%%" into files of
// an in-memory file system: part 0 is /etc/named.conf, part i is /etc/inc<i>.conf, and part 2
// doubles as /etc/_default.nzf, so include, glob, directory and rndc addzone paths are all
// reachable without touching the disk. Any ParseError is fine; crashes, sanitizer reports,
// hangs and leaks are not.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "named_conf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string input(reinterpret_cast<const char *>(data), size);
  auto fs = std::make_shared<dnswash::zones::MemoryFileSystem>();
  std::string main_text;
  size_t start = 0;
  for (int part = 0;; ++part) {
    size_t sep = input.find("\n%%%\n", start);
    std::string text =
        input.substr(start, sep == std::string::npos ? std::string::npos : sep - start);
    if (part == 0)
      main_text = text;
    else
      fs->files["/etc/inc" + std::to_string(part) + ".conf"] = text;
    if (part == 2) fs->files["/etc/_default.nzf"] = text;
    if (sep == std::string::npos) break;
    start = sep + 5;
  }
  fs->files["/etc/named.conf"] = main_text;
  fs->files["/etc/d/zones.conf"] = "zone \"d.example\" { type primary; file \"d\"; };\n";
  fs->nzds["/etc/_default.nzd"] = {
      {"nzd.example", "{ type secondary; primaries { 192.0.2.1; }; }"}};

  dnswash::zones::ParseOptions opt;
  opt.path = "/etc/named.conf";
  opt.cwd = "/etc";
  opt.fs = fs;
  try {
    auto result = dnswash::zones::parse_named_conf_text(main_text, opt);
    for (const auto &name : dnswash::zones::allowlist(result)) (void)name.to_text();
  } catch (const dnswash::zones::ParseError &e) {
    (void)e.what();
  }
  return 0;
}
