// secprof/yamlio/reader.h — strict, located reading of YAML documents.
//
// Catalog and model files are written by people; every mistake must be reported with the file,
// line and column where it is. yamlio::Node wraps a yaml-cpp node together with the file name and
// offers typed accessors that return Result, plus CheckKeys() which rejects unknown or duplicated
// keys. Nothing here throws: yaml-cpp's exceptions are caught at this boundary.
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

#include <yaml-cpp/yaml.h>

#include "secprof/core/result.h"

namespace secprof::yamlio {

// Limits applied to every document: a model file is untrusted input.
struct Limits {
  size_t max_bytes = 64u * 1024 * 1024;
  int max_depth = 64;
};

class Node {
 public:
  Node() = default;
  Node(std::shared_ptr<const std::string> file, YAML::Node node, std::string path)
      : file_(std::move(file)), node_(std::move(node)), path_(std::move(path)) {}

  bool IsMap() const { return node_.IsMap(); }
  bool IsSequence() const { return node_.IsSequence(); }
  bool IsScalar() const { return node_.IsScalar(); }
  bool IsNull() const { return !node_.IsDefined() || node_.IsNull(); }

  // Where this node starts, with its field path ("things[2].vendor").
  SourceLocation Location() const;
  const std::string& Path() const { return path_; }
  const std::string& File() const { return *file_; }

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
  std::shared_ptr<const std::string> file_;
  YAML::Node node_;
  std::string path_;
};

class Document {
 public:
  Document(std::string file, YAML::Node root)
      : file_(std::make_shared<const std::string>(std::move(file))), root_(std::move(root)) {}
  Node root() const { return Node(file_, root_, ""); }
  const std::string& file() const { return *file_; }

 private:
  std::shared_ptr<const std::string> file_;
  YAML::Node root_;
};

// Parses YAML text; `name` is used in error locations. Syntax errors are located.
Result<Document> Parse(const std::string& name, std::string_view text, const Limits& limits = {});
// Reads and parses a file.
Result<Document> LoadFile(const std::string& path, const Limits& limits = {});

}  // namespace secprof::yamlio
