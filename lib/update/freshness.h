// How current an endpoint's signature database is, and why: what `vigil
// status` reports and what makes `vigil scan` warn.
//
// The database's age is the age of its build: the creation time in the
// signed manifest of the release `vigil update` installed (the database
// directory is then a symlink into the update state), else the newest
// build time in the headers of the .cvd/.cld files in it, else the newest
// modification time of its files. The last update attempt comes from the
// update state's "last-update" file; a refusal there (HTTP 451) carries the
// server's rule, its effective instant and its message.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "update/client.h"
#include "vigil/status.h"

namespace vigil::update {

struct DbState {
  std::string db_dir, state_dir;
  std::string version;          // "stable 12", "daily 27400", or "" when unknown
  int64_t built = 0;            // the database's build time (0: unknown)
  std::string built_source;     // "release manifest", "CVD header", "file times"
  std::optional<LastUpdate> last;
};

// Reads what is known of `db_dir` (a database file or directory) and its
// update state (`state_dir`; empty: db_dir + ".update"). Fails only when
// db_dir cannot be read at all.
Result<DbState> ReadDbState(const std::string& db_dir, const std::string& state_dir);

enum class Freshness {
  kCurrent,   // younger than the stale age
  kStale,     // older than the stale age (exit status 1)
  kRefused,   // the last update attempt was refused by a jurisdiction rule (2)
  kCritical,  // older than the critical age, or of unknown age (2)
};

struct FreshnessLimits {
  int64_t stale_after = 3 * 86400;
  int64_t critical_after = 14 * 86400;
};

Freshness Judge(const DbState& s, int64_t now, const FreshnessLimits& limits);
int FreshnessExitCode(Freshness f);  // 0, 1, 2, 2

// Whole days since the build (floor), or -1 when unknown.
int64_t AgeDays(const DbState& s, int64_t now);

// The report of `vigil status`: several lines, each ending in '\n'.
std::string StatusReport(const DbState& s, int64_t now, const FreshnessLimits& limits);

// One line for `vigil scan`'s stderr, or "" when the database is current.
std::string WarningLine(const DbState& s, int64_t now, const FreshnessLimits& limits);

}  // namespace vigil::update
