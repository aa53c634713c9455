#include "named_conf_lexer.h"

#include <strings.h>

#include <cstdint>

namespace dnswash::zones {

namespace {

bool is_special(char c) {
  return c == '{' || c == '}' || c == ';' || c == '/' || c == '"' || c == '!';
}
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}
// A table, not a chain of compares: the lexer sees every byte of a 70 MB configuration.
struct WordEnds {
  bool table[256] = {};
  constexpr WordEnds() {
    for (char c : {' ', '\t', '\r', '\n', '#', '{', '}', ';', '/', '"', '!'})
      table[uint8_t(c)] = true;
  }
};
constexpr WordEnds kWordEnds;
bool ends_word(char c) {
  return kWordEnds.table[uint8_t(c)];
}

// isc_lex keeps a NUL like any other byte of a word or a quoted string, but libisccfg then
// reads the token as a C string: everything from the first NUL on is gone ("prim\0ary" is
// "prim", "\0zone" is ""). named-checkconf 9.18 behaves so on files written with NULs.
void cut_at_nul(std::string &s) {
  size_t nul = s.find('\0');
  if (nul != std::string::npos) s.resize(nul);
}

}  // namespace

bool Token::is_keyword(std::string_view kw) const {
  return kind == TokenKind::kWord && text.size() == kw.size() &&
         strncasecmp(text.data(), kw.data(), kw.size()) == 0;
}

std::string Token::describe() const {
  if (kind == TokenKind::kEof) return "end of file";
  // Appended rather than `"'" + text.substr(0, 40) + "'"`: GCC 12 at -O3 (Release) reports a
  // bogus -Wrestrict overlap inside the inlined operator+(const char *, string &&).
  const std::string_view quote = kind == TokenKind::kQuoted ? "\"" : "";
  std::string d = "'";
  d.append(quote).append(std::string_view(text).substr(0, 40)).append(quote).append("'");
  return d;
}

void Lexer::advance() {
  if (text_[pos_] == '\n') {
    ++line_;
    column_ = 1;
  } else {
    ++column_;
  }
  ++pos_;
}

void Lexer::skip_line() {
  while (!at_end() && peek() != '\n') advance();
}

void Lexer::skip_c_comment(int line, int col) {
  while (true) {
    if (at_end()) throw LexError{line, col, "unexpected end of input in /* comment"};
    if (peek() == '*' && peek(1) == '/') {
      advance();
      advance();
      return;
    }
    advance();
  }
}

Token Lexer::quoted(int line, int col) {
  advance();  // opening quote
  // Fast path: up to the closing quote there is no backslash or newline.
  size_t close = text_.find('"', pos_);
  if (close != std::string_view::npos &&
      text_.substr(pos_, close - pos_).find_first_of("\\\n") == std::string_view::npos) {
    std::string fast(text_.substr(pos_, close - pos_));
    column_ += int(close - pos_) + 1;
    pos_ = close + 1;
    cut_at_nul(fast);
    return Token{TokenKind::kQuoted, std::move(fast), line, col};
  }
  std::string out;
  bool escaped = false;
  while (true) {
    if (at_end()) throw LexError{line, col, "unterminated quoted string"};
    char c = peek();
    advance();
    if (c == '"') {
      if (!escaped) break;
      out.back() = '"';  // \" is the only escape isc_lex removes from quoted strings
      escaped = false;
      continue;
    }
    escaped = (c == '\\' && !escaped);
    out += c;
  }
  cut_at_nul(out);
  return Token{TokenKind::kQuoted, std::move(out), line, col};
}

Token Lexer::next() {
  while (true) {
    while (!at_end() && is_space(peek())) advance();
    if (at_end()) return Token{TokenKind::kEof, "", line_, column_};
    int line = line_, col = column_;
    char c = peek();
    if (c == '#' || (c == '/' && peek(1) == '/')) {
      skip_line();
      continue;
    }
    if (c == '/' && peek(1) == '*') {
      advance();
      advance();
      skip_c_comment(line, col);
      continue;
    }
    if (c == '"') return quoted(line, col);
    if (is_special(c)) {
      advance();
      return Token{TokenKind::kSpecial, std::string(1, c), line, col};
    }
    // A word runs to a space, comment or special ('/' is one, so "//" and "/*" end it too).
    // Words never hold a newline: take the whole run at once.
    size_t end = pos_;
    while (end < text_.size() && !ends_word(text_[end])) ++end;
    std::string word(text_.substr(pos_, end - pos_));
    cut_at_nul(word);
    column_ += int(end - pos_);
    pos_ = end;
    if (!at_end()) {
      c = peek();
      if (c == '#' || (c == '/' && peek(1) == '/')) {
        skip_line();  // a comment ends the word
      } else if (c == '/' && peek(1) == '*') {
        int cl = line_, cc = column_;
        advance();
        advance();
        skip_c_comment(cl, cc);
        // isc_lex pushes back the last byte it read, the comment's closing '/', not the space
        // the comment stands for: that '/' is read again as the next token.
        --pos_;
        --column_;
      }
    }
    return Token{TokenKind::kWord, std::move(word), line, col};
  }
}

void Lexer::skip_bracketed_text(int open_line, int open_column) {
  // Comments are not recognized here either: named counts a '}' inside "# ... }".
  int depth = 1;
  bool escaped = false;
  while (true) {
    if (at_end()) throw LexError{open_line, open_column, "unbalanced '{' in bracketed text"};
    char c = peek();
    advance();
    if (c == '{' && !escaped) ++depth;
    if (c == '}' && !escaped && --depth == 0) return;
    escaped = (c == '\\' && !escaped);
  }
}

}  // namespace dnswash::zones
