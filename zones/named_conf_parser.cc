// The statement level of the named.conf reader. It follows libisccfg where it matters for
// which zones named loads: include splices the included files' tokens into the stream (so an
// included file may even close a block its includer opened), glob matches are pushed on a
// stack and so read last-first, `directory` changes the directory later relative includes
// resolve against. Statements and clauses we do not need are skipped as balanced blocks.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <climits>
#include <map>
#include <memory>
#include <set>
#include <string_view>

#include "named_conf.h"
#include "named_conf_addr.h"
#include "named_conf_lexer.h"
#include "name_order.h"
#include "new_zones.h"
#include "zone_index.h"

namespace dnswash::zones {

namespace {

// Bounds that keep hostile input from exhausting memory or time. named itself stops at
// "too many open files"; these are far above anything a real configuration needs.
constexpr size_t kMaxIncludeDepth = 64;
constexpr size_t kMaxFilesOpened = 10000;
constexpr size_t kMaxBytesRead = size_t(512) << 20;
constexpr int kMaxNesting = 200;

// Zone types named knows, by canonical name (master and slave are the old spellings).
const char *const kCanonicalTypes[] = {"primary", "secondary", "mirror",
                                       "hint",    "stub",      "static-stub",
                                       "forward", "redirect",  "delegation-only"};
constexpr uint8_t kTypePrimary = 0, kTypeSecondary = 1, kTypeHint = 3, kTypeForward = 6,
                  kTypeRedirect = 7;

// named keeps hint and redirect zones outside the view's zone table (the root hints and the
// NXDOMAIN redirect are their own objects), and named-checkconf checks duplicates in three
// name spaces accordingly: `zone "." { type hint; }` beside `type mirror` or `type primary`
// for "." (RFC 8806's local root) or beside `type redirect` is valid; two hints are not.
int name_space(uint8_t type) {
  return type == kTypeHint ? 1 : type == kTypeRedirect ? 2 : 3;
}

std::optional<uint8_t> parse_zone_type(const std::string &lowered) {
  if (lowered == "master") return kTypePrimary;
  if (lowered == "slave") return kTypeSecondary;
  for (uint8_t i = 0; i < std::size(kCanonicalTypes); ++i)
    if (lowered == kCanonicalTypes[i]) return i;
  return std::nullopt;
}

// Clauses whose value says which source address and port named sends from.
const std::set<std::string> kSourceClauses = {
    "query-source",    "query-source-v6",    "notify-source",       "notify-source-v6",
    "transfer-source", "transfer-source-v6", "alt-transfer-source", "alt-transfer-source-v6",
    "parental-source", "parental-source-v6"};

// Clauses whose address lists name the hosts named exchanges zone data with.
const std::set<std::string> kAddressClauses = {"primaries",      "masters",        "also-notify",
                                               "allow-transfer", "allow-update",   "allow-notify",
                                               "remote-servers", "parental-agents"};

std::string lower(std::string s) {
  for (char &c : s) c = ascii_lower(c);
  return s;
}

// IN, CH, HS or CLASSnnn as dns_rdataclass_fromtext reads them; nullopt if invalid or a
// meta-class (NONE, ANY, reserved 0), which named refuses for views and zones.
std::optional<std::string> parse_class(const std::string &text) {
  std::string t = lower(text);
  unsigned long value = 0;
  if (t == "in")
    value = 1;
  else if (t == "ch" || t == "chaos")
    value = 3;
  else if (t == "hs" || t == "hesiod")
    value = 4;
  else if (t == "none" || t == "any" || t == "reserved0")
    return std::nullopt;
  else if (t.size() > 5 && t.size() <= 15 && t.compare(0, 5, "class") == 0) {
    for (size_t i = 5; i < t.size(); ++i) {
      if (t[i] < '0' || t[i] > '9') return std::nullopt;
      value = value * 10 + unsigned(t[i] - '0');
    }
    if (value > 65535) return std::nullopt;
  } else {
    return std::nullopt;
  }
  switch (value) {
    case 0:
    case 254:
    case 255:
      return std::nullopt;
    case 1:
      return "IN";
    case 3:
      return "CH";
    case 4:
      return "HS";
    default:
      return "CLASS" + std::to_string(value);
  }
}

std::optional<bool> parse_boolean(const std::string &text) {
  std::string t = lower(text);
  if (t == "yes" || t == "true" || t == "1") return true;
  if (t == "no" || t == "false" || t == "0") return false;
  return std::nullopt;
}

// The part of a glob pattern's directory without wildcards: what to watch for new files.
std::string glob_base_dir(const std::string &pattern) {
  size_t wild = pattern.find_first_of("*?[");
  std::string fixed = wild == std::string::npos ? pattern : pattern.substr(0, wild);
  return dirname_of(fixed + "x");
}

struct ViewInfo {
  std::string name;
  std::string zone_class = "IN";
  Location where;
  std::optional<bool> allow_new_zones;
  std::optional<std::string> new_zones_directory;
  bool complete = false;  // in-view may only refer to views defined before
};

// A zone statement as the parser keeps it while reading: compact and without an allocation of
// its own, so a million zones cost ~50 MB, not the ~500 MB of a million Zone objects. The
// Zone list is built from these at the end (only when ParseOptions::zone_details is set).
struct ZoneRec {
  const ViewInfo *view;    // views live in unique_ptrs for the whole parse
  uint32_t name_off;       // wire form in Parser::names_
  uint32_t details;        // index in Parser::details_ (zone_details only)
  int file, line, column;  // where the statement starts (file indexes Parser::files_)
  uint16_t name_len;
  uint8_t type;   // index in kCanonicalTypes
  uint8_t space;  // name space for duplicates: name_space(type), 3 for an in-view zone
  ZoneOrigin origin;
};

struct ZoneDetails {
  std::string name_text, file, in_view;
};

struct Source {
  std::unique_ptr<std::string> text;  // owned here; the lexer views it
  Lexer lexer;
  int file;                      // index into Parser::files_
  std::string path;              // absolute, for loop detection
  std::optional<size_t> parent;  // index of the including source on the stack
};

class Parser {
 public:
  Parser(const ParseOptions &options, FileSystem &fs) : options_(options), fs_(fs) {
    if (!options.cwd.empty()) {
      cwd_ = join_path("/", options.cwd);
    } else if (!options.chroot.empty()) {
      cwd_ = "/";
    } else {
      char buf[PATH_MAX];
      cwd_ = getcwd(buf, sizeof buf) ? buf : "/";
    }
  }

  ParseResult run(const std::optional<std::string> &text) {
    std::string path = join_path(cwd_, options_.path);
    if (text) {
      push_source(options_.path, path, *text, std::nullopt);
    } else {
      std::string error;
      watched_.insert(fs_.host_path(path));  // also when missing: its creation matters
      auto content = fs_.read_file(path, &error);
      if (!content) throw ParseError({options_.path, 0, 0}, "open: " + error);
      push_source(options_.path, path, std::move(*content), std::nullopt);
    }
    parse_top_level();
    check_top_level_zones();
    if (options_.read_new_zones) read_new_zones();
    return finish();
  }

  std::vector<std::string> watched_paths() const { return {watched_.begin(), watched_.end()}; }

 private:
  // ---- token stream over the stack of open files ----

  void push_source(const std::string &display, const std::string &path, std::string text,
                   std::optional<size_t> parent) {
    if (++files_opened_ > kMaxFilesOpened || (bytes_read_ += text.size()) > kMaxBytesRead)
      throw ParseError({display, 0, 0}, "too many or too large included files");
    files_.push_back(display);
    reserve_for(text.size());
    auto owned = std::make_unique<std::string>(std::move(text));
    Lexer lexer(*owned);
    stack_.push_back(Source{std::move(owned), lexer, int(files_.size() - 1), path, parent});
  }

  Token next() {
    if (pending_) {
      Token t = std::move(*pending_);
      pending_.reset();
      return t;
    }
    while (true) {
      Source &src = stack_.back();
      Token t;
      try {
        t = src.lexer.next();
      } catch (const LexError &e) {
        throw ParseError({files_[src.file], e.line, e.column}, e.message);
      }
      t.file = src.file;
      if (t.kind == TokenKind::kEof && stack_.size() > 1) {
        stack_.pop_back();
        continue;
      }
      return t;
    }
  }

  const Token &peek() {
    if (!pending_) pending_ = next();
    return *pending_;
  }

  Location loc(const Token &t) const { return {files_[t.file], t.line, t.column}; }

  [[noreturn]] void fail(const Token &t, const std::string &message) const {
    throw ParseError(loc(t), message);
  }

  void warn(const Location &where, std::string message) {
    warnings_.push_back({where, std::move(message)});
  }

  Token expect_string(const char *what) {
    Token t = next();
    if (!t.is_string()) fail(t, std::string("expected ") + what + " near " + t.describe());
    return t;
  }

  void expect_special(char c) {
    Token t = next();
    if (t.is_special(c)) return;
    if (c == ';') fail(t, "missing ';' before " + t.describe());
    fail(t, std::string("'") + c + "' expected near " + t.describe());
  }

  void enter(const Token &t) {
    if (++depth_ > kMaxNesting) fail(t, "blocks nested too deeply");
  }
  void leave() { --depth_; }

  // ---- include ----

  void parse_include(const Token &kw) {
    Token name = next();
    if (name.kind != TokenKind::kQuoted)
      fail(name, "expected quoted string near " + name.describe());
    expect_special(';');
    if (name.text.empty()) fail(name, "include: empty file name");
    std::string pattern = join_path(cwd_, name.text);
    // A pattern: a new matching file in its directory changes the configuration. A plain
    // name: only that file does (watched even while missing, so creating it is seen).
    bool wildcard = pattern.find_first_of("*?[") != std::string::npos;
    watched_.insert(fs_.host_path(wildcard ? glob_base_dir(pattern) : pattern));
    std::string error = "file not found";
    auto matches = fs_.glob(pattern, &error);
    if (!matches || matches->empty()) fail(name, "include '" + name.text + "': " + error);
    size_t including = stack_.size() - 1;
    for (const auto &path : *matches) {
      for (std::optional<size_t> p = including; p; p = stack_[*p].parent) {
        if (stack_[*p].path == path) fail(kw, "include loop: '" + path + "' includes itself");
      }
      if (stack_.size() >= kMaxIncludeDepth) fail(kw, "includes nested too deeply");
      std::string display = path;
      std::string prefix = cwd_ == "/" ? "/" : cwd_ + "/";
      if (name.text[0] != '/' && path.compare(0, prefix.size(), prefix) == 0)
        display = path.substr(prefix.size());  // named prints what glob returned
      watched_.insert(fs_.host_path(path));
      auto content = fs_.read_file(path, &error);
      if (!content) fail(name, "open: " + display + ": " + error);
      push_source(display, path, std::move(*content), including);
    }
  }

  // ---- generic skipping ----

  // Skips the rest of a clause through its ';', stepping over balanced blocks. `visit` sees
  // each token at the clause's own level.
  template <class Visit>
  void skip_clause(const Token &start, Visit visit) {
    while (true) {
      Token t = next();
      if (t.is_special(';')) return;
      if (t.is_special('{')) {
        skip_block(t);
        continue;
      }
      if (t.is_special('}') || t.kind == TokenKind::kEof)
        fail(t, "missing ';' before " + t.describe() + " (clause '" + start.text + "' at line " +
                    std::to_string(start.line) + ")");
      visit(t);
    }
  }
  void skip_clause(const Token &start) {
    skip_clause(start, [](const Token &) {});
  }

  // Skips a block after its '{' through the matching '}'. `include` at the start of an
  // element is still honoured: named processes it in every map, and what it splices in must
  // be balanced with the rest.
  void skip_block(const Token &open) {
    enter(open);
    bool element_start = true;
    while (true) {
      Token t = next();
      if (t.kind == TokenKind::kEof)
        fail(t, "'}' expected for the '{' at line " + std::to_string(open.line));
      if (t.is_special('}')) break;
      if (element_start && t.is_keyword("include") && peek().kind == TokenKind::kQuoted) {
        parse_include(t);
        continue;
      }
      if (t.is_special('{')) skip_block(t);
      element_start = t.is_special(';');
    }
    leave();
  }

  // Clause names of a block through its closing '}', with include handled. The caller has read
  // the '{'.
  template <class Handle>
  void map_body(const Token &open, Handle handle) {
    enter(open);
    while (true) {
      Token t = next();
      if (t.is_special('}')) break;
      if (t.kind == TokenKind::kEof)
        fail(t, "'}' expected for the '{' at line " + std::to_string(open.line));
      if (!t.is_string()) fail(t, "expected a clause name near " + t.describe());
      if (t.text.empty()) fail(t, "unknown option ''");  // a word cut at a NUL byte
      if (t.is_keyword("include")) {
        parse_include(t);
        continue;
      }
      handle(t);
    }
    leave();
  }

  // ---- values we collect ----

  void source_clause(const Token &kw) {
    bool port_next = false;
    skip_clause(kw, [&](const Token &t) {
      if (port_next && t.text == "53") uses_port_53_ = true;
      port_next = t.is_keyword("port");
    });
  }

  // `name [port N] [key K] ... { element; ... };` — collects literal addresses.
  void address_clause(const Token &kw) {
    while (true) {
      Token t = next();
      if (t.is_special(';')) return;
      if (t.is_special('{')) {
        address_block(t);
        continue;
      }
      if (t.is_special('}') || t.kind == TokenKind::kEof)
        fail(t, "missing ';' before " + t.describe() + " (clause '" + kw.text + "')");
    }
  }

  void address_block(const Token &open) {
    enter(open);
    while (true) {
      Token t = next();
      if (t.is_special('}')) break;
      if (t.kind == TokenKind::kEof)
        fail(t, "'}' expected for the '{' at line " + std::to_string(open.line));
      if (t.is_special(';')) continue;
      bool negated = t.is_special('!');
      if (negated) t = next();
      if (t.is_special('{')) {
        // A nested list; addresses in a negated one are denied, not peers.
        if (negated)
          skip_block(t);
        else
          address_block(t);
      } else if (t.is_string() && !negated) {
        std::optional<int> prefix;
        if (peek().is_special('/')) {
          next();
          Token len = next();
          if (len.kind != TokenKind::kWord || len.text.empty() || len.text.size() > 3 ||
              len.text.find_first_not_of("0123456789") != std::string::npos)
            fail(len, "expected a prefix length near " + len.describe());
          prefix = std::stoi(len.text);
        }
        if (auto cidr = to_cidr(t.text, prefix)) addresses_.insert(*cidr);
      }
      // The rest of the element: port, key, tls ... up to its ';' (named requires one after
      // every element, also the last).
      while (!peek().is_special(';')) {
        Token rest = next();
        if (rest.kind == TokenKind::kEof)
          fail(rest, "'}' expected for the '{' at line " + std::to_string(open.line));
        if (rest.is_special('}')) fail(rest, "missing ';' before '}'");
        if (rest.is_special('{')) skip_block(rest);
      }
    }
    leave();
  }

  // ---- statements ----

  void parse_top_level() {
    while (true) {
      Token t = next();
      if (t.kind == TokenKind::kEof) return;
      if (!t.is_string()) fail(t, "syntax error near " + t.describe());
      if (t.text.empty()) fail(t, "unknown option ''");  // a word cut at a NUL byte
      if (t.is_keyword("include"))
        parse_include(t);
      else if (t.is_keyword("options"))
        parse_options(t);
      else if (t.is_keyword("view"))
        parse_view(t);
      else if (t.is_keyword("zone"))
        parse_zone(t, default_view());
      else if (t.is_keyword("server"))
        parse_server(t);
      else if (t.is_keyword("statistics-channels"))
        parse_statistics_channels(t);
      else if (kAddressClauses.count(lower(t.text)))
        address_clause(t);
      else if (t.is_keyword("template"))
        unsupported_template(t);
      else if (t.is_keyword("dyndb") || t.is_keyword("plugin"))
        bracketed_text_statement(t);
      else
        skip_clause(t);
    }
  }

  // statistics-channels { inet ADDR [port N] [allow { ... }]; ... };
  void parse_statistics_channels(const Token &kw) {
    Token open = next();
    if (!open.is_special('{')) fail(open, "'{' expected near " + open.describe());
    map_body(open, [&](const Token &t) {
      if (!t.is_keyword("inet")) return skip_clause(t);
      Token addr = expect_string("an address");
      int port = 80;
      bool port_next = false;
      skip_clause(t, [&](const Token &v) {
        if (port_next && !v.text.empty() && v.text.size() <= 5 &&
            v.text.find_first_not_of("0123456789") == std::string::npos)
          port = std::stoi(v.text);
        port_next = v.is_keyword("port");
      });
      stats_channels_.push_back({addr.text, port});
    });
    expect_special(';');
    (void)kw;
  }

  [[noreturn]] void unsupported_template(const Token &t) {
    // BIND 9.18 (Debian 12) has no zone templates; named-checkconf rejects them like this.
    fail(t, "unknown option 'template' (zone templates need BIND 9.20)");
  }

  void bracketed_text_statement(const Token &kw) {
    while (true) {
      Token t = next();
      if (t.is_special(';')) return;
      if (t.is_special('{')) {
        try {
          stack_.back().lexer.skip_bracketed_text(t.line, t.column);
        } catch (const LexError &e) {
          throw ParseError({files_[stack_.back().file], e.line, e.column}, e.message);
        }
        expect_special(';');
        return;
      }
      if (t.is_special('}') || t.kind == TokenKind::kEof)
        fail(t, "missing ';' before " + t.describe() + " (clause '" + kw.text + "')");
    }
  }

  ViewInfo &default_view() {
    if (!default_view_) {
      default_view_ = std::make_unique<ViewInfo>();
      default_view_->name = "_default";
    }
    return *default_view_;
  }

  void parse_options(const Token &kw) {
    Token open = next();
    if (!open.is_special('{')) fail(open, "'{' expected near " + open.describe());
    map_body(open, [&](const Token &t) {
      std::string name = lower(t.text);
      if (name == "directory") {
        Token dir = expect_string("a directory name");
        expect_special(';');
        // named chdir()s here, as soon as it has parsed the clause.
        std::string target = join_path(cwd_, dir.text);
        // chdir("") fails with ENOENT: "" (or a name cut to "" at a NUL) is no directory.
        if (dir.text.empty() || !fs_.is_directory(target))
          fail(dir, "change directory to '" + dir.text + "' failed: file not found");
        cwd_ = target;
      } else {
        view_option(t, options_view_);
      }
    });
    expect_special(';');
    (void)kw;
  }

  // Clauses that options and view share; anything else is skipped.
  void view_option(const Token &t, ViewInfo &view) {
    std::string name = lower(t.text);
    if (name == "allow-new-zones") {
      Token v = expect_string("yes or no");
      auto b = parse_boolean(v.text);
      if (!b) fail(v, "boolean expected near " + v.describe());
      view.allow_new_zones = b;
      expect_special(';');
    } else if (name == "new-zones-directory") {
      view.new_zones_directory = expect_string("a directory name").text;
      expect_special(';');
    } else if (kSourceClauses.count(name)) {
      source_clause(t);
    } else if (kAddressClauses.count(name)) {
      address_clause(t);
    } else {
      skip_clause(t);  // catalog-zones and response-policy land here: their zones are not ours
    }
  }

  void parse_view(const Token &kw) {
    Token name = expect_string("a view name");
    auto view = std::make_unique<ViewInfo>();
    view->name = name.text;
    view->where = loc(kw);
    Token t = next();
    if (t.kind == TokenKind::kWord) {
      auto cls = parse_class(t.text);
      if (!cls) fail(t, "view '" + name.text + "': invalid class " + t.text);
      view->zone_class = *cls;
      t = next();
    }
    if (!t.is_special('{')) fail(t, "'{' expected near " + t.describe());
    for (const auto &v : views_)
      if (v->name == name.text)
        fail(name, "view '" + name.text +
                       "': already exists, previous definition: " + v->where.to_text());
    views_.push_back(std::move(view));
    ViewInfo &v = *views_.back();
    map_body(t, [&](const Token &c) {
      if (c.is_keyword("zone"))
        parse_zone(c, v);
      else if (c.is_keyword("server"))
        parse_server(c);
      else if (c.is_keyword("template"))
        unsupported_template(c);
      else
        view_option(c, v);
    });
    expect_special(';');
    v.complete = true;
  }

  void parse_server(const Token &kw) {
    Token addr = expect_string("an address");
    std::optional<int> prefix;
    if (peek().is_special('/')) {
      next();
      Token len = expect_string("a prefix length");
      if (len.text.empty() || len.text.size() > 3 ||
          len.text.find_first_not_of("0123456789") != std::string::npos)
        fail(len, "expected a prefix length near " + len.describe());
      prefix = std::stoi(len.text);
    }
    auto cidr = to_cidr(addr.text, prefix);
    if (!cidr) fail(addr, "server: expected an address near " + addr.describe());
    addresses_.insert(*cidr);
    Token open = next();
    if (!open.is_special('{')) fail(open, "'{' expected near " + open.describe());
    map_body(open, [&](const Token &t) {
      if (kSourceClauses.count(lower(t.text)))
        source_clause(t);
      else
        skip_clause(t);
    });
    expect_special(';');
    (void)kw;
  }

  void parse_zone(const Token &kw, ViewInfo &view, ZoneOrigin origin = ZoneOrigin::kConfig) {
    Token name = expect_string("a zone name");
    // The name is checked after the body, as named does, but converted now: its index slot
    // is fetched from memory while the body is parsed (at a million zones that lookup is a
    // cache miss, and was a sixth of the parse).
    std::string name_error;
    size_t name_off = names_.size();
    bool name_ok = append_wire_name(name.text, &names_, &name_error);
    uint64_t name_hash = 0;
    if (name_ok) {
      name_hash = ZoneIndex::hash(&view, std::string_view(names_).substr(name_off));
      index_.prefetch(name_hash);
    }
    Token t = next();
    if (t.kind == TokenKind::kWord) {
      auto cls = parse_class(t.text);
      if (!cls) fail(t, "zone '" + name.text + "': invalid class " + t.text);
      if (*cls != view.zone_class)
        fail(t,
             "zone '" + name.text + "': class '" + t.text + "' does not match view/default class");
      t = next();
    }
    if (!t.is_special('{')) fail(t, "'{' expected near " + t.describe());
    std::optional<Token> type_token;
    uint8_t type = 0;
    std::string file, in_view;
    map_body(t, [&](const Token &c) {
      std::string clause = lower(c.text);
      if (clause == "type") {
        if (type_token) fail(c, "'type' redefined near 'type'");
        Token v = expect_string("a zone type");
        auto parsed_type = parse_zone_type(lower(v.text));
        if (!parsed_type) fail(v, "zone '" + name.text + "': unknown zone type " + v.describe());
        type_token = v;
        type = *parsed_type;
        expect_special(';');
      } else if (clause == "file") {
        file = expect_string("a file name").text;
        expect_special(';');
      } else if (clause == "in-view") {
        in_view = expect_string("a view name").text;
        expect_special(';');
      } else if (clause == "template") {
        unsupported_template(c);
      } else if (kSourceClauses.count(clause)) {
        source_clause(c);
      } else if (kAddressClauses.count(clause)) {
        address_clause(c);
      } else {
        skip_clause(c);
      }
    });
    expect_special(';');

    if (!name_ok) fail(name, "zone '" + name.text + "': is not a valid name (" + name_error + ")");
    std::string_view wire(names_.data() + name_off, names_.size() - name_off);
    auto drop_name = [&] { names_.resize(name_off); };
    if (!in_view.empty()) {
      const ViewInfo *target_view = nullptr;
      for (const auto &v : views_)
        if (v->name == in_view && v->complete) target_view = v.get();
      // A forward "zone" is only forwarding configuration: named has no zone to share. A hint
      // zone counts (named-checkconf accepts it), a redirect zone does not.
      const ZoneRec *target = target_view ? find_zone(target_view, wire, 3) : nullptr;
      if ((!target || target->type == kTypeForward) && target_view)
        if (const ZoneRec *hint = find_zone(target_view, wire, 1)) target = hint;
      if (!target || target->type == kTypeForward)
        fail(kw, "'in-view' zone '" + name.text + "' does not exist in view '" + in_view +
                     "', or view '" + in_view + "' is not yet defined");
      if (type_token) fail(*type_token, "zone '" + name.text + "': 'in-view' and 'type' conflict");
      type = target->type;
    } else if (!type_token) {
      fail(kw, "zone '" + name.text + "': type not present");
    }
    if (type == kTypeRedirect && wire.size() != 1)
      fail(kw, "zone '" + name.text + "': redirect zones must be called \".\"");
    // An in-view zone is listed under its target's type but always takes the zone name space.
    int space = in_view.empty() ? name_space(type) : 3;
    if (const ZoneRec *dup = find_zone(&view, wire, name_hash, space)) {
      std::string msg = "zone '" + name.text +
                        "': already exists, previous definition: " + rec_location(*dup).to_text();
      if (origin == ZoneOrigin::kConfig || dup->origin != ZoneOrigin::kConfig) fail(kw, msg);
      warn(loc(kw), msg + "; ignored");  // an added zone shadowed by the configuration
      drop_name();
      return;
    }
    if (view.name == "_default" && origin == ZoneOrigin::kConfig && !first_default_zone_)
      first_default_zone_ = loc(kw);
    if (names_.size() > UINT32_MAX) fail(kw, "too many zones");
    ZoneRec rec{&view,     uint32_t(name_off),    0,    kw.file,        kw.line,
                kw.column, uint16_t(wire.size()), type, uint8_t(space), origin};
    if (options_.zone_details) {
      rec.details = uint32_t(details_.size());
      details_.push_back({name.text, std::move(file), std::move(in_view)});
    }
    index_zone(rec, name_hash);
  }

  Location rec_location(const ZoneRec &z) const { return {files_[z.file], z.line, z.column}; }

  std::string_view rec_wire(const ZoneRec &z) const {
    return std::string_view(names_.data() + z.name_off, z.name_len);
  }

  // Sizes the zone tables for a large file up front (a zone statement takes about 64 bytes):
  // growing them by doubling moved and faulted in every record again. Untouched reserved
  // memory costs nothing, so an overestimate is harmless.
  void reserve_for(size_t bytes) {
    if (bytes < (size_t(1) << 20)) return;
    size_t expect = zones_.size() + bytes / 64;
    zones_.reserve(expect);
    names_.reserve(names_.size() + bytes / 4);
    if (options_.zone_details) details_.reserve(expect);
    index_.reserve(expect);
  }

  void index_zone(const ZoneRec &rec, uint64_t hash) {
    index_.add(zones_.size(), hash);
    zones_.push_back(rec);
  }

  const ZoneRec *find_zone(const ViewInfo *view, std::string_view wire, int space) const {
    return find_zone(view, wire, ZoneIndex::hash(view, wire), space);
  }

  // The zone of that name in that name space (1 hint, 2 redirect, 3 every other type). The
  // hash does not include the space: "." may have up to three entries that share a hash.
  const ZoneRec *find_zone(const ViewInfo *view, std::string_view wire, uint64_t hash,
                           int space) const {
    auto i = index_.find(hash, [&](size_t n) {
      const ZoneRec &z = zones_[n];
      return z.view == view && rec_wire(z) == wire && z.space == space;
    });
    return i ? &zones_[*i] : nullptr;
  }

  void check_top_level_zones() {
    if (!views_.empty() && first_default_zone_)
      throw ParseError(*first_default_zone_,
                       "when using 'view' statements, all zones must be in views");
  }

  // ---- rndc addzone ----

  void read_new_zones() {
    std::vector<ViewInfo *> views;
    if (views_.empty()) views.push_back(&default_view());
    for (auto &v : views_) views.push_back(v.get());
    for (ViewInfo *v : views) {
      bool allow = v->allow_new_zones.value_or(options_view_.allow_new_zones.value_or(false));
      if (!allow) continue;
      auto dir =
          v->new_zones_directory ? v->new_zones_directory : options_view_.new_zones_directory;
      std::string nzf = new_zone_file_path(fs_, cwd_, dir, v->name, "nzf");
      std::string nzd = new_zone_file_path(fs_, cwd_, dir, v->name, "nzd");
      watched_.insert(fs_.host_path(nzf));
      watched_.insert(fs_.host_path(nzd));
      // Debian's named uses the NZD and migrates a leftover NZF into it at startup: both count.
      if (fs_.exists(nzf)) read_nzf(nzf, *v);
      if (fs_.exists(nzd)) read_nzd(nzd, *v);
    }
  }

  void parse_zone_statements(const std::string &display, const std::string &path, std::string text,
                             ViewInfo &view, ZoneOrigin origin) {
    pending_.reset();
    stack_.clear();
    push_source(display, path, std::move(text), std::nullopt);
    while (true) {
      Token t = next();
      if (t.kind == TokenKind::kEof) return;
      if (!t.is_keyword("zone")) fail(t, "expected 'zone' near " + t.describe());
      parse_zone(t, view, origin);
    }
  }

  void read_nzf(const std::string &path, ViewInfo &view) {
    std::string error;
    auto text = fs_.read_file(path, &error);
    if (!text) {
      warn({path, 0, 0}, "cannot read new-zone file: " + error);
      return;
    }
    parse_zone_statements(path, path, std::move(*text), view, ZoneOrigin::kNzf);
  }

  void read_nzd(const std::string &path, ViewInfo &view) {
    std::string error;
    auto entries = fs_.read_nzd(path, &error);
    if (!entries) {
      warn({path, 0, 0}, "cannot read new-zone database: " + error);
      return;
    }
    for (auto &[key, value] : *entries) {
      // named rebuilds each record as `zone "<key>" <value>;` (server.c data_to_cfg).
      std::string body = value;
      while (!body.empty() && (body.back() == ';' || isspace((unsigned char)body.back())))
        body.pop_back();
      std::string quoted;
      for (char c : key) {
        if (c == '"') quoted += '\\';
        quoted += c;
      }
      parse_zone_statements(path + "[" + key + "]", path, "zone \"" + quoted + "\" " + body + ";",
                            view, ZoneOrigin::kNzd);
    }
  }

  // ---- result ----

  ParseResult finish() {
    ParseResult r;
    std::vector<uint32_t> allowed;  // indexes in zones_
    for (uint32_t i = 0; i < zones_.size(); ++i) {
      const ZoneRec &z = zones_[i];
      bool authoritative = z.type == kTypePrimary || z.type == kTypeSecondary;
      if (!authoritative) continue;
      bool root = z.name_len == 1;
      bool in = z.view->zone_class == "IN";
      if (in && !root) allowed.push_back(i);
      if (!in || root || has_non_ascii_wire(rec_wire(z))) {
        std::string what =
            "zone '" + name_from_wire(rec_wire(z)).to_text() + "' in view '" + z.view->name + "'";
        if (!in)
          warn(rec_location(z),
               what + " has class " + z.view->zone_class + ": not allowed on the wire");
        if (root)
          warn(rec_location(z), what +
                                    " is a local copy of the root: not allowed, it would allow "
                                    "every name");
        if (in && !root)
          warn(rec_location(z), what +
                                    " has bytes outside printable ASCII: queries use punycode "
                                    "(xn--) and will not match it");
      }
    }
    r.allowed = sorted_names(allowed);
    if (options_.zone_details) {
      r.zones.reserve(zones_.size());
      for (const ZoneRec &z : zones_) {
        Zone out;
        ZoneDetails &d = details_[z.details];
        out.name = name_from_wire(rec_wire(z));
        out.name_text = std::move(d.name_text);
        out.view = z.view->name;
        out.type = kCanonicalTypes[z.type];
        out.zone_class = z.view->zone_class;
        out.file = std::move(d.file);
        out.in_view = std::move(d.in_view);
        out.where = rec_location(z);
        out.origin = z.origin;
        out.allowed = (z.type == kTypePrimary || z.type == kTypeSecondary) &&
                      out.zone_class == "IN" && z.name_len > 1;
        r.zones.push_back(std::move(out));
      }
    }
    r.warnings = std::move(warnings_);
    r.uses_source_port_53 = uses_port_53_;
    r.protected_addresses.assign(addresses_.begin(), addresses_.end());
    r.statistics_channels = stats_channels_;
    r.watched_paths.assign(watched_.begin(), watched_.end());
    return r;
  }

  static bool has_non_ascii_wire(std::string_view wire) {
    for (size_t off = 0; off < wire.size() && wire[off] != 0; off += 1 + uint8_t(wire[off]))
      for (size_t i = 1; i <= uint8_t(wire[off]); ++i) {
        unsigned char c = uint8_t(wire[off + i]);
        if (c < 0x21 || c > 0x7e) return true;
      }
    return false;
  }

  // The names of `which`, sorted as DnsName orders them (label by label, leftmost first) and
  // de-duplicated. Sorts 16-byte (prefix key, index) pairs and only compares whole names when
  // the first 8 bytes of the first label tie: sorting a million DnsNames directly is pointer
  // chasing and took about a second.
  std::vector<DnsName> sorted_names(const std::vector<uint32_t> &which) const {
    struct Item {
      uint64_t key;
      uint32_t index;
    };
    std::vector<Item> items;
    items.reserve(which.size());
    for (uint32_t i : which) items.push_back({wire_order_key(rec_wire(zones_[i])), i});
    auto less = [this](const Item &a, const Item &b) {
      if (a.key != b.key) return a.key < b.key;
      return wire_less(rec_wire(zones_[a.index]), rec_wire(zones_[b.index]));
    };
    std::stable_sort(items.begin(), items.end(), less);
    std::vector<DnsName> out;
    out.reserve(items.size());
    std::string_view prev;
    bool first = true;
    for (const Item &it : items) {
      std::string_view w = rec_wire(zones_[it.index]);
      if (!first && w == prev) continue;
      first = false;
      prev = w;
      out.push_back(name_from_wire(w));
    }
    return out;
  }

  const ParseOptions &options_;
  FileSystem &fs_;
  std::string cwd_;
  std::vector<std::string> files_;
  std::vector<Source> stack_;
  std::optional<Token> pending_;
  size_t files_opened_ = 0;
  size_t bytes_read_ = 0;
  int depth_ = 0;

  ViewInfo options_view_;  // allow-new-zones and new-zones-directory from options
  std::unique_ptr<ViewInfo> default_view_;
  std::vector<std::unique_ptr<ViewInfo>> views_;
  std::optional<Location> first_default_zone_;
  std::vector<ZoneRec> zones_;
  std::string names_;  // wire forms of the zone names, back to back
  std::vector<ZoneDetails> details_;
  ZoneIndex index_;  // zones_ by (view, wire name)
  std::vector<Warning> warnings_;
  bool uses_port_53_ = false;
  std::vector<std::pair<std::string, int>> stats_channels_;
  std::set<std::string> addresses_;
  std::set<std::string> watched_;
};

ParseResult run(const ParseOptions &options, const std::optional<std::string> &text) {
  std::shared_ptr<FileSystem> fs = options.fs;
  if (!fs) fs = std::make_shared<DiskFileSystem>(options.chroot);
  Parser parser(options, *fs);
  try {
    return parser.run(text);
  } catch (ParseError &e) {
    // What was read up to the error: the zone sync watches it to retry when it is fixed.
    e.set_watched_paths(parser.watched_paths());
    throw;
  }
}

}  // namespace

ParseResult parse_named_conf(const ParseOptions &options) {
  return run(options, std::nullopt);
}

ParseResult parse_named_conf_text(const std::string &text, const ParseOptions &options) {
  return run(options, text);
}

}  // namespace dnswash::zones
