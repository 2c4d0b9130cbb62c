// tests/support/catalog_copy.h — a writable copy of the source catalog for loader and CLI tests.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "testutil.h"

namespace secprof::testing {

// A copy of catalog/ in a temporary directory whose files a test can break.
class CatalogCopy {
 public:
  CatalogCopy() {
    for (const auto& e : std::filesystem::directory_iterator(SourceDir() / "catalog")) {
      if (e.path().extension() == ".yaml") {
        std::filesystem::copy_file(e.path(), dir() / e.path().filename());
      }
    }
  }
  const std::filesystem::path& dir() const { return tmp_.path(); }
  std::string Path(const std::string& file) const { return (dir() / file).string(); }

  std::string Read(const std::string& file) const {
    std::ifstream in(Path(file));
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void Write(const std::string& file, const std::string& text) const {
    std::ofstream(Path(file), std::ios::trunc) << text;
  }
  // Replaces the first occurrence of `from` in `file` by `to`; fails the test if absent.
  void Replace(const std::string& file, const std::string& from, const std::string& to) const {
    std::string text = Read(file);
    auto pos = text.find(from);
    ASSERT_NE(pos, std::string::npos) << "'" << from << "' not in " << file;
    text.replace(pos, from.size(), to);
    Write(file, text);
  }
  // "<dir>/<file>:<line>:<col>" of the `nth` (1-based) occurrence of `needle` in `file`, plus
  // `offset` characters; the location a loader error about that text must carry.
  std::string Where(const std::string& file, const std::string& needle, int nth = 1,
                    size_t offset = 0) const {
    const std::string text = Read(file);
    size_t pos = std::string::npos, from = 0;
    for (int i = 0; i < nth; ++i) {
      pos = text.find(needle, from);
      if (pos == std::string::npos) return "<'" + needle + "' not found>";
      from = pos + 1;
    }
    pos += offset;
    int line = 1, col = 1;
    for (size_t i = 0; i < pos; ++i) {
      if (text[i] == '\n') {
        ++line;
        col = 1;
      } else {
        ++col;
      }
    }
    return Path(file) + ":" + std::to_string(line) + ":" + std::to_string(col);
  }

 private:
  secprof::testing::TempDir tmp_;
};

}  // namespace secprof::testing
