// Token boundaries as BIND's isc_lex draws them (checked against named-checkconf 9.18).
#include "named_conf_lexer.h"

#include <gtest/gtest.h>

using namespace dnswash::zones;

namespace {

std::vector<std::string> tokens(const std::string &text) {
  Lexer lex(text);
  std::vector<std::string> out;
  for (Token t = lex.next(); t.kind != TokenKind::kEof; t = lex.next())
    out.push_back(t.kind == TokenKind::kQuoted ? "\"" + t.text + "\"" : t.text);
  return out;
}

using V = std::vector<std::string>;

TEST(Lexer, SpecialsSplitWords) {
  EXPECT_EQ(tokens("zone x{type primary;};"),
            (V{"zone", "x", "{", "type", "primary", ";", "}", ";"}));
  EXPECT_EQ(tokens("10.0.0.0/8 !a"), (V{"10.0.0.0", "/", "8", "!", "a"}));
}

TEST(Lexer, CommentsInEveryStyle) {
  EXPECT_EQ(tokens("a # x\nb // y\nc /* z\n */ d"), (V{"a", "b", "c", "d"}));
  EXPECT_EQ(tokens("a#x\nb//y\nc"), (V{"a", "b", "c"}));  // a comment ends a word
  EXPECT_EQ(tokens("/**/a /* { */ b"), (V{"a", "b"}));
}

TEST(Lexer, CommentRightAfterWordLeavesSlash) {
  // isc_lex pushes back the comment's closing '/', which is then read as a token.
  EXPECT_EQ(tokens("x/*c*/{"), (V{"x", "/", "{"}));
  EXPECT_EQ(tokens("x/*c*//y\nz"), (V{"x", "z"}));  // ...or starts a // comment
}

TEST(Lexer, QuotedStrings) {
  EXPECT_EQ(tokens(R"("a # b // c /* d */")"), (V{"\"a # b // c /* d */\""}));
  EXPECT_EQ(tokens(R"("a\"b")"), (V{"\"a\"b\""}));            // only \" loses its backslash
  EXPECT_EQ(tokens(R"("a\.b\065")"), (V{"\"a\\.b\\065\""}));  // name escapes stay
  EXPECT_EQ(tokens("\"a\nb\""), (V{"\"a\nb\""}));             // may span lines
  EXPECT_EQ(tokens(R"(x"y"z)"), (V{"x", "\"y\"", "z"}));
  EXPECT_EQ(tokens(R"(a\;b)"), (V{"a\\", ";", "b"}));  // no escapes outside quotes
}

TEST(Lexer, PositionsAreOneBased) {
  Lexer lex("a\n  \"b\"");
  Token a = lex.next(), b = lex.next();
  EXPECT_EQ(a.line, 1);
  EXPECT_EQ(a.column, 1);
  EXPECT_EQ(b.line, 2);
  EXPECT_EQ(b.column, 3);
}

// named 9.18 keeps a NUL inside a word or quoted string, then reads the token as a C string.
TEST(Lexer, NulCutsTheToken) {
  EXPECT_EQ(tokens(std::string("a\0b c", 5)), (V{"a", "c"}));
  EXPECT_EQ(tokens(std::string("\"x\0y\" z", 8)), (V{"\"x\"", "z"}));
  EXPECT_EQ(tokens(std::string("\"x\0\\\"y\";", 8)),
            (V{"\"x\"", ";"}));  // \" after it still escapes
  EXPECT_EQ(tokens(std::string("k;\0z", 5)), (V{"k", ";", ""}));
  EXPECT_EQ(tokens(std::string("# c\0omment\nw", 13)), (V{"w"}));
}

TEST(Lexer, Errors) {
  EXPECT_THROW(tokens("a /* never closed"), LexError);
  EXPECT_THROW(tokens("a x/* never closed"), LexError);
  EXPECT_THROW(tokens("\"never closed"), LexError);
  try {
    tokens("a\n  \"open");
    FAIL();
  } catch (const LexError &e) {
    EXPECT_EQ(e.line, 2);
    EXPECT_EQ(e.column, 3);
  }
}

TEST(Lexer, BracketedText) {
  Lexer lex("{ a \\} { \"}\" # }\n x; } ; after");
  Token open = lex.next();
  ASSERT_TRUE(open.is_special('{'));
  // Braces count even in quotes and comments; only \{ and \} are skipped.
  lex.skip_bracketed_text(open.line, open.column);
  EXPECT_EQ(lex.next().text, "x");  // the "# }" closed the block
  Lexer bad("{ a");
  bad.next();
  EXPECT_THROW(bad.skip_bracketed_text(1, 1), LexError);
}

}  // namespace
