// The registry's one transaction-plus-audit core (internal). Every mutating method of every
// aggregate has the same shape, written once here:
//
//   validate the arguments (no I/O, in the aggregate)  ->  Ledger::Write: lock the mutex  ->
//   BEGIN IMMEDIATE  ->  work(tx): read, check, write, tx.Audit(...)  ->  COMMIT
//
// Any error from `work` (or an exception through it) rolls the transaction back: nothing changes,
// no audit entry. The audit entry goes into the same transaction as the change, so the two are
// durable together or not at all (docs/REGISTRY.md "Durability"). Reads go through Read (one
// statement or several without a snapshot, as before) or Snapshot (BEGIN DEFERRED: one
// consistent view).
//
// The aggregates see only Tx: statements with positional parameters bound by type (the same rules
// as store::Statement::BindAll) and rows read through Row. They never see SQLite (storage.h).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "secprof/core/clock.h"
#include "secprof/core/result.h"
#include "storage.h"

namespace secprof::registry::internal {

namespace detail {
template <class T>
struct IsOptional : std::false_type {};
template <class T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <class R>
struct Unwrap {
  using type = R;
};
template <class T>
struct Unwrap<Result<T>> {
  using type = T;
};

// A parameter as a Value: signed integers and bool as integers, strings as text, byte vectors and
// spans as blobs, nullptr and an empty optional as NULL. The views point into `v`.
template <class T>
Value ToValue(const T& v) {
  if constexpr (IsOptional<T>::value) {
    if (!v) return nullptr;
    return ToValue(*v);
  } else if constexpr (std::is_same_v<T, std::nullptr_t>) {
    return nullptr;
  } else if constexpr (std::is_same_v<T, bool>) {
    return int64_t{v ? 1 : 0};
  } else if constexpr (std::is_integral_v<T>) {
    static_assert(std::is_signed_v<T>, "bind unsigned integers as int64_t after a range check");
    return static_cast<int64_t>(v);
  } else if constexpr (std::is_same_v<T, Bytes> || std::is_same_v<T, ByteView>) {
    return ByteView(v);
  } else {
    return std::string_view(v);
  }
}

template <class T, class F>
Result<T> ReadRow(F& read, const Row& row) {
  using R = std::invoke_result_t<F&, const Row&>;
  static_assert(std::is_same_v<typename Unwrap<R>::type, T>, "a row reader returns T or Result<T>");
  if constexpr (std::is_same_v<R, T>) {
    return Result<T>(read(row));
  } else {
    return read(row);
  }
}
}  // namespace detail

// One open transaction (or, under Read, none), handed to an aggregate's work.
class Tx {
 public:
  // Unix seconds from the registry's Clock, read once when the work started.
  int64_t now() const { return now_; }

  // One statement, rows discarded. Parameters bind to ?1..?N in order.
  template <class... Args>
  Status Execute(std::string_view sql, const Args&... args) {
    const std::array<Value, sizeof...(Args)> values{detail::ToValue(args)...};
    return storage_.Execute(sql, values);
  }

  // read(row) for every row, in order; `read` returns T or Result<T> (an error ends the query).
  template <class T, class F, class... Args>
  Result<std::vector<T>> QueryAll(std::string_view sql, F&& read, const Args&... args) {
    const std::array<Value, sizeof...(Args)> values{detail::ToValue(args)...};
    std::vector<T> out;
    SECPROF_TRY(storage_.Query(sql, values, [&](const Row& row) -> Result<bool> {
      SECPROF_ASSIGN_OR_RETURN(T value, detail::ReadRow<T>(read, row));
      out.push_back(std::move(value));
      return true;
    }));
    return out;
  }

  // The first row only; nullopt when there is none.
  template <class T, class F, class... Args>
  Result<std::optional<T>> QueryOptional(std::string_view sql, F&& read, const Args&... args) {
    const std::array<Value, sizeof...(Args)> values{detail::ToValue(args)...};
    std::optional<T> out;
    SECPROF_TRY(storage_.Query(sql, values, [&](const Row& row) -> Result<bool> {
      SECPROF_ASSIGN_OR_RETURN(T value, detail::ReadRow<T>(read, row));
      out = std::move(value);
      return false;
    }));
    return out;
  }

  // each(row) -> Status for every row, in order, without collecting them; an error ends the query.
  template <class F, class... Args>
  Status ForEach(std::string_view sql, F&& each, const Args&... args) {
    const std::array<Value, sizeof...(Args)> values{detail::ToValue(args)...};
    return storage_.Query(sql, values, [&](const Row& row) -> Result<bool> {
      SECPROF_TRY(each(row));
      return true;
    });
  }

  // True when the query returns a row.
  template <class... Args>
  Result<bool> Exists(std::string_view sql, const Args&... args) {
    SECPROF_ASSIGN_OR_RETURN(std::optional<bool> row,
                             QueryOptional<bool>(
                                 sql, [](const Row&) { return true; }, args...));
    return row.has_value();
  }

  int64_t Changes() const { return storage_.Changes(); }
  int64_t LastInsertId() const { return storage_.LastInsertId(); }

  // Appends one hash-chained audit entry in this transaction (audit.cpp; the chain in
  // AuditLog::VerifyAuditChain). `detail` is sanitised (control characters escaped, cut at 4096
  // bytes). REQUIRES: inside Ledger::Write.
  Status Audit(std::string_view actor, std::string_view action, std::string_view serial,
               std::string_view detail);

 private:
  friend class Ledger;
  Tx(Storage& storage, int64_t now) : storage_(storage), now_(now) {}
  Storage& storage_;
  int64_t now_;
};

class Ledger {
 public:
  // `clock` must outlive the Ledger.
  Ledger(std::unique_ptr<Storage> storage, const Clock& clock)
      : storage_(std::move(storage)), clock_(clock) {}

  // lock -> BEGIN IMMEDIATE -> work(tx) -> COMMIT; an error from work rolls back (see the file
  // comment). `work` returns Status or Result<T>; Write returns it (or the commit's error).
  template <class F>
  auto Write(F&& work) -> std::invoke_result_t<F&, Tx&> {
    return InTransaction(Storage::Mode::kWrite, work);
  }
  // lock -> BEGIN DEFERRED -> work(tx) -> end: several reads from one snapshot. `work` must not
  // write.
  template <class F>
  auto Snapshot(F&& work) -> std::invoke_result_t<F&, Tx&> {
    return InTransaction(Storage::Mode::kRead, work);
  }
  // lock -> work(tx), no transaction (each statement is atomic by itself). `work` must not write.
  template <class F>
  auto Read(F&& work) -> std::invoke_result_t<F&, Tx&> {
    std::lock_guard lock(mu_);
    Tx tx(*storage_, Now());
    return work(tx);
  }

  // Runs `after` under the lock once `work` committed: for what cannot run inside a transaction
  // (Storage::EraseFreedPages). Returns work's error, else after's.
  template <class F>
  Status WriteThen(F&& work, Status (Storage::*after)()) {
    std::lock_guard lock(mu_);
    SECPROF_TRY(InTransactionLocked(Storage::Mode::kWrite, work));
    return ((*storage_).*after)();
  }

  Storage& storage() { return *storage_; }

 private:
  int64_t Now() const { return UnixSeconds(clock_); }
  template <class F>
  auto InTransaction(Storage::Mode mode, F& work) -> std::invoke_result_t<F&, Tx&> {
    std::lock_guard lock(mu_);
    return InTransactionLocked(mode, work);
  }
  template <class F>
  auto InTransactionLocked(Storage::Mode mode, F& work) -> std::invoke_result_t<F&, Tx&> {
    SECPROF_TRY(storage_->Begin(mode));
    // Rolls back unless committed, also when `work` throws.
    struct Guard {
      Storage* s;
      ~Guard() {
        if (s != nullptr) s->Rollback();
      }
    } guard{storage_.get()};
    Tx tx(*storage_, Now());
    auto result = work(tx);
    if (!result) return result;
    guard.s = nullptr;
    SECPROF_TRY(storage_->Commit());  // a failed Commit has rolled back
    return result;
  }

  std::unique_ptr<Storage> storage_;
  const Clock& clock_;
  std::mutex mu_;
};

}  // namespace secprof::registry::internal
