// tests/support/fault_fs.h — a FileSystem (core/fs.h) that loses what was not synced.
//
// In the style of leveldb's db/fault_injection_test.cc: every operation goes to the real file
// system, and FaultFs keeps a model of what a power loss would leave:
//   - per file (an "inode", followed across renames), its content as of its last Sync: a file
//     created and never synced is empty after a power loss; a file truncated and rewritten but
//     not synced keeps its old content;
//   - per directory, its durable entries (name -> inode) as of its last SyncDir: a creation, a
//     rename or a removal not followed by SyncDir of its directory is undone.
// PowerLoss() rewrites the watched directories on disk to that durable state. A directory is
// watched from the first operation on a path in it (or Watch()); what it holds then counts as
// durable.
//
// Crashes: CrashAfter(n) lets n more mutating operations (NewFile, NewTempFile, Append, Sync,
// Close, Rename, SyncDir, Remove) through and fails every later operation with kIo, without
// effect, as if the process had died there; a loop over n = 0, 1, 2, ... therefore stops a
// writer at every step. FailNext(op) fails only the next operation of one kind (an I/O error the
// writer must report).
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "secprof/core/fs.h"

namespace secprof::testing {

class FaultFs final : public FileSystem {
 public:
  enum class Op { kNewFile, kNewTempFile, kAppend, kSync, kClose, kRename, kSyncDir, kRemove };

  // Lets `n` more mutating operations succeed; every later one fails (the process "died").
  void CrashAfter(long n) { budget_ = n; }
  // Dies now: every later operation fails until PowerLoss().
  void Crash() { budget_ = 0; }
  bool crashed() const { return dead_; }
  // Fails the next operation of kind `op` (once), with no effect.
  void FailNext(Op op) { fail_next_.insert(op); }
  // Mutating operations that succeeded so far.
  long ops() const { return ops_; }

  // Treats the regular files now in `dir` as durable and follows it from here on.
  void Watch(const std::string& dir) { WatchDir(Norm(dir)); }

  // What a power loss keeps of the directory changes not yet synced.
  enum class Keep {
    kNothing,     // none of them (what leveldb's test does)
    kLastChange,  // only the most recent one: the file system wrote its metadata back out of
                  // order, so a later rename may be on disk while an earlier one is not
  };

  // Drops everything not synced: each watched directory gets back its durable entries (plus, with
  // Keep::kLastChange, the newest unsynced creation, rename or removal), each file its last synced
  // content. Then the file system works again (the machine restarted).
  void PowerLoss(Keep keep = Keep::kNothing) {
    namespace fs = std::filesystem;
    if (keep == Keep::kLastChange && !changes_.empty()) {
      const Change& c = changes_.back();
      if (!c.from.empty()) durable_.erase(c.from);
      if (c.ino > 0)
        durable_[c.path] = c.ino;
      else
        durable_.erase(c.path);
    }
    changes_.clear();
    for (const auto& [path, ino] : current_) {
      auto d = durable_.find(path);
      if (d == durable_.end() || d->second != ino) {
        std::error_code ec;
        fs::remove(path, ec);
      }
    }
    for (const auto& [path, ino] : durable_) {
      std::ofstream out(path, std::ios::binary | std::ios::trunc);
      out << synced_[ino];
    }
    current_ = durable_;
    dead_ = false;
    budget_ = -1;
    fail_next_.clear();
  }

  // ---- FileSystem ----

  Result<std::unique_ptr<WritableFile>> NewFile(const std::string& path, unsigned mode) override {
    SECPROF_TRY(Step(Op::kNewFile));
    const std::string p = Norm(path);
    WatchDir(Parent(p));
    SECPROF_ASSIGN_OR_RETURN(auto real, DefaultFileSystem().NewFile(path, mode));
    auto it = current_.find(p);
    const int ino = it != current_.end() ? it->second : NewInode();  // O_TRUNC keeps the inode
    if (it == current_.end()) changes_.push_back({p, "", ino});
    current_[p] = ino;
    return std::unique_ptr<WritableFile>(new File(this, ino, std::move(real)));
  }

  Result<std::unique_ptr<WritableFile>> NewTempFile(std::string& tmpl, unsigned mode) override {
    SECPROF_TRY(Step(Op::kNewTempFile));
    WatchDir(Parent(Norm(tmpl)));  // before the file exists: it must not count as durable
    SECPROF_ASSIGN_OR_RETURN(auto real, DefaultFileSystem().NewTempFile(tmpl, mode));
    const std::string p = Norm(tmpl);
    const int ino = NewInode();
    current_[p] = ino;
    changes_.push_back({p, "", ino});
    return std::unique_ptr<WritableFile>(new File(this, ino, std::move(real)));
  }

  Status Rename(const std::string& from, const std::string& to) override {
    SECPROF_TRY(Step(Op::kRename));
    const std::string f = Norm(from), t = Norm(to);
    WatchDir(Parent(f));
    WatchDir(Parent(t));
    SECPROF_TRY(DefaultFileSystem().Rename(from, to));
    auto it = current_.find(f);
    if (it != current_.end()) {
      changes_.push_back({t, f, it->second});
      current_[t] = it->second;
      current_.erase(f);
    }
    return Ok();
  }

  Status SyncDir(const std::string& dir) override {
    SECPROF_TRY(Step(Op::kSyncDir));
    const std::string d = Norm(dir);
    WatchDir(d);
    SECPROF_TRY(DefaultFileSystem().SyncDir(dir));
    for (auto it = durable_.begin(); it != durable_.end();)
      it = Parent(it->first) == d ? durable_.erase(it) : std::next(it);
    for (const auto& [path, ino] : current_)
      if (Parent(path) == d) durable_[path] = ino;
    std::erase_if(changes_, [&](const Change& c) { return Parent(c.path) == d; });
    return Ok();
  }

  Result<std::string> ReadFile(const std::string& path) override {
    if (dead_) return Fail(ErrorCode::kIo, "simulated crash: read " + path);
    return DefaultFileSystem().ReadFile(path);
  }

  Status Remove(const std::string& path) override {
    SECPROF_TRY(Step(Op::kRemove));
    const std::string p = Norm(path);
    WatchDir(Parent(p));
    SECPROF_TRY(DefaultFileSystem().Remove(path));
    current_.erase(p);
    changes_.push_back({p, "", 0});
    return Ok();
  }

  Result<std::vector<std::string>> ListDir(const std::string& dir) override {
    if (dead_) return Fail(ErrorCode::kIo, "simulated crash: list " + dir);
    return DefaultFileSystem().ListDir(dir);
  }

 private:
  class File final : public WritableFile {
   public:
    File(FaultFs* fs, int ino, std::unique_ptr<WritableFile> real)
        : fs_(fs), ino_(ino), real_(std::move(real)) {}
    Status Append(std::string_view data) override {
      SECPROF_TRY(fs_->Step(Op::kAppend));
      SECPROF_TRY(real_->Append(data));
      content_.append(data);
      return Ok();
    }
    Status Sync() override {
      SECPROF_TRY(fs_->Step(Op::kSync));
      SECPROF_TRY(real_->Sync());
      fs_->synced_[ino_] = content_;
      return Ok();
    }
    Status Close() override {
      auto step = fs_->Step(Op::kClose);
      auto closed = real_->Close();  // the descriptor goes away even in a "dead" process
      if (!step) return step;
      return closed;
    }

   private:
    FaultFs* fs_;
    int ino_;
    std::unique_ptr<WritableFile> real_;
    std::string content_;  // everything appended since creation (the file was new or truncated)
  };

  Status Step(Op op) {
    if (fail_next_.erase(op)) return Fail(ErrorCode::kIo, "injected I/O error");
    if (budget_ == 0) dead_ = true;
    if (dead_) return Fail(ErrorCode::kIo, "simulated crash");
    if (budget_ > 0) --budget_;
    ++ops_;
    return Ok();
  }

  static std::string Norm(const std::string& p) {
    std::string s = std::filesystem::absolute(p).lexically_normal().string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
  }
  static std::string Parent(const std::string& normed) {
    return std::filesystem::path(normed).parent_path().string();
  }
  int NewInode() {
    synced_[next_ino_] = "";
    return next_ino_++;
  }
  void WatchDir(const std::string& d) {
    if (!watched_.insert(d).second) return;
    namespace fs = std::filesystem;
    std::error_code ec;
    for (fs::directory_iterator it(d, ec), end; !ec && it != end; it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      const std::string p = Norm(it->path().string());
      if (current_.count(p)) continue;
      std::ifstream in(p, std::ios::binary);
      const int ino = NewInode();
      synced_[ino].assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      current_[p] = durable_[p] = ino;
    }
  }

  // A directory change not yet made durable by SyncDir: `path` now names inode `ino` (0: removed);
  // for a rename, `from` no longer names it.
  struct Change {
    std::string path, from;
    int ino = 0;
  };

  std::vector<Change> changes_;         // oldest first
  std::map<std::string, int> current_;  // path -> inode, as the running system sees it
  std::map<std::string, int> durable_;  // path -> inode, as a power loss would leave it
  std::map<int, std::string> synced_;   // inode -> content as of its last Sync
  std::set<std::string> watched_;
  std::set<Op> fail_next_;
  int next_ino_ = 1;
  long budget_ = -1;  // < 0: unlimited
  long ops_ = 0;
  bool dead_ = false;
};

}  // namespace secprof::testing
