#include "dns_name.h"

#include <gtest/gtest.h>

using dnswash::parse_dns_name;

TEST(DnsName, FoldsCaseAndTrailingDot) {
  auto a = parse_dns_name("ExAmPlE.CoM.");
  auto b = parse_dns_name("example.com");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->to_text(), "example.com");
}

TEST(DnsName, Escapes) {
  auto n = parse_dns_name(R"(a\.b.c\065)");
  ASSERT_TRUE(n);
  ASSERT_EQ(n->labels.size(), 2u);
  EXPECT_EQ(n->labels[0], "a.b");
  EXPECT_EQ(n->labels[1], "ca");  // \065 is 'A', folded
  EXPECT_EQ(n->to_text(), R"(a\.b.ca)");
  EXPECT_EQ(parse_dns_name(R"(x\0)"), std::nullopt);
  EXPECT_EQ(parse_dns_name(R"(x\256)"), std::nullopt);
}

TEST(DnsName, Limits) {
  EXPECT_TRUE(parse_dns_name(std::string(63, 'a') + ".com"));
  EXPECT_FALSE(parse_dns_name(std::string(64, 'a') + ".com"));
  EXPECT_FALSE(parse_dns_name("a..b"));
  EXPECT_FALSE(parse_dns_name(""));
  EXPECT_TRUE(parse_dns_name(".")->is_root());
  std::string n;
  while (n.size() + 2 <= 253) n += "a.";
  n += "b";  // 127 labels: wire length 255
  auto ok = parse_dns_name(n);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->wire_length(), 255u);
  EXPECT_FALSE(parse_dns_name("c." + n));
}

TEST(DnsName, WireRoundTrip) {
  auto n = parse_dns_name("WWW.Example.org");
  auto w = n->to_wire();
  size_t used = 0;
  auto back = dnswash::parse_wire_name(w.data(), w.size(), &used);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, *n);
  EXPECT_EQ(used, w.size());
  const uint8_t ptr[] = {0xc0, 0x0c};
  EXPECT_FALSE(dnswash::parse_wire_name(ptr, 2));
}

TEST(DnsName, TextEscapesControlBytes) {
  dnswash::DnsName n{{std::string("a\x01\"b", 4), "c"}};
  EXPECT_EQ(n.to_text(), R"(a\001\"b.c)");
}
