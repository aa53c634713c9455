#include "ban_store.h"

#include <sys/statvfs.h>

#include <cstring>
#include <filesystem>

#include "prefix_text.h"
#include "error.h"

namespace dnswash::banstore {

namespace {

// Virtual address space reserved for the file, not disk: the file grows as pages are written.
// 250,000 bans with their names take about 60 MB.
constexpr size_t kMapBytes = size_t(4) << 30;

std::string lmdb_text(const std::string &what, int rc) {
  return what + ": " + mdb_strerror(rc);
}

class Txn {
 public:
  Txn(MDB_env *env, unsigned flags) {
    if (int rc = mdb_txn_begin(env, nullptr, flags, &t_)) {
      t_ = nullptr;
      rc_ = rc;
    }
  }
  ~Txn() {
    if (t_) mdb_txn_abort(t_);
  }
  int rc() const { return rc_; }
  MDB_txn *get() { return t_; }
  int commit() {
    int rc = mdb_txn_commit(t_);
    t_ = nullptr;  // aborted by LMDB on failure
    return rc;
  }

 private:
  MDB_txn *t_ = nullptr;
  int rc_ = 0;
};

MDB_val val_of(std::string_view s) {
  return {s.size(), const_cast<char *>(s.data())};
}
std::string_view view_of(const MDB_val &v) {
  return {static_cast<const char *>(v.mv_data), v.mv_size};
}

}  // namespace

std::string BanStore::with_space(const std::string &err) const {
  // LMDB reports a short write as EIO: say how much room the filesystem has, which is the
  // usual cause.
  struct statvfs st;
  std::string dir = std::filesystem::path(path_).parent_path().string();
  if (statvfs(dir.empty() ? "." : dir.c_str(), &st) != 0) return err;
  return err + " (" + std::to_string(uint64_t(st.f_bavail) * st.f_frsize / 1024) +
         " KiB free on the filesystem)";
}

BanStore::BanStore(std::string path) : path_(std::move(path)) {
  try {
    open();
  } catch (const std::exception &e) {
    open_error_ = e.what();
  }
}

BanStore::~BanStore() {
  close();
}

void BanStore::open() {
  if (int rc = mdb_env_create(&env_)) throw Error(lmdb_text("ban store " + path_, rc));
  mdb_env_set_maxdbs(env_, 4);
  mdb_env_set_mapsize(env_, kMapBytes);
  // MDB_NOSUBDIR: one file named by the path. MDB_NOLOCK: no lock file, because one dnswashd
  // per interface is the only user (its control socket is the lock) and the mutex here
  // serialises its threads; and because LMDB maps the lock file after growing it, which on a
  // full filesystem is a SIGBUS, not an error.
  if (int rc = mdb_env_open(env_, path_.c_str(), MDB_NOSUBDIR | MDB_NOLOCK, 0600)) {
    mdb_env_close(env_);
    env_ = nullptr;
    throw Error(lmdb_text("opening the ban store " + path_, rc));
  }
  Txn t(env_, 0);
  int rc = t.rc();
  if (!rc) rc = mdb_dbi_open(t.get(), "bans", MDB_CREATE, &bans_);
  if (!rc) rc = mdb_dbi_open(t.get(), "skipped", MDB_CREATE, &skipped_);
  if (!rc) rc = t.commit();
  if (rc) {
    close();
    throw Error(lmdb_text("opening the ban store " + path_, rc));
  }
}

void BanStore::close() {
  if (env_) mdb_env_close(env_);
  env_ = nullptr;
}

std::vector<BanEntry> BanStore::load(std::vector<Skipped> *skipped) {
  std::lock_guard lock(mu_);
  std::vector<BanEntry> out;
  std::vector<std::pair<std::string, std::string>> bad;  // raw key, raw value
  if (!env_) open();
  {
    Txn t(env_, MDB_RDONLY);
    if (t.rc()) throw Error(lmdb_text("reading the ban store " + path_, t.rc()));
    MDB_cursor *c = nullptr;
    if (int rc = mdb_cursor_open(t.get(), bans_, &c))
      throw Error(lmdb_text("reading the ban store " + path_, rc));
    MDB_val k, v;
    for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      std::string why;
      if (auto e = decode_entry(view_of(k), view_of(v), &why)) {
        out.push_back(std::move(*e));
        continue;
      }
      std::string name;
      if (k.mv_size == sizeof(dw_ban_key)) {
        dw_ban_key key;
        std::memcpy(&key, k.mv_data, sizeof key);
        name = key.prefixlen <= 128 ? ban_prefix_text(key)
                                    : "prefix length " + std::to_string(key.prefixlen);
      } else {
        name = "a key of " + std::to_string(k.mv_size) + " bytes";
      }
      skipped->push_back({name, why});
      bad.emplace_back(view_of(k), view_of(v));
    }
    mdb_cursor_close(c);
  }
  if (!bad.empty()) {
    // Kept, raw, for whoever wants to look; out of the way of the next start.
    Txn t(env_, 0);
    int rc = t.rc();
    for (auto &[k, v] : bad) {
      MDB_val kv = val_of(k), vv = val_of(v);
      if (!rc) rc = mdb_put(t.get(), skipped_, &kv, &vv, 0);
      if (!rc) rc = mdb_del(t.get(), bans_, &kv, nullptr);
    }
    if (!rc) rc = t.commit();
    if (rc) skipped->push_back({"(all of the above)", lmdb_text("not moved aside", rc)});
  }
  return out;
}

std::string BanStore::write(const std::vector<Change> &changes) {
  std::lock_guard lock(mu_);
  if (!env_) {
    try {
      open();
      open_error_.clear();
    } catch (const std::exception &e) {
      return with_space(e.what());
    }
  }
  Txn t(env_, 0);
  int rc = t.rc();
  std::string value;
  for (const Change &c : changes) {
    if (rc) break;
    MDB_val k = val_of(key_bytes(c.key));
    if (c.entry) {
      value = encode_entry(*c.entry);
      MDB_val v = val_of(value);
      rc = mdb_put(t.get(), bans_, &k, &v, 0);
    } else {
      rc = mdb_del(t.get(), bans_, &k, nullptr);
      if (rc == MDB_NOTFOUND) rc = 0;
    }
  }
  if (!rc) rc = t.commit();
  if (!rc) return "";
  std::string err = with_space(lmdb_text("writing the ban store " + path_, rc));
  // After a failed meta-page write LMDB refuses every later transaction (MDB_PANIC): reopen on
  // the next write, which rereads the last good meta page.
  if (rc == MDB_PANIC) close();
  return err;
}

size_t BanStore::count() {
  std::lock_guard lock(mu_);
  if (!env_) return 0;
  Txn t(env_, MDB_RDONLY);
  MDB_stat st{};
  if (t.rc() || mdb_stat(t.get(), bans_, &st)) return 0;
  return st.ms_entries;
}

}  // namespace dnswash::banstore
