// The compact document tree behind yamlio::Node (internal to yamlio).
//
// Built once by Parse() from libyaml's events (parse.cpp) and never changed afterwards, so Nodes
// share it read-only. An alias is not copied: the aliased node's id appears again among its new
// parent's children, so the tree is a DAG whose expanded size Parse() has bounded.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace secprof::yamlio::detail {

struct Tree {
  enum Kind : uint8_t { kNull, kScalar, kSequence, kMap };
  struct Item {
    Kind kind = kNull;
    int32_t line = -1;  // 0-based line and byte column; -1 when unknown
    int32_t column = -1;
    // kScalar: the value is text[first, first + size). kSequence: children are
    // kids[first, first + size).
    // kMap: kids[first, first + size) alternate key, value (size is twice the pair count).
    uint32_t first = 0;
    uint32_t size = 0;
  };

  std::string file;
  std::vector<Item> items;
  std::vector<uint32_t> kids;
  std::string text;  // every scalar's value, back to back (one allocation, not one per scalar)
  uint32_t root = 0;
  size_t expanded = 0;  // nodes with every alias expanded

  std::string_view Scalar(uint32_t id) const {
    const Item& i = items[id];
    return i.kind == kScalar ? std::string_view(text).substr(i.first, i.size) : std::string_view();
  }
};

}  // namespace secprof::yamlio::detail
