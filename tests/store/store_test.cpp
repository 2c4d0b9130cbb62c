// Tests for secprof::store: opening, pragmas, bad files, statements, error mapping, busy handling
// across connections, transactions, migrations, and a crash test (fork + SIGKILL).
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

#include "secprof/store/sqlite.h"
#include "testutil.h"

namespace secprof::store {
namespace {

using secprof::testing::TempDir;

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::unique_ptr<Database> MustOpen(const std::string& path, const OpenOptions& o = {}) {
  auto db = Database::Open(path, o);
  EXPECT_TRUE(db) << (db ? "" : db.error().ToString());
  return db ? std::move(*db) : nullptr;
}

TEST(StoreOpen, CreatesFileAndAppliesPragmas) {
  TempDir dir;
  std::string path = (dir.path() / "a.db").string();
  auto db = MustOpen(path);
  ASSERT_TRUE(db);
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_EQ(db->path(), path);
  EXPECT_EQ(*db->QueryText("PRAGMA journal_mode"), "wal");
  EXPECT_EQ(*db->QueryInt64("PRAGMA synchronous"), 2);  // FULL
  EXPECT_EQ(*db->QueryInt64("PRAGMA foreign_keys"), 1);
  EXPECT_EQ(*db->QueryInt64("PRAGMA busy_timeout"), 5000);
  EXPECT_EQ(*db->QueryInt64("PRAGMA secure_delete"), 1);
  EXPECT_EQ(*db->UserVersion(), 0);
  EXPECT_TRUE(db->IntegrityCheck());
  // The file (and SQLite's -wal beside it) is private to its owner.
  ASSERT_TRUE(db->Exec("CREATE TABLE t(x)"));
  namespace fs = std::filesystem;
  const auto others = fs::perms::group_all | fs::perms::others_all;
  EXPECT_EQ(fs::status(path).permissions() & others, fs::perms::none);
  ASSERT_TRUE(fs::exists(path + "-wal"));
  EXPECT_EQ(fs::status(path + "-wal").permissions() & others, fs::perms::none);
}

TEST(StoreOpen, MissingDirectoryIsAnIoError) {
  TempDir dir;
  std::string path = (dir.path() / "no" / "such" / "a.db").string();
  auto db = Database::Open(path);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code(), ErrorCode::kIo);
  EXPECT_NE(db.error().message().find(path), std::string::npos);
}

TEST(StoreOpen, OptionsAreApplied) {
  TempDir dir;
  std::string path = (dir.path() / "a.db").string();
  OpenOptions o;
  o.busy_timeout = std::chrono::milliseconds(1234);
  auto db = MustOpen(path, o);
  ASSERT_TRUE(db);
  EXPECT_EQ(*db->QueryInt64("PRAGMA busy_timeout"), 1234);
  ASSERT_TRUE(db->Exec("CREATE TABLE t(x)"));
  db.reset();

  OpenOptions ro;
  ro.read_only = true;
  auto rdb = MustOpen(path, ro);
  ASSERT_TRUE(rdb);
  EXPECT_EQ(*rdb->QueryInt64("SELECT count(*) FROM t"), 0);
  auto w = rdb->Exec("INSERT INTO t VALUES(1)");
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), ErrorCode::kIo);
  EXPECT_NE(w.error().message().find(path), std::string::npos) << w.error().message();
}

TEST(StoreOpen, MissingFileWithoutCreateIsNotFound) {
  TempDir dir;
  std::string path = (dir.path() / "missing.db").string();
  OpenOptions o;
  o.create = false;
  auto db = Database::Open(path, o);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code(), ErrorCode::kNotFound);
  EXPECT_NE(db.error().message().find(path), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path));

  auto empty = Database::Open("");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code(), ErrorCode::kInvalidInput);
}

TEST(StoreOpen, TextFileIsRefusedAndLeftAlone) {
  TempDir dir;
  auto path = dir.path() / "notes.db";
  std::string text;
  for (int i = 0; i < 100; ++i) text += "this is a text file, not a database\n";
  std::ofstream(path) << text;
  auto db = Database::Open(path.string());
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(db.error().message().find(path.string()), std::string::npos) << db.error().message();
  EXPECT_NE(db.error().message().find("not a valid SQLite database"), std::string::npos)
      << db.error().message();
  EXPECT_EQ(ReadAll(path), text);
  EXPECT_FALSE(std::filesystem::exists(path.string() + "-wal"));
}

TEST(StoreOpen, DirectoryIsRefused) {
  TempDir dir;
  auto db = Database::Open(dir.path().string());
  ASSERT_FALSE(db);
  EXPECT_NE(db.error().message().find(dir.path().string()), std::string::npos);
}

class StoreDb : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (dir_.path() / "t.db").string();
    db_ = MustOpen(path_);
    ASSERT_TRUE(db_);
    ASSERT_TRUE(db_->Exec(
        "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT UNIQUE, data BLOB, n INTEGER);"
        "CREATE TABLE child(id INTEGER PRIMARY KEY, parent INTEGER NOT NULL REFERENCES t(id));"));
  }
  int64_t Count(const char* table = "t") {
    return *db_->QueryInt64(std::string("SELECT count(*) FROM ") + table);
  }
  TempDir dir_;
  std::string path_;
  std::unique_ptr<Database> db_;
};

TEST_F(StoreDb, BindAndReadEveryType) {
  auto ins = db_->Prepare("INSERT INTO t(id, name, data, n) VALUES(?, ?, ?, ?)");
  ASSERT_TRUE(ins) << ins.error().ToString();
  const std::string with_nul("a\0b", 3);
  const Bytes blob = {0, 1, 2, 0xff};
  ASSERT_TRUE(ins->Bind(1, int64_t{1}));
  ASSERT_TRUE(ins->Bind(2, std::string_view(with_nul)));
  ASSERT_TRUE(ins->Bind(3, ByteView(blob)));
  ASSERT_TRUE(ins->Bind(4, std::optional<int64_t>(-7)));
  ASSERT_TRUE(ins->Run());
  ASSERT_TRUE(ins->Reset());
  ASSERT_TRUE(ins->Bind(1, int64_t{2}));
  ASSERT_TRUE(ins->Bind(2, std::optional<std::string>()));
  ASSERT_TRUE(ins->Bind(3, ByteView()));  // empty blob, not NULL
  ASSERT_TRUE(ins->Bind(4, nullptr));
  ASSERT_TRUE(ins->Run());
  EXPECT_EQ(db_->Changes(), 1);
  EXPECT_EQ(db_->LastInsertRowId(), 2);

  auto sel = db_->Prepare("SELECT id, name, data, n, typeof(data) FROM t ORDER BY id");
  ASSERT_TRUE(sel);
  EXPECT_EQ(sel->ColumnCount(), 5);
  ASSERT_TRUE(*sel->Step());
  EXPECT_EQ(sel->Int64(0), 1);
  EXPECT_EQ(sel->Text(1), with_nul);
  EXPECT_EQ(sel->Blob(2), blob);
  EXPECT_EQ(sel->OptionalInt64(3), std::optional<int64_t>(-7));
  ASSERT_TRUE(*sel->Step());
  EXPECT_EQ(sel->Int64(0), 2);
  EXPECT_TRUE(sel->IsNull(1));
  EXPECT_EQ(sel->OptionalText(1), std::nullopt);
  EXPECT_FALSE(sel->IsNull(2));
  EXPECT_TRUE(sel->Blob(2).empty());
  EXPECT_EQ(sel->Text(4), "blob");
  EXPECT_EQ(sel->OptionalInt64(3), std::nullopt);
  EXPECT_FALSE(*sel->Step());
}

TEST_F(StoreDb, NamedParameters) {
  auto ins = db_->Prepare("INSERT INTO t(id, name) VALUES(:id, @name)");
  ASSERT_TRUE(ins);
  ASSERT_TRUE(ins->Bind(":id", int64_t{5}));
  ASSERT_TRUE(ins->Bind("@name", "five"));
  ASSERT_TRUE(ins->Run());
  auto bad = ins->Bind(":nope", int64_t{1});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidInput);
  EXPECT_NE(bad.error().message().find(":nope"), std::string::npos);
  EXPECT_EQ(*db_->QueryText("SELECT name FROM t WHERE id = 5"), "five");
}

TEST_F(StoreDb, PrepareErrors) {
  auto two = db_->Prepare("SELECT 1; SELECT 2");
  ASSERT_FALSE(two);
  EXPECT_EQ(two.error().code(), ErrorCode::kInvalidInput);
  EXPECT_TRUE(db_->Prepare("SELECT 1;  \n"));
  auto syntax = db_->Prepare("SELEC 1");
  ASSERT_FALSE(syntax);
  EXPECT_EQ(syntax.error().code(), ErrorCode::kIo);
  EXPECT_NE(syntax.error().message().find("syntax error"), std::string::npos);
  EXPECT_NE(syntax.error().message().find(path_), std::string::npos);
  auto empty = db_->Prepare("  ");
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code(), ErrorCode::kInvalidInput);
  auto none = db_->QueryInt64("SELECT id FROM t");
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code(), ErrorCode::kNotFound);
}

TEST_F(StoreDb, ConstraintViolationIsConflictAndChangesNothing) {
  ASSERT_TRUE(db_->Exec("INSERT INTO t(id, name) VALUES(1, 'a')"));
  auto dup = db_->Exec("INSERT INTO t(id, name) VALUES(2, 'a')");
  ASSERT_FALSE(dup);
  EXPECT_EQ(dup.error().code(), ErrorCode::kConflict);
  EXPECT_NE(dup.error().message().find("UNIQUE"), std::string::npos) << dup.error().message();
  // Foreign keys are enforced (PRAGMA foreign_keys=ON).
  auto fk = db_->Exec("INSERT INTO child(id, parent) VALUES(1, 99)");
  ASSERT_FALSE(fk);
  EXPECT_EQ(fk.error().code(), ErrorCode::kConflict);
  EXPECT_NE(fk.error().message().find("FOREIGN KEY"), std::string::npos);
  EXPECT_EQ(Count(), 1);
  EXPECT_EQ(Count("child"), 0);

  // A statement whose step failed can be reset and run again.
  auto ins = db_->Prepare("INSERT INTO t(id, name) VALUES(?, 'a')");
  ASSERT_TRUE(ins);
  ASSERT_TRUE(ins->Bind(1, int64_t{3}));
  EXPECT_FALSE(ins->Run());
  ASSERT_TRUE(ins->Reset());
  ASSERT_TRUE(ins->Bind(1, int64_t{1}));
  EXPECT_FALSE(ins->Run());
  EXPECT_EQ(Count(), 1);
}

TEST_F(StoreDb, TransactionRollsBackOnDestruction) {
  {
    auto tx = Transaction::Begin(*db_);
    ASSERT_TRUE(tx);
    EXPECT_TRUE(db_->InTransaction());
    ASSERT_TRUE(db_->Exec("INSERT INTO t(id) VALUES(1)"));
    EXPECT_EQ(Count(), 1);  // visible inside
  }
  EXPECT_FALSE(db_->InTransaction());
  EXPECT_EQ(Count(), 0);
  {
    auto tx = Transaction::Begin(*db_);
    ASSERT_TRUE(tx);
    ASSERT_TRUE(db_->Exec("INSERT INTO t(id) VALUES(2)"));
    ASSERT_TRUE(tx->Commit());
    auto again = tx->Commit();
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code(), ErrorCode::kInternal);
  }
  EXPECT_EQ(Count(), 1);
  // Explicit rollback, and a moved-from transaction does nothing twice.
  auto tx = Transaction::Begin(*db_);
  ASSERT_TRUE(tx);
  ASSERT_TRUE(db_->Exec("INSERT INTO t(id) VALUES(3)"));
  Transaction moved(std::move(*tx));
  moved.Rollback();
  moved.Rollback();
  EXPECT_EQ(Count(), 1);
  // Other connections never saw uncommitted rows.
  auto other = MustOpen(path_);
  EXPECT_EQ(*other->QueryInt64("SELECT count(*) FROM t"), 1);
}

TEST_F(StoreDb, TransactionsDoNotNest) {
  auto tx = Transaction::Begin(*db_);
  ASSERT_TRUE(tx);
  auto inner = Transaction::Begin(*db_);
  ASSERT_FALSE(inner);
  EXPECT_EQ(inner.error().code(), ErrorCode::kInternal);
  EXPECT_TRUE(db_->InTransaction());  // the failed Begin did not end the outer one
  ASSERT_TRUE(tx->Commit());
}

TEST_F(StoreDb, DeferredTransactionSeesOneSnapshot) {
  ASSERT_TRUE(db_->Exec("INSERT INTO t(id) VALUES(1)"));
  auto other = MustOpen(path_);
  auto tx = Transaction::Begin(*db_, Transaction::Mode::kDeferred);
  ASSERT_TRUE(tx);
  EXPECT_EQ(Count(), 1);  // the read starts the snapshot
  ASSERT_TRUE(other->Exec("INSERT INTO t(id) VALUES(2)"));
  EXPECT_EQ(Count(), 1);
  ASSERT_TRUE(tx->Commit());
  EXPECT_EQ(Count(), 2);
}

TEST_F(StoreDb, BusyAcrossTwoConnections) {
  OpenOptions quick;
  quick.busy_timeout = std::chrono::milliseconds(20);
  auto b = MustOpen(path_, quick);
  ASSERT_TRUE(b);

  auto tx_a = Transaction::Begin(*db_);
  ASSERT_TRUE(tx_a);
  ASSERT_TRUE(db_->Exec("INSERT INTO t(id) VALUES(1)"));

  // B cannot take the write lock while A holds it ...
  auto tx_b = Transaction::Begin(*b);
  ASSERT_FALSE(tx_b);
  EXPECT_EQ(tx_b.error().code(), ErrorCode::kLimit);
  EXPECT_NE(tx_b.error().message().find("database is busy"), std::string::npos)
      << tx_b.error().message();
  EXPECT_NE(tx_b.error().message().find(path_), std::string::npos);
  EXPECT_FALSE(b->InTransaction());
  auto w = b->Exec("INSERT INTO t(id) VALUES(2)");
  ASSERT_FALSE(w);
  EXPECT_EQ(w.error().code(), ErrorCode::kLimit);
  // ... but it can read (WAL): the last committed state.
  EXPECT_EQ(*b->QueryInt64("SELECT count(*) FROM t"), 0);

  ASSERT_TRUE(tx_a->Commit());
  auto tx_b2 = Transaction::Begin(*b);
  ASSERT_TRUE(tx_b2) << tx_b2.error().ToString();
  ASSERT_TRUE(b->Exec("INSERT INTO t(id) VALUES(2)"));
  ASSERT_TRUE(tx_b2->Commit());
  EXPECT_EQ(Count(), 2);
}

// --- migrations ----------------------------------------------------------------------------------

constexpr Migration kMigrations[] = {
    {1, "CREATE TABLE a(x INTEGER);"},
    {2, "CREATE TABLE b(y TEXT); INSERT INTO a(x) VALUES(42);"},
};

TEST(StoreMigrate, FreshThenIdempotent) {
  TempDir dir;
  std::string path = (dir.path() / "m.db").string();
  auto db = MustOpen(path);
  ASSERT_TRUE(db);
  ASSERT_TRUE(Migrate(*db, kMigrations));
  EXPECT_EQ(*db->UserVersion(), 2);
  EXPECT_EQ(*db->QueryInt64("SELECT count(*) FROM a"), 1);
  EXPECT_EQ(*db->QueryInt64("SELECT count(*) FROM b"), 0);
  // Re-running changes nothing (the INSERT of migration 2 does not run again).
  ASSERT_TRUE(Migrate(*db, kMigrations));
  EXPECT_EQ(*db->QueryInt64("SELECT count(*) FROM a"), 1);
  // From another connection too.
  auto other = MustOpen(path);
  ASSERT_TRUE(Migrate(*other, kMigrations));
  EXPECT_EQ(*other->QueryInt64("SELECT count(*) FROM a"), 1);
}

TEST(StoreMigrate, StepwiseFromOlderVersion) {
  TempDir dir;
  std::string path = (dir.path() / "m.db").string();
  auto db = MustOpen(path);
  ASSERT_TRUE(Migrate(*db, std::span<const Migration>(kMigrations, 1)));
  EXPECT_EQ(*db->UserVersion(), 1);
  ASSERT_TRUE(db->Exec("INSERT INTO a(x) VALUES(1)"));
  ASSERT_TRUE(Migrate(*db, kMigrations));
  EXPECT_EQ(*db->UserVersion(), 2);
  EXPECT_EQ(*db->QueryInt64("SELECT count(*) FROM a"), 2);
}

TEST(StoreMigrate, NewerVersionIsRefused) {
  TempDir dir;
  std::string path = (dir.path() / "m.db").string();
  auto db = MustOpen(path);
  ASSERT_TRUE(Migrate(*db, kMigrations));
  ASSERT_TRUE(db->Exec("PRAGMA user_version=7"));
  auto st = Migrate(*db, kMigrations);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kConflict);
  EXPECT_NE(st.error().message().find("database schema version 7 is newer than this secprof (2)"),
            std::string::npos)
      << st.error().message();
  EXPECT_EQ(*db->UserVersion(), 7);
}

TEST(StoreMigrate, FailedMigrationRollsBackToTheLastVersion) {
  TempDir dir;
  std::string path = (dir.path() / "m.db").string();
  auto db = MustOpen(path);
  const Migration bad[] = {
      {1, "CREATE TABLE a(x INTEGER);"},
      {2, "CREATE TABLE c(z); CREATE TABLE a(x);"},  // the second statement fails
  };
  auto st = Migrate(*db, bad);
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message().find("schema migration to version 2"), std::string::npos)
      << st.error().message();
  EXPECT_EQ(*db->UserVersion(), 1);
  EXPECT_EQ(*db->QueryInt64("SELECT count(*) FROM sqlite_schema WHERE name = 'c'"), 0);
  EXPECT_FALSE(db->InTransaction());
}

TEST(StoreMigrate, BadNumberingIsABug) {
  TempDir dir;
  auto db = MustOpen((dir.path() / "m.db").string());
  const Migration gap[] = {{1, "CREATE TABLE a(x);"}, {3, "CREATE TABLE b(x);"}};
  auto st = Migrate(*db, gap);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), ErrorCode::kInternal);
  EXPECT_EQ(*db->UserVersion(), 0);
}

// --- crash test ----------------------------------------------------------------------------------

// Kills and reaps a child process when the test ends, whatever happened.
class ChildGuard {
 public:
  explicit ChildGuard(pid_t pid) : pid_(pid) {}
  ~ChildGuard() { KillAndWait(); }
  void KillAndWait() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int st = 0;
    ::waitpid(pid_, &st, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_;
};

// Reads one 8-byte id from the pipe; false at EOF.
bool ReadId(int fd, int64_t* id) {
  uint8_t buf[8];
  size_t got = 0;
  while (got < sizeof buf) {
    ssize_t n = ::read(fd, buf + got, sizeof buf - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    got += static_cast<size_t>(n);
  }
  std::memcpy(id, buf, sizeof buf);
  return true;
}

// The child: commits rows next, next+1, ... one transaction each, reporting each id on `fd` after
// Commit returned. Never returns.
[[noreturn]] void CommitRowsForever(const std::string& path, int64_t next, int fd) {
  auto db = Database::Open(path);
  if (!db) ::_exit(3);
  const Bytes payload(300, 0xab);
  for (int64_t i = next;; ++i) {
    auto tx = Transaction::Begin(**db);
    if (!tx) ::_exit(4);
    auto ins = (*db)->Prepare("INSERT INTO rows(id, payload) VALUES(?, ?)");
    if (!ins || !ins->Bind(1, i) || !ins->Bind(2, ByteView(payload)) || !ins->Run()) ::_exit(5);
    if (!tx->Commit()) ::_exit(6);
    if (::write(fd, &i, sizeof i) != static_cast<ssize_t>(sizeof i)) ::_exit(7);
  }
}

TEST(StoreCrash, CommittedRowsSurviveSigkill) {
  TempDir dir;
  std::string path = (dir.path() / "crash.db").string();
  {
    auto db = MustOpen(path);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->Exec("CREATE TABLE rows(id INTEGER PRIMARY KEY, payload BLOB NOT NULL)"));
  }
  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::set<int64_t> reported;
  int64_t next = 0;
  for (int round = 0; round < 8; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      CommitRowsForever(path, next, fds[1]);
    }
    ChildGuard child(pid);
    ::close(fds[1]);
    // Let the child commit a random number of rows, then kill it at a random moment.
    const int kill_after = std::uniform_int_distribution<int>(1, 40)(rng);
    for (int i = 0; i < kill_after; ++i) {
      int64_t id;
      ASSERT_TRUE(ReadId(fds[0], &id)) << "child died early";
      reported.insert(id);
    }
    ::usleep(std::uniform_int_distribution<unsigned>(0, 3000)(rng));
    child.KillAndWait();
    for (int64_t id; ReadId(fds[0], &id);) reported.insert(id);
    ::close(fds[0]);

    auto db = MustOpen(path);
    ASSERT_TRUE(db);
    ASSERT_TRUE(db->IntegrityCheck());
    auto sel = db->Prepare("SELECT id FROM rows ORDER BY id");
    ASSERT_TRUE(sel);
    std::set<int64_t> present;
    while (*sel->Step()) present.insert(sel->Int64(0));
    for (int64_t id : reported) EXPECT_TRUE(present.count(id)) << "committed row " << id << " lost";
    // Rows are 0..max without gaps; at most one committed row was not yet reported.
    ASSERT_FALSE(present.empty());
    EXPECT_EQ(*present.begin(), 0);
    EXPECT_EQ(static_cast<int64_t>(present.size()), *present.rbegin() + 1);
    EXPECT_LE(*present.rbegin(), *reported.rbegin() + 1);
    next = *present.rbegin() + 1;
  }
}

}  // namespace
}  // namespace secprof::store
