// The ban store: every ban and offense history in an LMDB file, one record per prefix, changed
// one record at a time (a ban-add writes its record, not the whole set). LMDB because it is
// already a dependency (BIND's NZD files), its commit is atomic and durable (data then meta
// page, each synced) with no log to replay, and a read of 250,000 records at start is a walk
// of a memory map.
//
// A record that fails its checks at load (ban_entry.h) is moved to the "skipped" table, raw,
// and named in the result: every valid record is kept, nothing is destroyed.
#pragma once

#include <lmdb.h>

#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "ban_entry.h"

namespace dnswash::banstore {

class BanStore {
 public:
  struct Skipped {
    std::string key;  // the prefix text, or the raw key's length when it is not a ban key
    std::string why;
  };
  struct Change {
    dw_ban_key key{};
    std::optional<BanEntry> entry;  // nullopt: delete the record
  };

  // Opens or creates the file `path`. A failure (a full or read-only filesystem) is kept in
  // open_error() and the open retried by each write().
  explicit BanStore(std::string path);
  ~BanStore();
  BanStore(const BanStore &) = delete;
  BanStore &operator=(const BanStore &) = delete;

  // Every valid record; each invalid one goes to *skipped and to the "skipped" table.
  // Throws Error when the store cannot be opened or read.
  std::vector<BanEntry> load(std::vector<Skipped> *skipped);
  // The changes in one transaction, durable when this returns "" (else the error; nothing of
  // the batch was written). Safe from one thread at a time.
  std::string write(const std::vector<Change> &changes);
  size_t count();  // records in the store
  const std::string &path() const { return path_; }
  const std::string &open_error() const { return open_error_; }

 private:
  void open();
  void close();
  std::string with_space(const std::string &err) const;
  std::mutex mu_;
  std::string path_;
  std::string open_error_;
  MDB_env *env_ = nullptr;
  MDB_dbi bans_ = 0, skipped_ = 0;
};

}  // namespace dnswash::banstore
