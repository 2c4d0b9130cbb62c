// The registry's SQLite schema, one migration per version (docs/REGISTRY.md describes it).
// Internal to the registry module.
#pragma once

#include <array>
#include <cstdint>

#include "secprof/store/sqlite.h"

namespace secprof::registry::internal {

// PRAGMA application_id of a secprof registry ("SPRG"): a file that is some other program's SQLite
// database is refused instead of having our tables added to it.
inline constexpr int64_t kApplicationId = 0x53505247;

// Version 1. States are stored by name (StateName), so the file reads well in the sqlite3 shell.
inline constexpr char kSchemaV1[] = R"sql(
PRAGMA application_id = 1397772871;

CREATE TABLE domain (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE things (
  serial                 TEXT PRIMARY KEY,
  vendor                 TEXT NOT NULL,
  model                  TEXT NOT NULL,
  state                  TEXT NOT NULL CHECK (state IN ('allowed', 'commissioned', 'operational',
                           'maintenance', 'decommissioned', 'revoked', 'evicted', 'replaced')),
  setup_code             TEXT,
  voucher                BLOB NOT NULL DEFAULT x'',
  voucher_expiry         INTEGER,
  credential_kind        TEXT NOT NULL DEFAULT '' CHECK (credential_kind IN ('', 'psk', 'ldevid')),
  credential_id          TEXT NOT NULL DEFAULT '',
  credential_fingerprint TEXT NOT NULL DEFAULT '',
  ldevid_pem             TEXT NOT NULL DEFAULT '',
  wrapped_key            BLOB NOT NULL DEFAULT x'',
  key_epoch              INTEGER NOT NULL DEFAULT 0,
  joins                  INTEGER NOT NULL DEFAULT 0,
  created                INTEGER NOT NULL,
  updated                INTEGER NOT NULL,
  commissioned_at        INTEGER,
  replaced_by            TEXT NOT NULL DEFAULT '',
  replaces               TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE UNIQUE INDEX things_by_credential ON things(credential_kind, credential_id)
  WHERE credential_kind <> '';
CREATE INDEX things_by_state ON things(state);

CREATE TABLE groups (
  name        TEXT PRIMARY KEY,
  epoch       INTEGER NOT NULL CHECK (epoch >= 1),
  wrapped_key BLOB NOT NULL,
  needs_rekey INTEGER NOT NULL DEFAULT 0 CHECK (needs_rekey IN (0, 1)),
  created     INTEGER NOT NULL,
  updated     INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE group_members (
  group_name TEXT NOT NULL REFERENCES groups(name) ON DELETE CASCADE,
  serial     TEXT NOT NULL REFERENCES things(serial),
  added      INTEGER NOT NULL,
  PRIMARY KEY (group_name, serial)
) WITHOUT ROWID;
CREATE INDEX group_members_by_serial ON group_members(serial);

CREATE TABLE nonces (
  nonce   BLOB PRIMARY KEY,
  serial  TEXT NOT NULL,
  expires INTEGER NOT NULL,
  used_at INTEGER
) WITHOUT ROWID;
CREATE INDEX nonces_by_expiry ON nonces(expires);

CREATE TABLE revoked_credentials (
  kind       TEXT NOT NULL CHECK (kind IN ('psk', 'ldevid')),
  id         TEXT NOT NULL,
  serial     TEXT NOT NULL,
  revoked_at INTEGER NOT NULL,
  reason     TEXT NOT NULL,
  PRIMARY KEY (kind, id)
) WITHOUT ROWID;

CREATE TABLE audit (
  seq    INTEGER PRIMARY KEY CHECK (seq >= 1),
  time   INTEGER NOT NULL,
  actor  TEXT NOT NULL,
  action TEXT NOT NULL,
  serial TEXT NOT NULL,
  detail TEXT NOT NULL,
  hash   TEXT NOT NULL
);
CREATE INDEX audit_by_serial ON audit(serial, seq);
CREATE INDEX audit_by_action ON audit(action, serial);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
)sql";

inline constexpr std::array<store::Migration, 1> kMigrations = {{
    {1, kSchemaV1},
}};

}  // namespace secprof::registry::internal
