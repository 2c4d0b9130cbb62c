// Tests for secprof::store's typed helpers: Statement::BindAll (each bound type, NULL, a wrong
// argument count), Database::Execute, QueryAll, QueryOptional and QueryOne (rows read by value or
// by Result, an error from the reader, a SQL error, a constraint violation).
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "secprof/store/sqlite.h"
#include "testutil.h"

namespace secprof::store {
namespace {

using secprof::testing::TempDir;

struct Row {
  int64_t id = 0;
  std::optional<std::string> name;
  Bytes data;
  std::optional<int64_t> n;
  bool data_null = false;
};

Row ReadRow(const Statement& st) {
  return Row{st.Int64(0), st.OptionalText(1), st.Blob(2), st.OptionalInt64(3), st.IsNull(2)};
}

class StoreQuery : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = Database::Open((dir_.path() / "q.db").string());
    ASSERT_TRUE(db) << db.error().ToString();
    db_ = std::move(*db);
    ASSERT_TRUE(
        db_->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT UNIQUE, data BLOB, "
                  "n INTEGER)"));
  }
  std::vector<Row> All() {
    auto rows = db_->QueryAll<Row>("SELECT id, name, data, n FROM t ORDER BY id", ReadRow);
    EXPECT_TRUE(rows) << rows.error().ToString();
    return rows ? *rows : std::vector<Row>{};
  }
  TempDir dir_;
  std::unique_ptr<Database> db_;
};

TEST_F(StoreQuery, ExecuteBindsEveryType) {
  const std::string text("a\0b", 3);
  const Bytes blob = {0, 1, 0xff};
  const char* c_text = "c-string";
  // int64_t, std::string, Bytes, int
  ASSERT_TRUE(db_->Execute("INSERT INTO t VALUES(?, ?, ?, ?)", int64_t{1}, text, blob, 42));
  // int, std::string_view, ByteView, bool
  ASSERT_TRUE(db_->Execute("INSERT INTO t VALUES(?, ?, ?, ?)", 2, std::string_view("sv"),
                           ByteView(blob).subspan(1), true));
  // const char*, a string literal, an empty blob, false
  ASSERT_TRUE(db_->Execute("INSERT INTO t VALUES(?, ?, ?, ?)", int64_t{3}, c_text, Bytes{}, false));
  ASSERT_TRUE(db_->Execute("UPDATE t SET name = ? WHERE id = ?", "literal", 3));
  EXPECT_EQ(db_->Changes(), 1);
  std::vector<Row> rows = All();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].name, text);  // an embedded NUL survives
  EXPECT_EQ(rows[0].data, blob);
  EXPECT_EQ(rows[0].n, 42);
  EXPECT_EQ(rows[1].name, "sv");
  EXPECT_EQ(rows[1].data, (Bytes{1, 0xff}));
  EXPECT_EQ(rows[1].n, 1);  // true
  EXPECT_EQ(rows[2].name, "literal");
  EXPECT_TRUE(rows[2].data.empty());
  EXPECT_FALSE(rows[2].data_null);  // an empty blob, not NULL
  EXPECT_EQ(rows[2].n, 0);          // false
}

TEST_F(StoreQuery, NullFromNullptrAndEmptyOptional) {
  const std::optional<std::string> no_text;
  const std::optional<int64_t> no_int;
  const std::optional<Bytes> no_blob;
  ASSERT_TRUE(db_->Execute("INSERT INTO t VALUES(?, ?, ?, ?)", 1, no_text, no_blob, no_int));
  ASSERT_TRUE(db_->Execute("INSERT INTO t VALUES(?, ?, ?, ?)", 2, nullptr, nullptr, nullptr));
  // A full optional binds its value.
  ASSERT_TRUE(db_->Execute("INSERT INTO t VALUES(?, ?, ?, ?)", 3, std::optional<std::string>("x"),
                           std::optional<Bytes>(Bytes{7}), std::optional<int>(5)));
  std::vector<Row> rows = All();
  ASSERT_EQ(rows.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(rows[i].name, std::nullopt);
    EXPECT_TRUE(rows[i].data_null);
    EXPECT_EQ(rows[i].n, std::nullopt);
  }
  EXPECT_EQ(rows[2].name, "x");
  EXPECT_EQ(rows[2].data, Bytes{7});
  EXPECT_EQ(rows[2].n, 5);
  // NULL compares as unknown: a parameter bound NULL selects nothing with "=".
  auto none = db_->QueryAll<int64_t>(
      "SELECT id FROM t WHERE name = ?", [](const Statement& s) { return s.Int64(0); }, nullptr);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_F(StoreQuery, NumberedParametersMayRepeat) {
  ASSERT_TRUE(db_->Execute("INSERT INTO t(id, name, n) VALUES(?1, ?2, ?1)", 9, "nine"));
  auto n = db_->QueryOne<int64_t>(
      "SELECT n FROM t WHERE id = ?1 AND n = ?1", [](const Statement& s) { return s.Int64(0); }, 9);
  ASSERT_TRUE(n) << n.error().ToString();
  EXPECT_EQ(*n, 9);
}

TEST_F(StoreQuery, WrongArgumentCountIsRefusedAndWritesNothing) {
  auto few = db_->Execute("INSERT INTO t(id, name) VALUES(?, ?)", 1);
  ASSERT_FALSE(few);
  EXPECT_EQ(few.error().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(few.error().message().find("takes 2 parameters, 1 given"), std::string::npos);
  auto many = db_->Execute("INSERT INTO t(id) VALUES(?)", 1, "extra");
  ASSERT_FALSE(many);
  EXPECT_EQ(many.error().code(), ErrorCode::kInvalidInput);
  auto query = db_->QueryAll<int64_t>("SELECT id FROM t WHERE id = ?",
                                      [](const Statement& s) { return s.Int64(0); });
  ASSERT_FALSE(query);
  EXPECT_EQ(query.error().code(), ErrorCode::kInvalidInput);
  EXPECT_TRUE(All().empty());
  // BindAll on a prepared statement: the same check.
  auto st = db_->Prepare("SELECT ?, ?");
  ASSERT_TRUE(st);
  EXPECT_FALSE(st->BindAll(1));
  EXPECT_TRUE(st->BindAll(1, "two"));
}

TEST_F(StoreQuery, SqlErrorIsReported) {
  auto bad = db_->Execute("INSERT INTO nowhere VALUES(?)", 1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kIo);
  EXPECT_NE(bad.error().message().find("no such table"), std::string::npos);
  auto q =
      db_->QueryAll<int64_t>("SELECT nope FROM t", [](const Statement& s) { return s.Int64(0); });
  ASSERT_FALSE(q);
  EXPECT_NE(q.error().message().find("no such column"), std::string::npos);
  // Two statements are refused by Execute (Exec runs scripts).
  auto two = db_->Execute("DELETE FROM t; DELETE FROM t");
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().code(), ErrorCode::kInvalidInput);
}

TEST_F(StoreQuery, ConstraintViolationIsConflictAndChangesNothing) {
  ASSERT_TRUE(db_->Execute("INSERT INTO t(id, name) VALUES(?, ?)", 1, "a"));
  auto dup = db_->Execute("INSERT INTO t(id, name) VALUES(?, ?)", 2, "a");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kConflict);
  ASSERT_EQ(All().size(), 1u);
}

TEST_F(StoreQuery, QueryAllReadsEveryRowInOrder) {
  for (int i = 5; i >= 1; --i)
    ASSERT_TRUE(db_->Execute("INSERT INTO t(id, n) VALUES(?, ?)", i, i * 10));
  auto rows = db_->QueryAll<std::pair<int64_t, int64_t>>(
      "SELECT id, n FROM t WHERE n >= ? ORDER BY id",
      [](const Statement& s) { return std::pair<int64_t, int64_t>(s.Int64(0), s.Int64(1)); }, 20);
  ASSERT_TRUE(rows) << rows.error().ToString();
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ(rows->front(), (std::pair<int64_t, int64_t>(2, 20)));
  EXPECT_EQ(rows->back(), (std::pair<int64_t, int64_t>(5, 50)));
}

TEST_F(StoreQuery, ReaderReturningResultStopsAtItsError) {
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(db_->Execute("INSERT INTO t(id) VALUES(?)", i));
  int calls = 0;
  auto rows = db_->QueryAll<int64_t>(
      "SELECT id FROM t ORDER BY id", [&](const Statement& s) -> Result<int64_t> {
        ++calls;
        if (s.Int64(0) == 2) return Fail(ErrorCode::kInvalidInput, "row 2 is malformed");
        return s.Int64(0);
      });
  ASSERT_FALSE(rows);
  EXPECT_EQ(rows.error().code(), ErrorCode::kInvalidInput);
  EXPECT_EQ(rows.error().message(), "row 2 is malformed");
  EXPECT_EQ(calls, 2);
}

TEST_F(StoreQuery, QueryOptionalAndQueryOne) {
  ASSERT_TRUE(db_->Execute("INSERT INTO t(id, name) VALUES(?, ?), (?, ?)", 1, "a", 2, "b"));
  auto name = [](const Statement& s) { return s.Text(0); };
  auto first = db_->QueryOptional<std::string>("SELECT name FROM t ORDER BY id", name);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, std::optional<std::string>("a"));  // only the first row
  auto none = db_->QueryOptional<std::string>("SELECT name FROM t WHERE id = ?", name, 3);
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, std::nullopt);
  auto one = db_->QueryOne<std::string>("SELECT name FROM t WHERE id = ?", name, 2);
  ASSERT_TRUE(one);
  EXPECT_EQ(*one, "b");
  auto missing = db_->QueryOne<std::string>("SELECT name FROM t WHERE id = ?", name, 3);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
}

}  // namespace
}  // namespace secprof::store
