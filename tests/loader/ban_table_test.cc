// ban_put_all (loader/ban_table.h): every entry of a large batch lands in a real LPM ban map,
// and an entry the kernel refuses is named by its index while the rest of its chunk and the
// chunks after it still go in. Needs root (BPF maps); fails without it.
#include <bpf/bpf.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "ban_table.h"

namespace {

struct Map {
  int fd;
  Map() {
    LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_NO_PREALLOC);
    fd = bpf_map_create(BPF_MAP_TYPE_LPM_TRIE, "test_bans", sizeof(dw_ban_key), sizeof(dw_ban_val),
                        DW_BANS_MAX, &o);
  }
  ~Map() {
    if (fd >= 0) close(fd);
  }
};

dw_ban_key key_n(uint32_t i) {
  dw_ban_key k{};
  k.prefixlen = 128;
  k.addr[0] = 0x20;
  k.addr[1] = 0x01;
  k.addr[2] = 0x0d;
  k.addr[3] = 0xb8;
  k.addr[12] = uint8_t(i >> 24);
  k.addr[13] = uint8_t(i >> 16);
  k.addr[14] = uint8_t(i >> 8);
  k.addr[15] = uint8_t(i);
  return k;
}

// What ban_put_all counts on for speed: the kernel has batch updates for the LPM trie (6.1 and
// 6.18 do; the kernel matrix runs this on both). Without them it still works, one by one.
TEST(BanPutAll, TheKernelUpdatesTheBanMapInBatches) {
  Map m;
  ASSERT_GE(m.fd, 0) << "bpf_map_create: " << errno << " (needs root)";
  dw_ban_key keys[2] = {key_n(1), key_n(2)};
  dw_ban_val vals[2] = {};
  __u32 count = 2;
  LIBBPF_OPTS(bpf_map_batch_opts, opts, .elem_flags = BPF_ANY);
  EXPECT_EQ(bpf_map_update_batch(m.fd, keys, vals, &count, &opts), 0) << "errno " << errno;
  EXPECT_EQ(count, 2u);
}

TEST(BanPutAll, EveryEntryOfSeveralChunksLands) {
  Map m;
  ASSERT_GE(m.fd, 0) << "bpf_map_create: " << errno << " (needs root)";
  const uint32_t n = 10000;  // more than two chunks
  std::vector<dw_ban_key> keys(n);
  std::vector<dw_ban_val> vals(n);
  for (uint32_t i = 0; i < n; ++i) {
    keys[i] = key_n(i);
    vals[i] = {1000 + i, DW_BAN_ORIGIN_OPERATOR, 0};
  }
  size_t errors = 0;
  EXPECT_EQ(dnswash::ban_put_all(m.fd, keys.data(), vals.data(), n,
                                 [&](size_t, const std::string &) { ++errors; }),
            n);
  EXPECT_EQ(errors, 0u);
  for (uint32_t i = 0; i < n; i += 997) {
    dw_ban_val v{};
    ASSERT_EQ(bpf_map_lookup_elem(m.fd, &keys[i], &v), 0) << i;
    EXPECT_EQ(v.expires_ns, 1000u + i);
  }
}

TEST(BanPutAll, ARefusedEntryIsNamedAndTheRestGoIn) {
  Map m;
  ASSERT_GE(m.fd, 0) << "bpf_map_create: " << errno << " (needs root)";
  const uint32_t n = 9000;
  const size_t bad = 5000;  // in the second chunk
  std::vector<dw_ban_key> keys(n);
  std::vector<dw_ban_val> vals(n);
  for (uint32_t i = 0; i < n; ++i) {
    keys[i] = key_n(i);
    vals[i] = {1, DW_BAN_ORIGIN_OPERATOR, 0};
  }
  keys[bad].prefixlen = 129;  // longer than the trie's 128 bits: the kernel says EINVAL
  std::vector<size_t> failed;
  std::string why;
  size_t put =
      dnswash::ban_put_all(m.fd, keys.data(), vals.data(), n, [&](size_t i, const std::string &w) {
        failed.push_back(i);
        why = w;
      });
  EXPECT_EQ(put, n - 1);
  ASSERT_EQ(failed, std::vector<size_t>{bad});
  EXPECT_NE(why.find("adding ban"), std::string::npos) << why;
  for (uint32_t i : {0u, 4999u, 5001u, 8999u}) {
    dw_ban_val v{};
    EXPECT_EQ(bpf_map_lookup_elem(m.fd, &keys[i], &v), 0) << i;
  }
}

}  // namespace
