// Keeps the kernel zone set equal to the union of the configured sources: named.conf (its
// includes, views and rndc addzone's NZF/NZD files), --zone names and --zones-file files.
// Re-reads on any change of a file it read (inotify on the directories, so rename-replace by
// editors is seen), on a new file matching an include glob, and on SIGHUP (the daemon calls
// resync()). A source that fails to read or parse leaves the kernel set untouched. Changes are
// debounced (100 ms of quiet, at most 500 ms after the first event of a burst), so a removed
// zone stops passing well within a second of the edit. See docs/zone-sync.md.
//
// The daemon owns the poll loop: it polls poll_fd() and calls on_ready() when it is readable.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "dns_name.h"
#include "runtime_source.h"

namespace dnswash {

struct ZoneSources {
  std::string named_conf;                // "" = no named.conf (only --zone/--zones-file)
  std::string chroot;                    // named -t DIR; "" = none
  std::vector<std::string> zones;        // --zone NAME (repeatable)
  std::vector<std::string> zones_files;  // --zones-file FILE: one name per line, # comments
  // Running servers that list the zones they serve (named's statistics channel, knotc,
  // nsd-control), read every runtime_interval on their own threads (docs/zone-sources.md).
  std::vector<std::shared_ptr<RuntimeSource>> runtime;
  std::chrono::milliseconds runtime_interval{1000};
  // Also read named's statistics channel when named.conf declares one (the first `inet`
  // entry of statistics-channels) and `runtime` has no named-stats source.
  bool named_stats_from_conf = false;
  // A runtime read that lists more than this share of the source's zones fewer than the read
  // before (and more than one zone) is applied only when the next read shows the same set:
  // a server restarting and still loading must not empty the allowlist.
  double max_drop_share = 0.1;
  // ... and only when that second read comes at least this long after the first: a server
  // that restarts lists its static zones first and its catalog members a moment later.
  std::chrono::milliseconds drop_confirm{2000};
};

struct RuntimeSourceStatus {
  std::string name;   // "named-stats", "knot", "nsd"
  std::string where;  // URL or command
  size_t zones = 0;   // in the set last accepted from it
  uint64_t reads_ok = 0;
  uint64_t reads_failed = 0;
  bool failing = false;     // the last read failed: its last accepted set is kept
  std::string last_error;   // of the last failed read
  uint64_t drops_held = 0;  // reads held back as too large a drop (see max_drop_share)
  bool drop_held = false;   // the last read is such a drop, waiting to be seen again
  int64_t last_read_us = 0;
};

struct SyncStatus {
  uint64_t syncs_ok = 0;
  uint64_t syncs_failed = 0;         // read/parse/apply failures ("sync errors" in stats)
  std::string last_error;            // "file:line:column: message" of the last failure, or ""
  size_t zones = 0;                  // zones in the kernel set after the last good sync
  bool uses_source_port_53 = false;  // from named.conf: the QR=1 flag the datapath gets
  std::vector<std::string> protected_addresses;  // never-ban addresses found in named.conf
  int64_t last_ok_unix_ms = 0;
  // The last attempt failed: the kernel holds the set of an older configuration.
  bool failing = false;
  uint64_t applies = 0;              // good syncs that changed the set (or were forced) and applied
  uint64_t rereads = 0;              // extra reads because a sync added watches (see docs)
  size_t last_added = 0;             // zones added by the last apply
  size_t last_removed = 0;           // zones removed by the last apply
  int64_t last_read_us = 0;          // reading and parsing all sources, last good sync
  int64_t last_apply_us = 0;         // the apply callback, last sync that applied
  std::vector<std::string> watched;  // directories watched now
  std::vector<RuntimeSourceStatus> runtime;
  // Zones per source in the last good sync ("named.conf", "zone", "zones-file", and the
  // runtime sources' names); a zone in several counts in each.
  std::vector<std::pair<std::string, size_t>> zones_by_source;
};

class ZoneSync {
 public:
  // apply(desired) makes the kernel set equal to `desired` without a window for unchanged
  // zones (ZoneTable::apply); it throws dnswash::Error on failure. on_flags(port53) is called
  // after each good sync so the daemon can set DW_CFG_ALLOW_RESPONSES.
  using ApplyFn = std::function<void(const std::vector<DnsName> &)>;
  using FlagsFn = std::function<void(bool uses_source_port_53)>;

  ZoneSync(ZoneSources sources, ApplyFn apply, FlagsFn on_flags);
  ~ZoneSync();
  ZoneSync(const ZoneSync &) = delete;
  ZoneSync &operator=(const ZoneSync &) = delete;

  // First load at daemon start. Throws dnswash::Error (message names file:line:column) when a
  // source cannot be read or parsed: the daemon refuses to start with a broken config.
  void initial_sync();

  // Re-reads every source now (SIGHUP, `dnswashctl` request) and applies the result even if
  // it looks unchanged. Never throws: a failure is logged, counted in status() and leaves the
  // kernel set as it was. Returns true on success.
  bool resync(const std::string &why);

  // One pollable fd (epoll over the inotify fd and a short debounce timer). Readable when
  // on_ready() has work to do.
  int poll_fd() const;
  void on_ready();

  const SyncStatus &status() const;

  // The sources that list `zone` in the last good sync (named.conf, zone, zones-file,
  // named-stats, knot, nsd), for `dnswashctl zones list --json`.
  std::vector<std::string> sources_of(const DnsName &zone) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// For a daemon with very many zones (~1M): memory freed after a sync stays in the process
// (glibc neither trims it nor gives large blocks their own mmap), so the next sync reuses it
// instead of faulting in ~250 MB of fresh pages again; each page fault is costly in a VM.
// Measured here at 1M zones: re-reading named.conf 1.6 s -> 0.7 s CPU. The price: resident
// memory stays at the sync's peak. Process-wide (mallopt); call once at start, before loading.
void keep_sync_memory_resident();

}  // namespace dnswash
