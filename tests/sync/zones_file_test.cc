// The --zones-file format and --zone arguments.
#include <gtest/gtest.h>

#include "error.h"
#include "sync_harness.h"
#include "zones_file.h"

namespace dnswash::test {
namespace {

std::vector<std::string> texts(const std::vector<DnsName> &names) {
  std::vector<std::string> out;
  for (const auto &n : names) out.push_back(n.to_text());
  return out;
}

std::string error_of(const std::string &text) {
  try {
    parse_zones_text(text, "z.txt");
  } catch (const Error &e) {
    return e.what();
  }
  return "no error";
}

TEST(ZonesFile, NamesCommentsBlankLines) {
  EXPECT_EQ(texts(parse_zones_text("# header\n\nA.Example.\n  b.example\t# note\r\n"
                                   "c\\046d.example\n#x.example\nlast.example",
                                   "z.txt")),
            (std::vector<std::string>{"a.example", "b.example", "c\\.d.example", "last.example"}));
  EXPECT_TRUE(parse_zones_text("", "z.txt").empty());
}

TEST(ZonesFile, ErrorsNameFileLineColumn) {
  EXPECT_EQ(error_of("ok.example\n  bad..example\n"),
            "z.txt:2:3: invalid zone name 'bad..example': empty label in 'bad..example'");
  EXPECT_EQ(error_of("a.example b.example\n"),
            "z.txt:1:11: one zone name per line expected, found a second word 'b.example'");
  EXPECT_EQ(error_of("\n\n.\n").rfind("z.txt:3:1: the root zone '.' would allow every name", 0),
            0u);
  EXPECT_EQ(error_of(std::string(64, 'a') + ".example").rfind("z.txt:1:1: invalid zone name", 0),
            0u);
}

TEST(ZonesFile, ReadErrorsNameTheFile) {
  TempDir dir;
  try {
    read_zones_file(dir / "missing.txt");
    FAIL();
  } catch (const Error &e) {
    EXPECT_EQ(std::string(e.what()),
              dir / "missing.txt" + ": cannot open the zones file: No such file or directory");
  }
}

TEST(ZonesFile, ZoneArgument) {
  EXPECT_EQ(parse_zone_argument("Example.COM.").to_text(), "example.com");
  EXPECT_THROW(parse_zone_argument("."), Error);
  EXPECT_THROW(parse_zone_argument("a..b"), Error);
}

}  // namespace
}  // namespace dnswash::test
