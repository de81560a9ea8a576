// The update client (`vigil update`, `vigil log verify`).
//
// An update, against each configured server in turn until one succeeds:
//   1. fetch the channel's signed manifest and the log's latest checkpoint;
//   2. verify the checkpoint's signature (log key) and its consistency with
//      the last checkpoint this machine trusted (a forked or rewritten log
//      stops everything and its two checkpoints are saved as evidence), then
//      trust it;
//   3. verify the manifest's signature (release key) and its inclusion in
//      the log; refuse a version below one already accepted (rollback), an
//      expired manifest (freeze) and a manifest for a newer engine;
//   4. download the delta from the installed release, or the full bundle,
//      checking size and SHA-256 while it streams in;
//   5. rebuild the release in a staging directory and check every file
//      against the manifest;
//   6. load and compile it with the engine: a release that does not load is
//      never installed;
//   7. switch atomically: the database directory is a symlink to the live
//      release, replaced by rename(2);
//   8. tell vigild to reload; keep the previous release for --rollback.
// Until step 7 the old database stays live; every step is durable (fsync)
// before the next, so a crash at any point leaves a database that loads.
//
// State (default: <db-dir>.update/, docs/formats/update-manifest.md):
//   trusted-checkpoint     the last verified checkpoint (signed note)
//   state                  "highest <channel> <version>", "skip <channel> <version>"
//   last-update            time, outcome and message of the last attempt
//   releases/<ch>-<v>/     installed releases (the live one and the previous)
//   manifests/<ch>-<v>     their signed manifests
//   staging/               work in progress, cleared at the start of a run
//   evidence/              forked-log evidence
//   lock                   one update at a time
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "vigil/status.h"

namespace vigil::update {

struct UpdateConfig {
  std::vector<std::string> servers;  // base URLs: primary first, then mirrors
  std::string channel = "stable";
  std::string release_pubkey;        // files holding verifier keys
  std::string log_pubkey;
  std::string db_dir;
  std::string state_dir;             // empty: db_dir + ".update"
  std::string vigild_socket;         // empty: do not notify vigild
  int connect_timeout = 10;          // seconds
  int read_timeout = 30;             // seconds without data before giving up
  int download_timeout = 900;        // seconds for one whole download
  int64_t now = 0;                   // 0: the real clock (tests set it)
  std::string engine_version;        // this engine, "MAJOR.MINOR.PATCH"
  std::string license_key;           // sent as "Vigil-License" (the server's policy uses its country)
  std::string endpoint_id;           // sent as "Vigil-Endpoint"
  std::function<void(const std::string&)> progress;  // optional progress lines
};

// Reads "key value" lines (keys as the command-line flags without "--":
// server (repeatable), channel, release-pubkey, log-pubkey, db-dir,
// state-dir, vigild-socket, connect-timeout, read-timeout,
// download-timeout, license, endpoint-id); '#' starts a comment. Errors are "FILE:LINE: reason".
Status LoadUpdateConfig(const std::string& path, UpdateConfig* config);

// Loads a database directory with the engine; returns its signature count.
using EngineCheck = std::function<Result<uint64_t>(const std::string& dir)>;

enum class Outcome {
  kInstalled,    // a new release is live
  kUpToDate,     // nothing newer
  kAvailable,    // --check: a newer release exists
  kRolledBack,   // --rollback switched to the previous release
  kFailed,       // nothing changed; the old database stays live
  kSecurity,     // verification failed (signature, log, rollback, freeze); old database live
  kRefused,      // the server applies a jurisdiction rule (HTTP 451); old database live
};

// What a server said when it refused for legal reasons (RFC 7725): the
// JSON body of its HTTP 451 answer.
struct Refusal {
  std::string rule, action, jurisdiction, effective, message, reference;
};

struct UpdateReport {
  Outcome outcome = Outcome::kFailed;
  std::string message;        // one line per server tried, for the user
  std::string server;         // the server that answered
  std::string channel;
  uint64_t from_version = 0;  // installed before (0: none)
  uint64_t to_version = 0;
  uint64_t downloaded = 0;    // bytes of artifacts downloaded
  bool used_delta = false;
  uint64_t signatures = 0;
  std::string evidence_dir;   // set when a forked log was detected
  Refusal refusal;            // set when outcome is kRefused
};

// The state file "last-update" of an update state directory: the last
// attempt, whatever its outcome.
struct LastUpdate {
  int64_t time = 0;
  std::string outcome;  // installed, up-to-date, rolled-back, failed, security, refused
  std::string channel;
  uint64_t version = 0;
  std::string message;
  Refusal refusal;      // when outcome is "refused"
};
Result<LastUpdate> ReadLastUpdate(const std::string& state_dir);
const char* OutcomeName(Outcome o);

UpdateReport RunUpdate(const UpdateConfig& config, const EngineCheck& check, bool check_only);
UpdateReport RollbackUpdate(const UpdateConfig& config, const EngineCheck& check);

// Audits a server's whole log: every entry against the signed checkpoint,
// every stored checkpoint against the recomputed tree, every entry a
// manifest signed by the release key (if given) with versions growing per
// channel, and consistency with this machine's trusted checkpoint (if a
// state directory is given). Returns a report or the first problem.
Result<std::string> VerifyLog(const std::string& server, const std::string& log_pubkey,
                              const std::string& release_pubkey, const std::string& state_dir,
                              const UpdateConfig& net);

}  // namespace vigil::update
