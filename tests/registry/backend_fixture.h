// tests/registry/backend_fixture.h — one registry test, run on each storage backend: SQLite (a
// file in a temporary directory) and PostgreSQL (a fresh schema on the test binary's one server,
// support/postgres_fixture.h). A PostgreSQL case is SKIPPED with the reason when no server can
// run here. INSTANTIATE_BACKENDS(Suite) names the cases Suite.Test/SQLite and .../PostgreSQL.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>

#include "secprof/core/clock.h"
#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"
#include "support/postgres_fixture.h"
#include "testutil.h"

namespace secprof::registry {

enum class Backend { kSqlite, kPostgres };

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "SQLite" : "PostgreSQL";
}

inline constexpr int64_t kBackendStart = 1'700'000'000;  // the fake clock's start, unix s

class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  BackendTest()
      : clock_(std::chrono::system_clock::time_point(std::chrono::seconds(kBackendStart))) {}

  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      SECPROF_REQUIRE_POSTGRES(server);
      server_ = server;
      db_ = server->NewDatabase();
    } else {
      db_ = (dir_.path() / "kdc.db").string();
    }
    reg_ = Open();
    ASSERT_NE(reg_, nullptr);
  }

  // Another Registry on the same database (nullptr after a failed assertion).
  std::unique_ptr<Registry> Open(std::chrono::milliseconds busy = std::chrono::seconds(5)) {
    auto r = Registry::Open(db_, clock_, busy);
    EXPECT_TRUE(r) << r.error().ToString();
    return r ? std::move(*r) : nullptr;
  }

  bool postgres() const { return GetParam() == Backend::kPostgres; }
  int64_t Now() const { return UnixSeconds(clock_); }

  // Raw SQL beside the registry (an attacker with database access, or a test's set-up); "" on
  // success, else the error text.
  std::string RawSql(const std::string& sql) {
    if (postgres()) return testing::PostgresServer::Sql(db_, sql);
    auto st = reg_->database().Exec(sql);
    return st ? "" : st.error().ToString();
  }

  testing::TempDir dir_;
  testing::PostgresServer* server_ = nullptr;
  std::string db_;
  FakeClock clock_;
  std::unique_ptr<Registry> reg_;
};

#define INSTANTIATE_BACKENDS(suite)                                                    \
  INSTANTIATE_TEST_SUITE_P(Backends, suite,                                            \
                           ::testing::Values(::secprof::registry::Backend::kSqlite,    \
                                             ::secprof::registry::Backend::kPostgres), \
                           ::secprof::registry::BackendName)

}  // namespace secprof::registry
