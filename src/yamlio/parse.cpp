// Parse(): libyaml's event parser feeding a bounded tree builder (tree.h).
//
// Why events and not a node graph (yaml-cpp's YAML::Load, libyaml's yaml_parser_load): a graph
// shares aliased nodes, so a walk over a document of a few hundred bytes can visit billions of
// nodes (the "billion laughs" alias bomb). Here every limit is checked as the events arrive,
// before any walk: depth (including the height an alias brings along), and nodes counted with
// aliases expanded, in O(1) per alias. Why libyaml and not yaml-cpp's event parser: for the
// 100,000-entry model (17 MB) yaml-cpp 0.7's tokenizer alone took 2.5 s of CPU, libyaml reads
// the same text several times faster (docs/PERFORMANCE.md, "Assess").
//
// What a document means is what it meant with yaml-cpp (the reader before this one), so that
// models and catalogs read the same: only the first document of a stream is read; a plain scalar
// `~`, `null`, `Null`, `NULL` or an empty node without a tag is null, anything else is a scalar;
// an alias names the latest node with that anchor and must name a complete node. Positions are
// 1-based lines and byte columns (libyaml counts columns in characters; Positions converts).
#include <yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "secprof/core/fs.h"
#include "secprof/yamlio/reader.h"
#include "tree.h"

namespace secprof::yamlio {
namespace {

using detail::Tree;

// A refusal raised while building the tree; caught by Parse() (no C frame in between: libyaml
// returns each event to the loop in Read()).
struct Refusal {
  Error error;
};

// A position as the tree keeps it: 0-based line and byte column.
struct Mark {
  int line = -1;
  int column = -1;
};

SourceLocation At(const std::string& file, const Mark& m) {
  return SourceLocation{file, m.line >= 0 ? m.line + 1 : 0, m.column >= 0 ? m.column + 1 : 0, ""};
}

// Length of the UTF-8 sequence starting at s[i] if it is valid (RFC 3629 section 4: no overlong
// forms, no surrogates, nothing above U+10FFFF) and a YAML printable character (YAML 1.2
// section 5.1: tab, line feed, carriage return, U+0020..U+007E, U+0085, U+00A0..U+D7FF,
// U+E000..U+FFFD, U+10000..U+10FFFF); 0 otherwise.
size_t PrintableLength(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return (c >= 0x20 && c != 0x7F) || c == '\t' || c == '\n' || c == '\r' ? 1 : 0;
  size_t n;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF))) return 0;
  if (cp >= 0xD800 && cp <= 0xDFFF) return 0;
  if ((cp >= 0x80 && cp < 0xA0 && cp != 0x85) || cp == 0xFFFE || cp == 0xFFFF) return 0;
  return n;
}

// Offset of the first byte that does not start a printable UTF-8 character, or npos.
size_t FirstBadByte(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    // Fast path over printable ASCII.
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7F) {
      ++i;
      continue;
    }
    const size_t n = PrintableLength(s, i);
    if (n == 0) return i;
    i += n;
  }
  return std::string_view::npos;
}

// Converts libyaml's marks (line, column and index counted in characters) to byte columns. For
// ASCII text they are the same; otherwise a cursor walks the (already validated) UTF-8 text
// between consecutive marks, which arrive almost in order, so the whole document costs about one
// pass. A UTF-8 byte-order mark, which libyaml counts as the first character of line 1, is not
// counted: columns are where an editor shows them.
class Positions {
 public:
  Positions(std::string_view text, bool ascii)
      : text_(text), ascii_(ascii), bom_(text.substr(0, 3) == "\xEF\xBB\xBF" ? 3 : 0) {}

  Mark Of(const yaml_mark_t& m) {
    if (m.line > INT32_MAX || m.column > INT32_MAX) return Mark{};
    if (ascii_) return Mark{static_cast<int>(m.line), static_cast<int>(m.column)};
    const size_t line_start = Byte(m.index - m.column) + (m.line == 0 ? bom_ : 0);
    const size_t at = Byte(m.index);
    return Mark{static_cast<int>(m.line), static_cast<int>(at > line_start ? at - line_start : 0)};
  }

 private:
  static bool Continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

  // Byte offset of the character with index `index`.
  size_t Byte(size_t index) {
    while (char_ < index && byte_ < text_.size()) {
      ++byte_;
      while (byte_ < text_.size() && Continuation(text_[byte_])) ++byte_;
      ++char_;
    }
    while (char_ > index && byte_ > 0) {
      --byte_;
      while (byte_ > 0 && Continuation(text_[byte_])) --byte_;
      --char_;
    }
    return byte_;
  }

  std::string_view text_;
  bool ascii_;
  size_t bom_;  // bytes of a UTF-8 byte-order mark at the start, or 0
  size_t byte_ = 0;
  size_t char_ = 0;
};

class Builder {
 public:
  Builder(Tree& tree, const Limits& limits) : t_(tree), limits_(limits) {}

  bool has_root() const { return has_root_; }

  void OnScalar(const Mark& m, const char* anchor, bool null, std::string_view value) {
    if (null) {
      Leaf(Tree::kNull, m, anchor, nullptr);
      return;
    }
    // Escapes in double-quoted scalars ("\x01", "\u0085") can produce what the raw-text check
    // refused; the values must be as clean as the text.
    if (FirstBadByte(value) != std::string_view::npos) {
      throw Refusal{Error(ErrorCode::kInvalidInput,
                          "a value holds a control character or invalid UTF-8 (from an escape)",
                          At(t_.file, m))
                        .WithReason(kInvalidUtf8)};
    }
    Leaf(Tree::kScalar, m, anchor, &value);
  }

  void OnAlias(const Mark& m, const char* name) {
    auto named = names_.find(name);
    if (named == names_.end()) {
      // As yaml-cpp said it (no reason: docs/ERRORS.md, "YAML syntax errors").
      throw Refusal{Error(ErrorCode::kInvalidInput,
                          "YAML syntax error: the referenced anchor is not defined",
                          At(t_.file, m))};
    }
    const Anchor& a = anchors_[named->second];
    if (!a.complete) {
      throw Refusal{Error(ErrorCode::kInvalidInput,
                          "alias *" + std::string(name) + " refers to a node that contains it",
                          At(t_.file, m))
                        .WithReason(kBadAlias)};
    }
    Count(a.expanded, m);
    Attach(a.node, a.expanded, a.height, m);
  }

  void OnStart(Tree::Kind kind, const Mark& m, const char* anchor) {
    CheckDepth(static_cast<int>(stack_.size()), m);
    const uint32_t id = NewItem(kind, m);
    Count(1, m);
    stack_.push_back(Frame{id, pending_.size(), 1, 0, Register(anchor, id), m});
  }

  void OnEnd() {
    Frame f = stack_.back();
    stack_.pop_back();
    Tree::Item& item = t_.items[f.node];
    item.first = static_cast<uint32_t>(t_.kids.size());
    item.size = static_cast<uint32_t>(pending_.size() - f.kids_start);
    t_.kids.insert(t_.kids.end(), pending_.begin() + static_cast<ptrdiff_t>(f.kids_start),
                   pending_.end());
    pending_.resize(f.kids_start);
    if (f.anchor != kNoAnchor) {
      Anchor& a = anchors_[f.anchor];
      a.expanded = f.expanded;
      a.height = f.height;
      a.complete = true;
    }
    Attach(f.node, f.expanded, f.height, f.mark);
  }

 private:
  static constexpr size_t kNoAnchor = SIZE_MAX;
  struct Anchor {
    uint32_t node = 0;
    size_t expanded = 0;
    int height = 0;
    bool complete = false;
  };
  struct Frame {
    uint32_t node;
    size_t kids_start;
    size_t expanded;
    int height;
    size_t anchor;  // index into anchors_, or kNoAnchor
    Mark mark;
  };

  uint32_t NewItem(Tree::Kind kind, const Mark& m) {
    if (t_.items.size() >= UINT32_MAX) TooMany(m);
    Tree::Item item;
    item.kind = kind;
    item.line = m.line;
    item.column = m.column;
    t_.items.push_back(item);
    return static_cast<uint32_t>(t_.items.size() - 1);
  }

  // A node with an anchor: a new definition, which later aliases with that name refer to (a name
  // defined again names the newer node, as in YAML 1.2 section 3.2.2.2).
  size_t Register(const char* name, uint32_t node) {
    if (!name) return kNoAnchor;
    anchors_.push_back(Anchor{node, 0, 0, false});
    names_[name] = anchors_.size() - 1;
    return anchors_.size() - 1;
  }

  void Leaf(Tree::Kind kind, const Mark& m, const char* anchor, const std::string_view* v) {
    const uint32_t id = NewItem(kind, m);
    if (v) {
      if (t_.text.size() + v->size() > UINT32_MAX) TooMany(m);
      t_.items[id].first = static_cast<uint32_t>(t_.text.size());
      t_.items[id].size = static_cast<uint32_t>(v->size());
      t_.text.append(*v);
    }
    Count(1, m);
    if (const size_t a = Register(anchor, id); a != kNoAnchor) {
      anchors_[a].expanded = 1;
      anchors_[a].complete = true;
    }
    Attach(id, 1, 0, m);
  }

  // Adds a finished node (of `expanded` nodes and `height` levels below it) to its parent.
  void Attach(uint32_t id, size_t expanded, int height, const Mark& m) {
    if (stack_.empty()) {
      t_.root = id;
      t_.expanded = expanded;
      has_root_ = true;
      return;
    }
    CheckDepth(static_cast<int>(stack_.size()) + height, m);
    pending_.push_back(id);
    Frame& parent = stack_.back();
    parent.expanded += expanded;
    parent.height = std::max(parent.height, height + 1);
  }

  void CheckDepth(int depth, const Mark& m) {
    if (depth > limits_.max_depth) {
      throw Refusal{Error(ErrorCode::kLimit,
                          "document nests too deeply: more than " +
                              std::to_string(limits_.max_depth) + " levels",
                          At(t_.file, m))
                        .WithReason(kTooDeep)};
    }
  }

  void Count(size_t n, const Mark& m) {
    total_ += n;
    if (total_ > limits_.max_nodes) TooMany(m);
  }

  [[noreturn]] void TooMany(const Mark& m) {
    throw Refusal{Error(ErrorCode::kLimit,
                        "document has more than " + std::to_string(limits_.max_nodes) +
                            " nodes with its aliases expanded (an alias bomb?)",
                        At(t_.file, m))
                      .WithReason(kTooManyNodes)};
  }

  Tree& t_;
  const Limits& limits_;
  std::vector<Frame> stack_;
  std::vector<uint32_t> pending_;  // children of the open collections, innermost last
  std::vector<Anchor> anchors_;    // every anchored node, in document order
  std::unordered_map<std::string, size_t> names_;  // anchor name -> latest index in anchors_
  size_t total_ = 0;
  bool has_root_ = false;
};

// RAII over libyaml's parser (reading the caller's text in place) and over one event.
class Parser {
 public:
  explicit Parser(std::string_view text) {
    if (!yaml_parser_initialize(&p_)) throw std::bad_alloc();
    yaml_parser_set_input_string(&p_, reinterpret_cast<const unsigned char*>(text.data()),
                                 text.size());
    yaml_parser_set_encoding(&p_, YAML_UTF8_ENCODING);
  }
  ~Parser() { yaml_parser_delete(&p_); }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;
  yaml_parser_t* get() { return &p_; }

 private:
  yaml_parser_t p_{};
};

class Event {
 public:
  Event() = default;
  ~Event() {
    if (live_) yaml_event_delete(&e_);
  }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  // Reads the next event; false (with the parser's error set) on a syntax error.
  bool Next(yaml_parser_t* p) {
    if (live_) yaml_event_delete(&e_);
    live_ = yaml_parser_parse(p, &e_) != 0;
    return live_;
  }
  const yaml_event_t& operator*() const { return e_; }
  const yaml_event_t* operator->() const { return &e_; }

 private:
  yaml_event_t e_{};
  bool live_ = false;
};

const char* Text(const yaml_char_t* s) { return reinterpret_cast<const char*>(s); }

// yaml-cpp's null: an untagged plain scalar spelled as YAML's null (YAML 1.2 section 10.3.2), or
// an empty node (which libyaml reports as an empty plain scalar).
bool IsNull(const yaml_event_t& e) {
  const auto& s = e.data.scalar;
  if (s.tag || s.style != YAML_PLAIN_SCALAR_STYLE) return false;
  const std::string_view v(Text(s.value), s.length);
  return v.empty() || v == "~" || v == "null" || v == "Null" || v == "NULL";
}

Error SyntaxError(const std::string& file, const yaml_parser_t& p, Positions& pos) {
  if (p.error == YAML_MEMORY_ERROR) {
    return Error(ErrorCode::kInvalidInput, "YAML error: out of memory",
                 SourceLocation{file, 0, 0, ""});
  }
  std::string message = std::string("YAML syntax error: ") + (p.problem ? p.problem : "unknown");
  if (p.context) message += std::string(" (") + p.context + ")";
  return Error(ErrorCode::kInvalidInput, message, At(file, pos.Of(p.problem_mark)));
}

// Reads the first document of the stream into the builder.
void Read(const std::string& file, std::string_view text, bool ascii, Builder& b) {
  Parser parser(text);
  Positions pos(text, ascii);
  Event ev;
  for (;;) {
    if (!ev.Next(parser.get())) throw Refusal{SyntaxError(file, *parser.get(), pos)};
    switch (ev->type) {
      case YAML_STREAM_END_EVENT:
      case YAML_DOCUMENT_END_EVENT:
        return;
      case YAML_SCALAR_EVENT: {
        const auto& s = ev->data.scalar;
        b.OnScalar(pos.Of(ev->start_mark), Text(s.anchor), IsNull(*ev),
                   std::string_view(Text(s.value), s.length));
        break;
      }
      case YAML_ALIAS_EVENT:
        b.OnAlias(pos.Of(ev->start_mark), Text(ev->data.alias.anchor));
        break;
      case YAML_SEQUENCE_START_EVENT:
        b.OnStart(Tree::kSequence, pos.Of(ev->start_mark), Text(ev->data.sequence_start.anchor));
        break;
      case YAML_MAPPING_START_EVENT:
        b.OnStart(Tree::kMap, pos.Of(ev->start_mark), Text(ev->data.mapping_start.anchor));
        break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        b.OnEnd();
        break;
      default:  // stream and document start
        break;
    }
  }
}

}  // namespace

Result<Document> Parse(const std::string& name, std::string_view text, const Limits& limits) {
  if (text.size() > limits.max_bytes) {
    return Fail(Error(ErrorCode::kLimit,
                      "document is larger than " + std::to_string(limits.max_bytes) + " bytes",
                      SourceLocation{name, 0, 0, ""})
                    .WithReason(kTooLarge));
  }
  if (const size_t bad = FirstBadByte(text); bad != std::string_view::npos) {
    const size_t line_start = text.rfind('\n', bad == 0 ? 0 : bad - 1);
    const int line = 1 + static_cast<int>(std::count(text.begin(), text.begin() + bad, '\n'));
    const size_t col =
        line_start == std::string_view::npos || bad == 0 ? bad + 1 : bad - line_start;
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02X", static_cast<unsigned char>(text[bad]));
    return Fail(Error(ErrorCode::kInvalidInput,
                      std::string("not valid UTF-8 text, or a control character (byte ") + hex +
                          "); secprof reads YAML as UTF-8 only",
                      SourceLocation{name, line, static_cast<int>(col), ""})
                    .WithReason(kInvalidUtf8));
  }
  const bool ascii = std::none_of(text.begin(), text.end(),
                                  [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
  auto tree = std::make_shared<Tree>();
  tree->file = name;
  // About one node per 7 bytes of model text, and its scalars take about half the text: reserved
  // once rather than grown by copying (an over-estimate only costs address space).
  tree->items.reserve(text.size() / 6 + 1);
  tree->kids.reserve(text.size() / 6 + 1);
  tree->text.reserve(text.size() / 2 + 1);
  try {
    Builder builder(*tree, limits);
    Read(name, text, ascii, builder);
    if (!builder.has_root()) {
      tree->items.push_back(Tree::Item{});  // an empty document is null
      tree->root = 0;
      tree->expanded = 1;
    }
  } catch (const Refusal& r) {
    return Fail(r.error);
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kInvalidInput, "YAML error: out of memory",
                SourceLocation{name, 0, 0, ""});
  }
  return Document(std::move(tree));
}

Result<Document> LoadFile(const std::string& path, const Limits& limits) {
  SECPROF_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return Parse(path, text, limits);
}

}  // namespace secprof::yamlio
