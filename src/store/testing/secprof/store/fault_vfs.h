// secprof/store/fault_vfs.h — TEST SUPPORT ONLY (target secprof::store_fault_vfs, never linked into
// the binary): a SQLite VFS that simulates a power loss by dropping every write that was not
// synced, in the style of leveldb's fault_injection_test (its FaultInjectionTestEnv drops the
// unsynced tail of each file).
//
//   FaultVfs vfs;                 // wraps the default VFS and becomes the default
//   ... create the database the test starts from, close it ...
//   vfs.MarkAllDurable();         // its files now count as on disk
//   vfs.CrashAt(17);              // the 17th write/truncate/sync from now fails: the machine dies
//   ... run operations until one fails, close every connection ...
//   ASSERT_TRUE(vfs.PowerLoss()); // the disk as it was at each file's last sync
//   ... reopen and check ...
//
// The model (what a power loss may lose, per file SQLite opens through xOpen):
//  - xWrite and xTruncate since the file's last xSync are undone (their old bytes are read before
//    they are overwritten and put back in reverse order; the file is cut to its size at that
//    sync). Synced data is never lost or torn: the disk is assumed to honour fsync.
//  - A file created since MarkAllDurable and never synced vanishes: its directory entry was never
//    made durable. A synced one stays: SQLite's unix VFS fsyncs the directory at the first sync of
//    a journal or WAL it created (UNIXFILE_DIRSYNC), which this VFS cannot see, so it takes it on
//    trust. A file that an open(2) outside SQLite created is not seen at all.
//  - An xDelete without its directory sync (syncDir = 0) is undone: the file comes back with its
//    content as of its last sync.
//  - The -shm file (shared memory, mapped, rebuilt by SQLite from the WAL on first open) and
//    temporary files are not modelled.
// After the crash event every write, truncate, sync and delete fails with SQLITE_IOERR (the
// machine is gone; nothing more reaches the disk), reads keep working.
//
// One FaultVfs at a time per process; not thread-safe beyond an internal mutex around its books.
#pragma once

#include <cstdint>
#include <memory>

#include "secprof/core/result.h"

namespace secprof::store::testing {

class FaultVfs {
 public:
  // Registers the VFS "secprof-fault" over the current default VFS and makes it the default, so
  // every sqlite3_open_v2 without a VFS name uses it. kInternal when one is registered already.
  static Result<std::unique_ptr<FaultVfs>> Install();
  // Unregisters it and makes the previous default the default again. REQUIRES: no connection
  // opened through it is still open.
  ~FaultVfs();
  FaultVfs(const FaultVfs&) = delete;
  FaultVfs& operator=(const FaultVfs&) = delete;

  // Every file's current content counts as durable; the event count restarts at 0.
  void MarkAllDurable();
  // The `event`-th write, truncate or sync from now on (1-based) fails, and with it everything
  // after it (see the file comment). 0: no crash.
  void CrashAt(int64_t event);
  // True once the crash event happened.
  bool crashed() const;
  // Writes, truncates and syncs counted since MarkAllDurable (a dry run tells a test how many
  // crash points there are).
  int64_t events() const;
  // Syncs since MarkAllDurable.
  int64_t syncs() const;

  // The power loss (the model in the file comment). REQUIRES: every connection is closed. Then
  // MarkAllDurable: the machine runs again, from the disk as it was. kIo naming the file when it
  // cannot be restored.
  Status PowerLoss();

  struct Impl;

 private:
  explicit FaultVfs(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace secprof::store::testing
