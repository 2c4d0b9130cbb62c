// Parse(): yaml-cpp's event parser feeding a bounded tree builder (tree.h).
//
// Why not YAML::Load: its node graph shares aliased nodes, so a walk over a document of a few
// hundred bytes can visit billions of nodes (the "billion laughs" alias bomb), and it builds a
// heavy object per node. Here every limit is checked as the events arrive, before any walk:
// depth (including the height an alias brings along), and nodes counted with aliases expanded,
// in O(1) per alias.
#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cstdio>
#include <istream>
#include <memory>
#include <streambuf>

#include "secprof/core/fs.h"
#include "secprof/yamlio/reader.h"
#include "tree.h"

namespace secprof::yamlio {
namespace {

using detail::Tree;

// A refusal raised inside the event handler; it unwinds through yaml-cpp's parser (plain C++,
// RAII-managed) and is turned back into an Error by Parse().
struct Refusal {
  Error error;
};

SourceLocation At(const std::string& file, int line0, int column0) {
  return SourceLocation{file, line0 >= 0 ? line0 + 1 : 0, column0 >= 0 ? column0 + 1 : 0, ""};
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

class Builder : public YAML::EventHandler {
 public:
  Builder(Tree& tree, const Limits& limits) : t_(tree), limits_(limits) {}

  bool has_root() const { return has_root_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnAnchor(const YAML::Mark&, const std::string& name) override { anchor_name_ = name; }

  void OnNull(const YAML::Mark& m, YAML::anchor_t anchor) override {
    Leaf(Tree::kNull, m, anchor, nullptr);
  }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    // Escapes in double-quoted scalars ("\x01", "\u0085") can produce what the raw-text check
    // refused; the values must be as clean as the text.
    if (FirstBadByte(value) != std::string_view::npos) {
      throw Refusal{Error(ErrorCode::kInvalidInput,
                          "a value holds a control character or invalid UTF-8 (from an escape)",
                          At(t_.file, m.line, m.column))
                        .WithReason(kInvalidUtf8)};
    }
    Leaf(Tree::kScalar, m, anchor, &value);
  }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t anchor) override {
    if (anchor >= anchors_.size() || !anchors_[anchor].complete) {
      const std::string name = anchor < anchors_.size() ? anchors_[anchor].name : "?";
      throw Refusal{Error(ErrorCode::kInvalidInput,
                          "alias *" + name + " refers to a node that contains it",
                          At(t_.file, m.line, m.column))
                        .WithReason(kBadAlias)};
    }
    const Anchor& a = anchors_[anchor];
    Count(a.expanded, m);
    Attach(a.node, a.expanded, a.height, m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(Tree::kSequence, m, anchor);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(Tree::kMap, m, anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Anchor {
    std::string name;
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
    YAML::anchor_t anchor;
    YAML::Mark mark;
  };

  uint32_t NewItem(Tree::Kind kind, const YAML::Mark& m) {
    if (t_.items.size() >= UINT32_MAX) TooMany(m);
    Tree::Item item;
    item.kind = kind;
    item.line = m.line;
    item.column = m.column;
    t_.items.push_back(item);
    return static_cast<uint32_t>(t_.items.size() - 1);
  }

  void Register(YAML::anchor_t anchor, uint32_t node) {
    if (anchor == YAML::NullAnchor) return;
    if (anchors_.size() <= anchor) anchors_.resize(anchor + 1);
    anchors_[anchor] = Anchor{std::move(anchor_name_), node, 0, 0, false};
    anchor_name_.clear();
  }

  void Leaf(Tree::Kind kind, const YAML::Mark& m, YAML::anchor_t anchor, const std::string* v) {
    const uint32_t id = NewItem(kind, m);
    if (v) {
      t_.items[id].first = static_cast<uint32_t>(t_.scalars.size());
      t_.scalars.push_back(*v);
    }
    Count(1, m);
    Register(anchor, id);
    if (anchor != YAML::NullAnchor) {
      anchors_[anchor].expanded = 1;
      anchors_[anchor].complete = true;
    }
    Attach(id, 1, 0, m);
  }

  void Open(Tree::Kind kind, const YAML::Mark& m, YAML::anchor_t anchor) {
    CheckDepth(static_cast<int>(stack_.size()), m);
    const uint32_t id = NewItem(kind, m);
    Count(1, m);
    Register(anchor, id);
    stack_.push_back(Frame{id, pending_.size(), 1, 0, anchor, m});
  }

  void Close() {
    Frame f = stack_.back();
    stack_.pop_back();
    Tree::Item& item = t_.items[f.node];
    item.first = static_cast<uint32_t>(t_.kids.size());
    item.size = static_cast<uint32_t>(pending_.size() - f.kids_start);
    t_.kids.insert(t_.kids.end(), pending_.begin() + static_cast<ptrdiff_t>(f.kids_start),
                   pending_.end());
    pending_.resize(f.kids_start);
    if (f.anchor != YAML::NullAnchor) {
      Anchor& a = anchors_[f.anchor];
      a.expanded = f.expanded;
      a.height = f.height;
      a.complete = true;
    }
    Attach(f.node, f.expanded, f.height, f.mark);
  }

  // Adds a finished node (of `expanded` nodes and `height` levels below it) to its parent.
  void Attach(uint32_t id, size_t expanded, int height, const YAML::Mark& m) {
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

  void CheckDepth(int depth, const YAML::Mark& m) {
    if (depth > limits_.max_depth) {
      throw Refusal{Error(ErrorCode::kLimit,
                          "document nests too deeply: more than " +
                              std::to_string(limits_.max_depth) + " levels",
                          At(t_.file, m.line, m.column))
                        .WithReason(kTooDeep)};
    }
  }

  void Count(size_t n, const YAML::Mark& m) {
    total_ += n;
    if (total_ > limits_.max_nodes) TooMany(m);
  }

  [[noreturn]] void TooMany(const YAML::Mark& m) {
    throw Refusal{Error(ErrorCode::kLimit,
                        "document has more than " + std::to_string(limits_.max_nodes) +
                            " nodes with its aliases expanded (an alias bomb?)",
                        At(t_.file, m.line, m.column))
                      .WithReason(kTooManyNodes)};
  }

  Tree& t_;
  const Limits& limits_;
  std::vector<Frame> stack_;
  std::vector<uint32_t> pending_;  // children of the open collections, innermost last
  std::vector<Anchor> anchors_;    // by yaml-cpp's anchor id
  std::string anchor_name_;
  size_t total_ = 0;
  bool has_root_ = false;
};

// An istream over the caller's text without copying it.
class ViewBuf : public std::streambuf {
 public:
  explicit ViewBuf(std::string_view s) {
    char* p = const_cast<char*>(s.data());  // read-only: the get area is never written
    setg(p, p, p + s.size());
  }
};

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
  auto tree = std::make_shared<Tree>();
  tree->file = name;
  try {
    ViewBuf buf(text);
    std::istream in(&buf);
    YAML::Parser parser(in);
    Builder builder(*tree, limits);
    parser.HandleNextDocument(builder);
    if (!builder.has_root()) {
      tree->items.push_back(Tree::Item{});  // an empty document is null
      tree->root = 0;
      tree->expanded = 1;
    }
  } catch (const Refusal& r) {
    return Fail(r.error);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own recursion guard (its message is an unhelpful "bad file").
    return Fail(Error(ErrorCode::kLimit, "document nests too deeply for the YAML parser",
                      At(name, e.mark.line, e.mark.column))
                    .WithReason(kTooDeep));
  } catch (const YAML::Exception& e) {
    return Fail(ErrorCode::kInvalidInput, "YAML syntax error: " + e.msg,
                At(name, e.mark.line, e.mark.column));
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidInput, std::string("YAML error: ") + e.what(),
                SourceLocation{name, 0, 0, ""});
  }
  return Document(std::move(tree));
}

Result<Document> LoadFile(const std::string& path, const Limits& limits) {
  SECPROF_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return Parse(path, text, limits);
}

}  // namespace secprof::yamlio
