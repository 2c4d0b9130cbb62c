// secprof/registry/location.h — where a registry lives, as the `--db` value names it: an SQLite
// file path, or a PostgreSQL server as a libpq connection URI (docs/REGISTRY.md "PostgreSQL").
//
//   --db /var/lib/secprof/kdc.db                         an SQLite file (the default backend)
//   --db postgresql://kdc@db.example:5432/secprof        a PostgreSQL database (libpq URI;
//        ?options=-csearch_path%3Dsite1 picks a schema; the password from ~/.pgpass or
//        PGPASSWORD rather than the URI, which other local users may see in `ps`)
#pragma once

#include <string>
#include <string_view>

namespace secprof::registry {

// True when `db` starts with "postgresql://" or "postgres://" (libpq's URI schemes). Anything else
// is an SQLite file path, even when no such file exists yet.
bool IsPostgresUri(std::string_view db);

// `db` fit for messages and logs: in a PostgreSQL URI the password (postgresql://user:PASSWORD@...
// and ?password=PASSWORD) is replaced by "***"; anything else is returned unchanged.
std::string RedactDb(std::string_view db);

// The passwords RedactDb hides, as written in `db` and percent-decoded (empty strings left out);
// for scrubbing them from a third party's message that may quote part of the URI.
std::string ScrubPasswords(std::string message, std::string_view db);

}  // namespace secprof::registry
