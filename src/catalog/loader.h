// src/catalog/loader.h — internal: builds a Catalog from the text of its files.
//
// LoadBuiltin() and LoadDirectory() only differ in where the text comes from; both hand the files
// to LoadFromSources(), which parses them in dependency order and validates every reference.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "secprof/catalog/catalog.h"

namespace secprof::catalog::internal {

// The files of a catalog, in the order they are loaded (each may refer to ids of earlier ones).
inline constexpr const char* kCatalogFiles[] = {
    "catalog.yaml", "standards.yaml", "facts.yaml",       "lifecycle.yaml",
    "layers.yaml",  "threats.yaml",   "mitigations.yaml", "processes.yaml",
    "risk.yaml",    "profiles.yaml",  "rules.yaml",
};

// A file's text and the name errors should use for it ("catalog/threats.yaml").
struct SourceText {
  std::string display_name;
  std::string text;
};

// Returns the text of the catalog file `name` (one of kCatalogFiles), or an error (kNotFound when
// it does not exist).
using SourceReader = std::function<Result<SourceText>(const std::string& name)>;

// Reads every file of kCatalogFiles through `read` and builds the validated catalog.
Result<std::shared_ptr<const Catalog>> LoadFromSources(const SourceReader& read);

}  // namespace secprof::catalog::internal
