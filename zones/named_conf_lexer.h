// Tokenizer for one named.conf file, matching BIND's isc_lex as libisccfg configures it:
// specials { } ; / " !, comments //, # and /* */ (also in the middle of an unquoted word),
// quoted strings that may span lines and keep every backslash except in \" , and no escapes
// in unquoted words. Quirks kept on purpose so we split tokens exactly where named does:
// a /* */ comment right after an unquoted word leaves its closing '/' to be read again.
#pragma once

#include <string>
#include <string_view>

namespace dnswash::zones {

enum class TokenKind { kWord, kQuoted, kSpecial, kEof };

struct Token {
  TokenKind kind = TokenKind::kEof;
  std::string text;  // the word, the quoted string's contents, or the special character
  int line = 0;
  int column = 0;
  int file = 0;  // index into the parser's file-name table; set by the parser, not the lexer

  bool is_special(char c) const { return kind == TokenKind::kSpecial && text[0] == c; }
  bool is_string() const { return kind == TokenKind::kWord || kind == TokenKind::kQuoted; }
  // Case-insensitive keyword test, as libisccfg compares clause names.
  bool is_keyword(std::string_view kw) const;
  std::string describe() const;  // for "expected X near Y" messages
};

// Thrown for malformed input at the character level.
struct LexError {
  int line;
  int column;
  std::string message;
};

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}
  Token next();
  // Skips the body of a bracketed-text block (dyndb, plugin) after its opening '{' was read:
  // braces nest, \{ and \} do not count, quotes and comments are not special.
  void skip_bracketed_text(int open_line, int open_column);

 private:
  bool at_end() const { return pos_ >= text_.size(); }
  char peek(size_t ahead = 0) const {
    return pos_ + ahead < text_.size() ? text_[pos_ + ahead] : '\0';
  }
  void advance();
  void skip_line();                        // up to, not including, the newline
  void skip_c_comment(int line, int col);  // after "/*", through "*/"
  Token quoted(int line, int col);

  std::string_view text_;
  size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
};

}  // namespace dnswash::zones
