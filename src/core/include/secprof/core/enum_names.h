// secprof/core/enum_names.h — one table per enum for its printed names, read both ways.
//
// Instead of a `switch` that names an enum and a chain of `if`s that parses it back (two lists
// that drift apart), a module writes the table once:
//
//   inline constexpr EnumName<StoreKind> kStoreKindNames[] = {
//       {StoreKind::kFile, "file"}, {StoreKind::kPkcs11, "pkcs11"}};
//   const char* StoreKindName(StoreKind k) { return NameOf(kStoreKindNames, k, "?"); }
//   std::optional<StoreKind> k = ValueOf(kStoreKindNames, "pkcs11");
//
// Lookups are linear: the tables are a handful of entries.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace secprof {

template <class E>
struct EnumName {
  E value;
  const char* name;  // a string literal: lives for the whole program
};

// The name of `value` in `table`; `unknown` when the table has no row for it (an out-of-range
// value cast into the enum).
template <class E, size_t N>
constexpr const char* NameOf(const EnumName<E> (&table)[N], E value, const char* unknown) {
  for (const auto& row : table)
    if (row.value == value) return row.name;
  return unknown;
}

// The value named `name` (exact, case-sensitive match), or nullopt.
template <class E, size_t N>
constexpr std::optional<E> ValueOf(const EnumName<E> (&table)[N], std::string_view name) {
  for (const auto& row : table)
    if (name == row.name) return row.value;
  return std::nullopt;
}

// The names of `table` joined by `separator`, in table order (for "expected a, b or c" messages).
template <class E, size_t N>
std::string NamesOf(const EnumName<E> (&table)[N], std::string_view separator = ", ") {
  std::string out;
  for (size_t i = 0; i < N; ++i) {
    if (i) out += separator;
    out += table[i].name;
  }
  return out;
}

}  // namespace secprof
