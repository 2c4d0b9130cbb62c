// bench_registry — what the KDC's registry costs per operation, next to its floor: an SQLite
// commit with synchronous=FULL in WAL mode (one fsync of the log per transaction).
//
//   bench_registry [--count N] [--dir DIR]
//
// A small driver rather than Google Benchmark: every write changes the file, so iterations are not
// independent. Rates are wall-clock, single process, one connection. DIR (default: the temporary
// directory) decides the disk, which decides the fsync cost that bounds every write.
// Results: docs/REGISTRY.md, section "Performance".
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "bench_util.h"
#include "secprof/core/clock.h"
#include "secprof/registry/registry.h"
#include "secprof/store/sqlite.h"

namespace {

namespace fs = std::filesystem;
using namespace secprof;
using bench::Scratch;
using bench::Steady;

struct Args {
  int count = 500;
  std::string dir;
};

void Row(const char* what, int n, double seconds, const char* note = "") {
  const double rate = n / seconds;
  std::printf("| %-44s | %7d | %10.1f | %8.3f | %s\n", what, n, rate, 1000.0 / rate, note);
}

// Runs fn(i) for i in [0, n) and prints one row; exits on the first error.
void Measure(const char* what, int n, const std::function<Status(int)>& fn, const char* note = "") {
  auto t0 = Steady::now();
  for (int i = 0; i < n; ++i) {
    auto st = fn(i);
    if (!st) {
      std::fprintf(stderr, "%s: %s\n", what, st.error().ToString().c_str());
      std::exit(1);
    }
  }
  Row(what, n, std::chrono::duration<double>(Steady::now() - t0).count(), note);
}

std::string Serial(int i) { return "bench-" + std::to_string(i); }

std::string Fingerprint(int i) {
  char buf[65];
  std::snprintf(buf, sizeof buf, "%064x", i);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--count") && i + 1 < argc) {
      args.count = std::atoi(argv[++i]);
    } else if (!std::strcmp(argv[i], "--dir") && i + 1 < argc) {
      args.dir = argv[++i];
    } else {
      std::fprintf(stderr, "usage: bench_registry [--count N] [--dir DIR]\n");
      return 2;
    }
  }
  const int n = args.count;
  bench::PrintMachine();
  Scratch scratch(args.dir);
  std::printf("registry benchmark in %s, %d operations per row\n", scratch.path().c_str(), n);
  std::printf("| %-44s | %7s | %10s | %8s |\n", "operation", "n", "per s", "ms each");
  std::printf("|%s|%s|%s|%s|\n", std::string(46, '-').c_str(), std::string(9, '-').c_str(),
              std::string(12, '-').c_str(), std::string(10, '-').c_str());

  // The floor: one row per transaction on a bare table.
  {
    auto db = store::Database::Open((scratch.path() / "floor.db").string());
    if (!db || !(*db)->Exec("CREATE TABLE t(id INTEGER PRIMARY KEY, v BLOB)")) return 1;
    store::Database& d = **db;
    Measure("floor: INSERT, one transaction each", n, [&](int i) -> Status {
      SECPROF_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(d));
      SECPROF_ASSIGN_OR_RETURN(store::Statement st, d.Prepare("INSERT INTO t VALUES(?, ?)"));
      SECPROF_TRY(st.Bind(1, int64_t{i}));
      SECPROF_TRY(st.Bind(2, store::ByteView(std::vector<uint8_t>(48, 1))));
      SECPROF_TRY(st.Run());
      return tx.Commit();
    });
    if (!d.Exec("PRAGMA synchronous=NORMAL")) return 1;
    Measure(
        "floor: same, synchronous=NORMAL (not used)", n,
        [&](int i) -> Status {
          SECPROF_ASSIGN_OR_RETURN(store::Transaction tx, store::Transaction::Begin(d));
          SECPROF_ASSIGN_OR_RETURN(store::Statement st, d.Prepare("INSERT INTO t VALUES(?, ?)"));
          SECPROF_TRY(st.Bind(1, int64_t{n + i}));
          SECPROF_TRY(st.Bind(2, store::ByteView(std::vector<uint8_t>(48, 1))));
          SECPROF_TRY(st.Run());
          return tx.Commit();
        },
        "no fsync per commit; loses the tail on power loss");
  }

  auto opened = registry::Registry::Open((scratch.path() / "kdc.db").string(), SystemClock());
  if (!opened) {
    std::fprintf(stderr, "%s\n", opened.error().ToString().c_str());
    return 1;
  }
  registry::Registry& reg = **opened;
  Measure("Allow", n,
          [&](int i) { return reg.Allow(Serial(i), "acme", "bulb", std::nullopt, "owner"); });
  auto input = [](int i) {
    registry::CommissionInput in;
    in.credential_kind = "psk";
    in.credential_id = "psk-" + std::to_string(i);
    in.credential_fingerprint = Fingerprint(i);
    in.wrapped_key = std::vector<uint8_t>(60, 7);
    return in;
  };
  Measure("Commission (first time)", n, [&](int i) -> Status {
    SECPROF_TRY(reg.Commission(Serial(i), input(i), "kdc"));
    return Ok();
  });
  Measure("Commission (repeated join)", n, [&](int i) -> Status {
    SECPROF_TRY(reg.Commission(Serial(i), input(i), "kdc"));
    return Ok();
  });
  Measure("PutNonce + ConsumeNonce (two transactions)", n, [&](int i) -> Status {
    std::vector<uint8_t> nonce(16, 0);
    std::memcpy(nonce.data(), &i, sizeof i);
    SECPROF_TRY(reg.PutNonce(nonce, Serial(i), 4102444800));
    return reg.ConsumeNonce(nonce, Serial(i));
  });
  Measure("Append (audit only)", n,
          [&](int i) { return reg.Append("kdc", "join-refused", Serial(i), "no voucher"); });
  if (!reg.CreateGroup("all", std::vector<uint8_t>(60, 1), "owner")) return 1;
  Measure("AddMember", n, [&](int i) { return reg.AddMember("all", Serial(i), "owner"); });
  Measure("Get", n, [&](int i) -> Status {
    SECPROF_TRY(reg.Get(Serial(i)));
    return Ok();
  });
  Measure("IsCredentialRevoked", n, [&](int i) -> Status {
    SECPROF_TRY(reg.IsCredentialRevoked("psk", "psk-" + std::to_string(i)));
    return Ok();
  });
  Measure("FindByCredential", n, [&](int i) -> Status {
    SECPROF_TRY(reg.FindByCredential("psk", "psk-" + std::to_string(i)));
    return Ok();
  });
  const int few = std::max(1, n / 50);
  Measure("Transition to revoked (leaves a big group)", few, [&](int i) -> Status {
    SECPROF_TRY(reg.Transition(Serial(i), registry::State::kRevoked, "owner", "bench"));
    return Ok();
  });
  auto audit = reg.Audit();
  const int entries = audit ? static_cast<int>(audit->size()) : 0;
  auto t0 = Steady::now();
  if (!reg.VerifyAuditChain()) return 1;
  const double verify = std::chrono::duration<double>(Steady::now() - t0).count();
  Row("VerifyAuditChain, per entry", entries, verify);
  t0 = Steady::now();
  auto list = reg.List();
  if (!list) return 1;
  Row("List, per thing", static_cast<int>(list->size()),
      std::chrono::duration<double>(Steady::now() - t0).count());
  std::printf("file: %.1f KiB for %d things and %d audit entries\n",
              static_cast<double>(fs::file_size(scratch.path() / "kdc.db")) / 1024.0, n, entries);
  return 0;
}
