// secprof/yamlio/reader.h — strict, located reading of YAML documents.
//
// Catalog and model files are written by people; every mistake must be reported with the file,
// line and column where it is. yamlio::Node is a node of a parsed document together with the file
// name and offers typed accessors that return Result, plus CheckKeys() which rejects unknown or
// duplicated keys. Nothing here throws.
//
// Documents are untrusted input, so Parse() builds its own compact tree from libyaml's event
// parser (not a node graph) and enforces Limits while it reads: size, nesting depth,
// and the number of nodes counted with every alias expanded (an "alias bomb" of a few hundred
// bytes that would expand to billions of nodes is refused as soon as the count passes the limit,
// in time linear in the document's length). The text must be UTF-8 (YAML 1.2 section 5.2 allows
// UTF-16/32 too; secprof does not): invalid UTF-8 is refused with the line and column of the
// first bad byte, so every string a Node returns is valid UTF-8. Errors about limits carry
// ErrorCode::kLimit and a reason (kTooLarge, kTooDeep, kTooManyNodes); invalid UTF-8 carries
// kInvalidUtf8. Columns count bytes from 1 (as the yaml-cpp reader before did; libyaml counts
// characters, parse.cpp converts). A document reads as it did with yaml-cpp (parse.cpp says how).
//
//   SECPROF_ASSIGN_OR_RETURN(auto doc, yamlio::LoadFile("examples/home.yaml"));
//   yamlio::Node root = doc.root();
//   SECPROF_TRY(root.CheckKeys({"name", "things"}));
//   SECPROF_ASSIGN_OR_RETURN(std::string name, root.RequiredString("name"));
#pragma once

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "secprof/core/result.h"

namespace secprof::yamlio {

// Stable reasons of Parse() refusals (docs/ERRORS.md "yamlio").
inline constexpr Reason kTooLarge{"yaml-too-large"};
inline constexpr Reason kTooDeep{"yaml-too-deep"};
inline constexpr Reason kTooManyNodes{"yaml-too-many-nodes"};
inline constexpr Reason kInvalidUtf8{"yaml-invalid-utf8"};
inline constexpr Reason kBadAlias{"yaml-bad-alias"};

// Limits applied to every document: a model file is untrusted input.
struct Limits {
  size_t max_bytes = 64u * 1024 * 1024;
  int max_depth = 64;
  // Nodes of the document with every alias expanded (each scalar, null, list and map counts
  // one). Bounds the work of any walk over the tree. 10 million is about what 64 MB of YAML
  // without aliases can hold; the 100,000-entry benchmark model has about 2.6 million.
  size_t max_nodes = 10'000'000;
};

namespace detail {
struct Tree;
}

class Node {
 public:
  Node() = default;
  Node(std::shared_ptr<const detail::Tree> tree, uint32_t id, std::string path)
      : tree_(std::move(tree)), id_(id), path_(std::move(path)) {}

  bool IsMap() const;
  bool IsSequence() const;
  bool IsScalar() const;
  bool IsNull() const;  // a null value, or no node at all

  // Where this node starts, with its field path ("things[2].vendor").
  SourceLocation Location() const;
  const std::string& Path() const { return path_; }
  const std::string& File() const;

  // An kInvalidInput error located at this node.
  Error MakeError(const std::string& message) const;

  // Scalars. Wrong-typed values fail with the expected type named.
  Result<std::string> AsString() const;
  Result<int64_t> AsInt() const;
  Result<double> AsDouble() const;
  Result<bool> AsBool() const;
  Result<std::vector<std::string>> AsStringList() const;  // a sequence of scalars

  // Containers. Items() requires a sequence; Entries() a map (keys are scalars, in file order).
  Result<std::vector<Node>> Items() const;
  Result<std::vector<std::pair<std::string, Node>>> Entries() const;

  // Map lookup; std::nullopt when absent (or when this is not a map).
  std::optional<Node> Get(std::string_view key) const;

  // Fails, located at the offending key, when the map has a key outside `allowed` or a key twice.
  Status CheckKeys(std::initializer_list<std::string_view> allowed) const;
  Status CheckKeys(const std::vector<std::string>& allowed) const;

  // Field helpers on a map node. Required* fail when the key is missing.
  Result<Node> Required(std::string_view key) const;
  Result<std::string> RequiredString(std::string_view key) const;
  Result<std::string> OptionalString(std::string_view key, std::string fallback) const;
  Result<int64_t> RequiredInt(std::string_view key) const;
  Result<int64_t> OptionalInt(std::string_view key, int64_t fallback) const;
  Result<double> OptionalDouble(std::string_view key, double fallback) const;
  Result<bool> OptionalBool(std::string_view key, bool fallback) const;
  Result<std::vector<std::string>> OptionalStringList(std::string_view key) const;

  // One of `choices` (exact match); the error lists them.
  Result<std::string> RequiredEnum(std::string_view key,
                                   std::initializer_list<std::string_view> choices) const;
  Result<std::string> OptionalEnum(std::string_view key,
                                   std::initializer_list<std::string_view> choices,
                                   std::string fallback) const;

 private:
  std::string Scalar() const;  // the scalar's text, or "" for any other kind
  // Map lookup; the Node's field path is built only when `with_path` (for errors).
  std::optional<Node> Lookup(std::string_view key, bool with_path) const;

  std::shared_ptr<const detail::Tree> tree_;
  uint32_t id_ = 0;
  std::string path_;
};

class Document {
 public:
  explicit Document(std::shared_ptr<const detail::Tree> tree) : tree_(std::move(tree)) {}
  Node root() const;
  const std::string& file() const;
  // Nodes in the tree as written (aliases not expanded), and with aliases expanded.
  size_t node_count() const;
  size_t expanded_node_count() const;

 private:
  std::shared_ptr<const detail::Tree> tree_;
};

// Parses YAML text; `name` is used in error locations. Syntax errors are located.
Result<Document> Parse(const std::string& name, std::string_view text, const Limits& limits = {});
// Reads and parses a file.
Result<Document> LoadFile(const std::string& path, const Limits& limits = {});

}  // namespace secprof::yamlio
