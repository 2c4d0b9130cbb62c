#include "secprof/yamlio/reader.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include <yaml-cpp/depthguard.h>

#include "secprof/core/fs.h"

namespace secprof::yamlio {
namespace {

std::string Join(std::initializer_list<std::string_view> items) {
  std::string out;
  for (auto s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

std::string Describe(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "nothing (null)";
  if (n.IsMap()) return "a map";
  if (n.IsSequence()) return "a list";
  return "'" + n.Scalar() + "'";
}

std::string ChildPath(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string(key) : parent + "." + std::string(key);
}

// Rejects documents nested deeper than the limit (yaml-cpp itself recurses without bound on output,
// and our loaders recurse on input).
bool DepthOk(const YAML::Node& n, int depth, int max_depth) {
  if (depth > max_depth) return false;
  if (n.IsMap()) {
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!DepthOk(it->second, depth + 1, max_depth)) return false;
    }
  } else if (n.IsSequence()) {
    for (auto it = n.begin(); it != n.end(); ++it) {
      if (!DepthOk(*it, depth + 1, max_depth)) return false;
    }
  }
  return true;
}

}  // namespace

SourceLocation Node::Location() const {
  SourceLocation loc;
  loc.file = file_ ? *file_ : std::string();
  if (node_.IsDefined()) {
    const YAML::Mark m = node_.Mark();
    if (m.line >= 0) {
      loc.line = m.line + 1;
      loc.column = m.column + 1;
    }
  }
  loc.field = path_;
  return loc;
}

Error Node::MakeError(const std::string& message) const {
  return Error(ErrorCode::kInvalidInput, message, Location());
}

Result<std::string> Node::AsString() const {
  if (!node_.IsScalar()) return Fail(MakeError("expected a string, found " + Describe(node_)));
  return node_.Scalar();
}

Result<int64_t> Node::AsInt() const {
  if (!node_.IsScalar()) return Fail(MakeError("expected an integer, found " + Describe(node_)));
  const std::string& s = node_.Scalar();
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
  if (!node_.IsScalar()) return Fail(MakeError("expected a number, found " + Describe(node_)));
  const std::string& s = node_.Scalar();
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
  if (node_.IsScalar()) {
    const std::string& s = node_.Scalar();
    if (s == "true") return true;
    if (s == "false") return false;
  }
  return Fail(MakeError("expected true or false, found " + Describe(node_)));
}

Result<std::vector<std::string>> Node::AsStringList() const {
  SECPROF_ASSIGN_OR_RETURN(auto items, Items());
  std::vector<std::string> out;
  out.reserve(items.size());
  for (const auto& item : items) {
    SECPROF_ASSIGN_OR_RETURN(auto s, item.AsString());
    out.push_back(std::move(s));
  }
  return out;
}

Result<std::vector<Node>> Node::Items() const {
  if (!node_.IsSequence()) return Fail(MakeError("expected a list, found " + Describe(node_)));
  std::vector<Node> out;
  out.reserve(node_.size());
  size_t i = 0;
  for (auto it = node_.begin(); it != node_.end(); ++it, ++i) {
    out.emplace_back(file_, *it, path_ + "[" + std::to_string(i) + "]");
  }
  return out;
}

Result<std::vector<std::pair<std::string, Node>>> Node::Entries() const {
  if (!node_.IsMap()) return Fail(MakeError("expected a map, found " + Describe(node_)));
  std::vector<std::pair<std::string, Node>> out;
  out.reserve(node_.size());
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (!it->first.IsScalar()) {
      return Fail(Node(file_, it->first, path_).MakeError("map keys must be plain strings"));
    }
    const std::string key = it->first.Scalar();
    out.emplace_back(key, Node(file_, it->second, ChildPath(path_, key)));
  }
  return out;
}

std::optional<Node> Node::Get(std::string_view key) const {
  if (!node_.IsMap()) return std::nullopt;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) {
      return Node(file_, it->second, ChildPath(path_, key));
    }
  }
  return std::nullopt;
}

Status Node::CheckKeys(const std::vector<std::string>& allowed) const {
  if (!node_.IsMap()) return Fail(MakeError("expected a map, found " + Describe(node_)));
  std::set<std::string> seen;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    Node key_node(file_, it->first, path_);
    if (!it->first.IsScalar()) return Fail(key_node.MakeError("map keys must be plain strings"));
    const std::string& key = it->first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      Node located(file_, it->first, ChildPath(path_, key));
      return Fail(located.MakeError("unknown key '" + key + "' (allowed: " + list + ")"));
    }
    if (!seen.insert(key).second) {
      Node located(file_, it->first, ChildPath(path_, key));
      return Fail(located.MakeError("key '" + key + "' appears twice"));
    }
  }
  return Ok();
}

Status Node::CheckKeys(std::initializer_list<std::string_view> allowed) const {
  std::vector<std::string> v;
  for (auto a : allowed) v.emplace_back(a);
  return CheckKeys(v);
}

Result<Node> Node::Required(std::string_view key) const {
  if (!node_.IsMap()) return Fail(MakeError("expected a map, found " + Describe(node_)));
  auto n = Get(key);
  if (!n || n->IsNull()) return Fail(MakeError("missing required key '" + std::string(key) + "'"));
  return *n;
}

Result<std::string> Node::RequiredString(std::string_view key) const {
  SECPROF_ASSIGN_OR_RETURN(Node n, Required(key));
  return n.AsString();
}

Result<std::string> Node::OptionalString(std::string_view key, std::string fallback) const {
  auto n = Get(key);
  if (!n || n->IsNull()) return fallback;
  return n->AsString();
}

Result<int64_t> Node::RequiredInt(std::string_view key) const {
  SECPROF_ASSIGN_OR_RETURN(Node n, Required(key));
  return n.AsInt();
}

Result<int64_t> Node::OptionalInt(std::string_view key, int64_t fallback) const {
  auto n = Get(key);
  if (!n || n->IsNull()) return fallback;
  return n->AsInt();
}

Result<double> Node::OptionalDouble(std::string_view key, double fallback) const {
  auto n = Get(key);
  if (!n || n->IsNull()) return fallback;
  return n->AsDouble();
}

Result<bool> Node::OptionalBool(std::string_view key, bool fallback) const {
  auto n = Get(key);
  if (!n || n->IsNull()) return fallback;
  return n->AsBool();
}

Result<std::vector<std::string>> Node::OptionalStringList(std::string_view key) const {
  auto n = Get(key);
  if (!n || n->IsNull()) return std::vector<std::string>{};
  return n->AsStringList();
}

Result<std::string> Node::RequiredEnum(std::string_view key,
                                       std::initializer_list<std::string_view> choices) const {
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
  auto n = Get(key);
  if (!n || n->IsNull()) return fallback;
  SECPROF_ASSIGN_OR_RETURN(std::string v, n->AsString());
  if (std::find(choices.begin(), choices.end(), v) == choices.end()) {
    return Fail(n->MakeError("'" + v + "' is not one of: " + Join(choices)));
  }
  return v;
}

Result<Document> Parse(const std::string& name, std::string_view text, const Limits& limits) {
  if (text.size() > limits.max_bytes) {
    return Fail(ErrorCode::kLimit,
                "document is larger than " + std::to_string(limits.max_bytes) + " bytes",
                SourceLocation{name, 0, 0, ""});
  }
  try {
    YAML::Node root = YAML::Load(std::string(text));
    if (!DepthOk(root, 0, limits.max_depth)) {
      return Fail(ErrorCode::kLimit,
                  "document nests deeper than " + std::to_string(limits.max_depth) + " levels",
                  SourceLocation{name, 0, 0, ""});
    }
    return Document(name, root);
  } catch (const YAML::DeepRecursion& e) {
    // yaml-cpp's own recursion guard (its message is an unhelpful "bad file").
    SourceLocation loc{name, e.mark.line >= 0 ? e.mark.line + 1 : 0,
                       e.mark.column >= 0 ? e.mark.column + 1 : 0, ""};
    return Fail(ErrorCode::kLimit, "document nests too deeply for the YAML parser", loc);
  } catch (const YAML::Exception& e) {
    SourceLocation loc{name, e.mark.line >= 0 ? e.mark.line + 1 : 0,
                       e.mark.column >= 0 ? e.mark.column + 1 : 0, ""};
    return Fail(ErrorCode::kInvalidInput, "YAML syntax error: " + e.msg, loc);
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kInvalidInput, std::string("YAML error: ") + e.what(),
                SourceLocation{name, 0, 0, ""});
  }
}

Result<Document> LoadFile(const std::string& path, const Limits& limits) {
  SECPROF_ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return Parse(path, text, limits);
}

}  // namespace secprof::yamlio
