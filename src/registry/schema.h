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

// Version 2 (issue 5): firmware releases, staged rollout campaigns and their targets, incidents,
// and the firmware sequence each thing reported. Adds tables only; v1 data is untouched. A
// campaign's max_failure_rate is TEXT holding the shortest round-trip decimal of the double
// (std::to_chars), so the value read back is the value given; `released` counts released targets.
// Optional links (campaigns.incident_id, incidents.campaign_id) are NULL when absent.
inline constexpr char kSchemaV2[] = R"sql(
CREATE TABLE firmware (
  id           INTEGER PRIMARY KEY,
  vendor       TEXT NOT NULL CHECK (vendor <> ''),
  model        TEXT NOT NULL CHECK (model <> ''),
  sequence     INTEGER NOT NULL CHECK (sequence >= 0),
  envelope     BLOB NOT NULL CHECK (length(envelope) > 0),
  image_path   TEXT NOT NULL CHECK (image_path <> ''),
  image_size   INTEGER NOT NULL CHECK (image_size > 0),
  image_digest TEXT NOT NULL CHECK (length(image_digest) = 64),
  added        INTEGER NOT NULL,
  UNIQUE (vendor, model, sequence)
);

CREATE TABLE incidents (
  id           INTEGER PRIMARY KEY,
  vendor       TEXT NOT NULL CHECK (vendor <> ''),
  model        TEXT NOT NULL CHECK (model <> ''),
  min_sequence INTEGER NOT NULL CHECK (min_sequence >= 0),
  max_sequence INTEGER NOT NULL CHECK (max_sequence >= min_sequence),
  severity     TEXT NOT NULL CHECK (severity IN ('low', 'medium', 'high', 'critical')),
  description  TEXT NOT NULL CHECK (description <> ''),
  created      INTEGER NOT NULL,
  campaign_id  INTEGER REFERENCES campaigns(id)
);
CREATE INDEX incidents_by_model ON incidents(vendor, model);

CREATE TABLE campaigns (
  id               INTEGER PRIMARY KEY,
  firmware_id      INTEGER NOT NULL REFERENCES firmware(id),
  state            TEXT NOT NULL CHECK (state IN ('running', 'halted', 'completed')),
  stage_size       INTEGER NOT NULL CHECK (stage_size >= 1),
  max_failure_rate TEXT NOT NULL
                     CHECK (CAST(max_failure_rate AS REAL) BETWEEN 0 AND 1),
  released         INTEGER NOT NULL DEFAULT 0 CHECK (released >= 0),
  reason           TEXT NOT NULL DEFAULT '',
  incident_id      INTEGER REFERENCES incidents(id),
  created          INTEGER NOT NULL,
  updated          INTEGER NOT NULL
);
CREATE INDEX campaigns_by_state ON campaigns(state, id);

CREATE TABLE campaign_targets (
  campaign_id INTEGER NOT NULL REFERENCES campaigns(id),
  position    INTEGER NOT NULL CHECK (position >= 0),
  serial      TEXT NOT NULL REFERENCES things(serial),
  status      TEXT NOT NULL CHECK (status IN ('waiting', 'offered', 'installed', 'failed')),
  detail      TEXT NOT NULL DEFAULT '',
  updated     INTEGER NOT NULL,
  PRIMARY KEY (campaign_id, position),
  UNIQUE (campaign_id, serial)
) WITHOUT ROWID;
CREATE INDEX campaign_targets_by_serial ON campaign_targets(serial, status, campaign_id);

CREATE TABLE thing_firmware (
  serial   TEXT PRIMARY KEY REFERENCES things(serial),
  sequence INTEGER NOT NULL CHECK (sequence >= 0),
  updated  INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// Version 3 (issue 9 item 6, clone guard): the highest reading counter the KDC accepted per thing
// (a reading whose counter is not above it is a replay or a clone's) and the things the KDC
// quarantined as suspected clones (their credential's requests are refused until the owner
// releases them). New tables only.
inline constexpr char kSchemaV3_cloneguard[] = R"sql(
CREATE TABLE reading_counters (
  serial  TEXT PRIMARY KEY REFERENCES things(serial),
  counter INTEGER NOT NULL CHECK (counter >= 0),
  updated INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE quarantine (
  serial TEXT PRIMARY KEY REFERENCES things(serial),
  since  INTEGER NOT NULL,
  reason TEXT NOT NULL
) WITHOUT ROWID;
)sql";

// Version 4 (issue 9, items 4 and 12): SecProf_2 setup codes are kept as the setup-code key K
// (domain/setup_code.h) wrapped by the KDC, never in clear, with their retirement.
// things.setup_code stays for rows written before v4; SQL cannot compute HKDF, so the KDC converts
// those rows when it opens the registry (Registry::ConvertLegacySetupCode); new rows leave it NULL.
inline constexpr char kSchemaV4_setupcodes[] = R"sql(
CREATE TABLE setup_codes (
  serial     TEXT PRIMARY KEY REFERENCES things(serial),
  verifier   BLOB CHECK (verifier IS NULL OR length(verifier) BETWEEN 1 AND 1024),
  allowed    INTEGER NOT NULL,
  retire_at  INTEGER,
  retired_at INTEGER,
  reason     TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
)sql";

// Version 5 (issue 9, item 3): which manufacturer CA verified each imported voucher, as the
// SHA-256 (hex) of that CA certificate's DER. The KDC admits an IDevID for the voucher's serial
// only when it chains to that very CA (docs/VOUCHER.md "Which vendor"). A table of its own: v1's
// things table is untouched; a voucher imported before v5 has no row (the KDC then finds the CA
// by verifying the stored voucher again).
inline constexpr char kSchemaV5_voucher_issuer[] = R"sql(
CREATE TABLE voucher_issuers (
  serial           TEXT PRIMARY KEY REFERENCES things(serial),
  vendor_ca_sha256 TEXT NOT NULL CHECK (length(vendor_ca_sha256) = 64),
  recorded         INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

inline constexpr std::array<store::Migration, 5> kMigrations = {{
    {1, kSchemaV1},
    {2, kSchemaV2},
    {3, kSchemaV3_cloneguard},
    {4, kSchemaV4_setupcodes},
    {5, kSchemaV5_voucher_issuer},
}};

}  // namespace secprof::registry::internal
