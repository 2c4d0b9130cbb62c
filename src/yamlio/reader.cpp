#include "secprof/yamlio/reader.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "tree.h"

namespace secprof::yamlio {
namespace {

using detail::Tree;

std::string Join(std::initializer_list<std::string_view> items) {
  std::string out;
  for (auto s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

std::string ChildPath(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

}  // namespace

bool Node::IsMap() const { return tree_ && tree_->items[id_].kind == Tree::kMap; }
bool Node::IsSequence() const { return tree_ && tree_->items[id_].kind == Tree::kSequence; }
bool Node::IsScalar() const { return tree_ && tree_->items[id_].kind == Tree::kScalar; }
bool Node::IsNull() const { return !tree_ || tree_->items[id_].kind == Tree::kNull; }

const std::string& Node::File() const {
  static const std::string kNone;
  return tree_ ? tree_->file : kNone;
}

namespace {

std::string Describe(const Node& n, const std::string& scalar) {
  if (n.IsNull()) return "nothing (null)";
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  return "'" + scalar + "'";
}

}  // namespace

SourceLocation Node::Location() const {
  SourceLocation loc;
  if (tree_) {
    loc.file = tree_->file;
    const Tree::Item& i = tree_->items[id_];
    if (i.line >= 0) {
      loc.line = i.line + 1;
      loc.column = i.column + 1;
    }
  }
  loc.field = path_;
  return loc;
}

Error Node::MakeError(const std::string& message) const {
  return Error(ErrorCode::kInvalidInput, message, Location());
}

Result<std::string> Node::AsString() const {
  if (!IsScalar()) return Fail(MakeError("expected a string, found " + Describe(*this, "")));
  return std::string(tree_->Scalar(id_));
}

Result<int64_t> Node::AsInt() const {
  if (!IsScalar()) return Fail(MakeError("expected an integer, found " + Describe(*this, "")));
  const std::string s(tree_->Scalar(id_));
  try {
    size_t used = 0;
    long long v = std::stoll(s, &used, 10);
    if (used != s.size()) throw std::invalid_argument(s);
    return static_cast<int64_t>(v);
  } catch (const std::exception&) {
    return Fail(MakeError("expected an integer, found '" + s + "'"));
  }
}

Result<double> Node::AsDouble() const {
  if (!IsScalar()) return Fail(MakeError("expected a number, found " + Describe(*this, "")));
  const std::string s(tree_->Scalar(id_));
  try {
    size_t used = 0;
    double v = std::stod(s, &used);
    if (used != s.size() || !std::isfinite(v)) throw std::invalid_argument(s);
    return v;
  } catch (const std::exception&) {
    return Fail(MakeError("expected a number, found '" + s + "'"));
  }
}

Result<bool> Node::AsBool() const {
  std::string scalar;
  if (IsScalar()) {
    scalar = tree_->Scalar(id_);
    if (scalar == "true") return true;
    if (scalar == "false") return false;
  }
  return Fail(MakeError("expected true or false, found " + Describe(*this, scalar)));
}

Result<std::vector<std::string>> Node::AsStringList() const {
  if (!IsSequence()) return Fail(MakeError("expected a list, found " + Describe(*this, Scalar())));
  const Tree::Item& it = tree_->items[id_];
  std::vector<std::string> out;
  out.reserve(it.size);
  for (uint32_t k = 0; k < it.size; ++k) {
    const uint32_t child = tree_->kids[it.first + k];
    if (tree_->items[child].kind != Tree::kScalar) {
      Node item(tree_, child, path_ + "[" + std::to_string(k) + "]");
      return Fail(item.MakeError("expected a string, found " + Describe(item, "")));
    }
    out.emplace_back(tree_->Scalar(child));
  }
  return out;
}

std::string Node::Scalar() const {
  return IsScalar() ? std::string(tree_->Scalar(id_)) : std::string();
}

Result<std::vector<Node>> Node::Items() const {
  if (!IsSequence()) return Fail(MakeError("expected a list, found " + Describe(*this, Scalar())));
  const Tree::Item& it = tree_->items[id_];
  std::vector<Node> out;
  out.reserve(it.size);
  for (uint32_t k = 0; k < it.size; ++k) {
    out.emplace_back(tree_, tree_->kids[it.first + k], path_ + "[" + std::to_string(k) + "]");
  }
  return out;
}

Result<std::vector<std::pair<std::string, Node>>> Node::Entries() const {
  if (!IsMap()) return Fail(MakeError("expected a map, found " + Describe(*this, Scalar())));
  const Tree::Item& it = tree_->items[id_];
  std::vector<std::pair<std::string, Node>> out;
  out.reserve(it.size / 2);
  for (uint32_t k = 0; k < it.size; k += 2) {
    const uint32_t key = tree_->kids[it.first + k], value = tree_->kids[it.first + k + 1];
    if (tree_->items[key].kind != Tree::kScalar) {
      return Fail(Node(tree_, key, path_).MakeError("map keys must be plain strings"));
    }
    const std::string name(tree_->Scalar(key));
    out.emplace_back(name, Node(tree_, value, ChildPath(path_, name)));
  }
  return out;
}

std::optional<Node> Node::Get(std::string_view key) const { return Lookup(key, true); }

std::optional<Node> Node::Lookup(std::string_view key, bool with_path) const {
  if (!IsMap()) return std::nullopt;
  const Tree::Item& it = tree_->items[id_];
  for (uint32_t k = 0; k < it.size; k += 2) {
    const uint32_t kid = tree_->kids[it.first + k];
    if (tree_->items[kid].kind == Tree::kScalar && tree_->Scalar(kid) == key) {
      return Node(tree_, tree_->kids[it.first + k + 1],
                  with_path ? ChildPath(path_, key) : std::string());
    }
  }
  return std::nullopt;
}

Status Node::CheckKeys(const std::vector<std::string>& allowed) const {
  if (!IsMap()) return Fail(MakeError("expected a map, found " + Describe(*this, Scalar())));
  const Tree::Item& it = tree_->items[id_];
  std::set<std::string_view> seen;
  for (uint32_t k = 0; k < it.size; k += 2) {
    const uint32_t kid = tree_->kids[it.first + k];
    if (tree_->items[kid].kind != Tree::kScalar) {
      return Fail(Node(tree_, kid, path_).MakeError("map keys must be plain strings"));
    }
    const std::string_view key = tree_->Scalar(kid);
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      Node located(tree_, kid, ChildPath(path_, key));
      return Fail(
          located.MakeError("unknown key '" + std::string(key) + "' (allowed: " + list + ")"));
    }
    if (!seen.insert(key).second) {
      Node located(tree_, kid, ChildPath(path_, key));
      return Fail(located.MakeError("key '" + std::string(key) + "' appears twice"));
    }
  }
  return Ok();
}

Status Node::CheckKeys(std::initializer_list<std::string_view> allowed) const {
  // The common case without allocating: every key allowed and none twice (at most 64 allowed
  // keys tracked in a bit mask). Anything else is reported by the general version.
  if (IsMap() && allowed.size() <= 64) {
    const Tree::Item& it = tree_->items[id_];
    uint64_t seen = 0;
    bool clean = true;
    for (uint32_t k = 0; clean && k < it.size; k += 2) {
      const uint32_t kid = tree_->kids[it.first + k];
      if (tree_->items[kid].kind != Tree::kScalar) {
        clean = false;
        break;
      }
      const std::string_view key = tree_->Scalar(kid);
      auto at = std::find(allowed.begin(), allowed.end(), key);
      if (at == allowed.end()) {
        clean = false;
        break;
      }
      const uint64_t bit = uint64_t{1} << (at - allowed.begin());
      clean = !(seen & bit);
      seen |= bit;
    }
    if (clean) return Ok();
  }
  std::vector<std::string> v;
  for (auto a : allowed) v.emplace_back(a);
  return CheckKeys(v);
}

Result<Node> Node::Required(std::string_view key) const {
  if (!IsMap()) return Fail(MakeError("expected a map, found " + Describe(*this, Scalar())));
  auto n = Get(key);
  if (!n || n->IsNull()) return Fail(MakeError("missing required key '" + std::string(key) + "'"));
  return *n;
}

// The field helpers below look values up without building a field path (Lookup(key, false)), and
// build the located Node only when they have an error to report: a model of 100,000 entries reads
// about a million fields, almost all of them well-formed.

Result<std::string> Node::RequiredString(std::string_view key) const {
  if (auto n = Lookup(key, false); n && n->IsScalar()) return n->Scalar();
  SECPROF_ASSIGN_OR_RETURN(Node n, Required(key));
  return n.AsString();
}

Result<std::string> Node::OptionalString(std::string_view key, std::string fallback) const {
  auto n = Lookup(key, false);
  if (!n || n->IsNull()) return fallback;
  if (n->IsScalar()) return n->Scalar();
  return Get(key)->AsString();
}

Result<int64_t> Node::RequiredInt(std::string_view key) const {
  if (auto n = Lookup(key, false); n && n->IsScalar()) {
    if (auto v = n->AsInt()) return v;
  }
  SECPROF_ASSIGN_OR_RETURN(Node n, Required(key));
  return n.AsInt();
}

Result<int64_t> Node::OptionalInt(std::string_view key, int64_t fallback) const {
  auto n = Lookup(key, false);
  if (!n || n->IsNull()) return fallback;
  if (auto v = n->AsInt()) return v;
  return Get(key)->AsInt();
}

Result<double> Node::OptionalDouble(std::string_view key, double fallback) const {
  auto n = Lookup(key, false);
  if (!n || n->IsNull()) return fallback;
  if (auto v = n->AsDouble()) return v;
  return Get(key)->AsDouble();
}

Result<bool> Node::OptionalBool(std::string_view key, bool fallback) const {
  auto n = Lookup(key, false);
  if (!n || n->IsNull()) return fallback;
  if (auto v = n->AsBool()) return v;
  return Get(key)->AsBool();
}

Result<std::vector<std::string>> Node::OptionalStringList(std::string_view key) const {
  auto n = Lookup(key, false);
  if (!n || n->IsNull()) return std::vector<std::string>{};
  if (auto v = n->AsStringList()) return v;
  return Get(key)->AsStringList();
}

Result<std::string> Node::RequiredEnum(std::string_view key,
                                       std::initializer_list<std::string_view> choices) const {
  if (auto n = Lookup(key, false); n && n->IsScalar()) {
    const std::string_view v = tree_->Scalar(n->id_);
    if (std::find(choices.begin(), choices.end(), v) != choices.end()) return std::string(v);
  }
  SECPROF_ASSIGN_OR_RETURN(Node n, Required(key));
  SECPROF_ASSIGN_OR_RETURN(std::string v, n.AsString());
  if (std::find(choices.begin(), choices.end(), v) == choices.end()) {
    return Fail(n.MakeError("'" + v + "' is not one of: " + Join(choices)));
  }
  return v;
}

Result<std::string> Node::OptionalEnum(std::string_view key,
                                       std::initializer_list<std::string_view> choices,
                                       std::string fallback) const {
  auto quick = Lookup(key, false);
  if (!quick || quick->IsNull()) return fallback;
  if (quick->IsScalar()) {
    const std::string_view v = tree_->Scalar(quick->id_);
    if (std::find(choices.begin(), choices.end(), v) != choices.end()) return std::string(v);
  }
  auto n = Get(key);
  SECPROF_ASSIGN_OR_RETURN(std::string v, n->AsString());
  if (std::find(choices.begin(), choices.end(), v) == choices.end()) {
    return Fail(n->MakeError("'" + v + "' is not one of: " + Join(choices)));
  }
  return v;
}

Node Document::root() const { return Node(tree_, tree_->root, ""); }
const std::string& Document::file() const { return tree_->file; }
size_t Document::node_count() const { return tree_->items.size(); }
size_t Document::expanded_node_count() const { return tree_->expanded; }

}  // namespace secprof::yamlio
