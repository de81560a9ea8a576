// The quarantine vault: isolates detected files, records everything needed
// to put them back exactly, and never loses a file.
//
// Layout of a vault directory (mode 0700), described in docs/formats/vault.md:
//   vault.key      per-vault content key (file format "VIGILKEY" v1)
//   vault.lock     flock: shared while a process uses the vault, exclusive to clean up
//   index.sqlite   the index (SQLite, WAL), one row per entry
//   data/ID.vlt    encrypted content of entry ID (file format "VIGILQV" v1), mode 0600
//   data/ID.part   content being written; never valid after a crash
//   allow.sfp      hashes allow-listed by `restore --allow`
//
// Never losing a file comes from the order of operations in Quarantine():
// copy into data/ID.part -> fsync it -> rename to ID.vlt -> fsync data/ ->
// commit the index row -> re-check the original -> remove it -> fsync its
// directory. A crash before the commit leaves the original in place and at
// most an unlisted content file, which the next Open removes; a crash after
// it leaves the file in the vault and listed (and maybe still in place).
//
// Thread safety: one Vault may be shared by scanning threads. Several
// processes may use one vault at once.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "quarantine/index.h"
#include "quarantine/target.h"
#include "quarantine/vault_file.h"
#include "vigil/status.h"

namespace vigil::quarantine {

// The vault directory when none is given: $VIGIL_HOME/quarantine, else
// /var/lib/vigil/quarantine for root, else $XDG_DATA_HOME/vigil/quarantine
// or ~/.local/share/vigil/quarantine.
Result<std::string> DefaultVaultDir();

struct QuarantineInfo {
  std::vector<std::string> detections;
  std::string db_version;
};

struct RestoreOptions {
  std::string to;      // empty: the original path; an existing directory: keep the name
  bool force = false;  // replace an existing file
  bool keep = false;   // keep the entry in the vault afterwards
};

struct RestoreResult {
  std::string path;                   // where the file now is
  std::vector<std::string> warnings;  // metadata that could not be restored
};

class Vault {
 public:
  // Opens the vault in `dir`, creating it when missing. When no other process
  // is using the vault, first removes what a crashed process left behind.
  static Result<std::unique_ptr<Vault>> Open(const std::string& dir);
  ~Vault();
  Vault(const Vault&) = delete;
  Vault& operator=(const Vault&) = delete;

  const std::string& dir() const { return dir_; }
  // What Open cleaned up, one line each (for logs and tests).
  const std::vector<std::string>& cleanup_notes() const { return cleanup_notes_; }

  // Quarantines a file opened with OpenTarget (and scanned through t.file).
  // On success the original is gone and the returned entry is listed. On
  // failure the original is in place and the message says why:
  //   kInvalidArgument: the file changed or was swapped after the scan;
  //   kIoError: ENOSPC, EROFS, EACCES and other file-system errors.
  Result<Entry> Quarantine(const Target& t, const QuarantineInfo& info);

  Result<std::vector<Entry>> List();
  // An entry by its id or a unique prefix of it.
  Result<Entry> Find(const std::string& id_or_prefix);
  // Whether the entry's content file exists.
  bool HasContent(const std::string& id) const;

  // Writes the original bytes back with owner, mode, xattrs and times,
  // verifying the SHA-256, then (unless keep) removes the entry. Refuses to
  // replace an existing file without force.
  Result<RestoreResult> Restore(const Entry& e, const RestoreOptions& o);
  // Removes the index row, then the content file.
  Status Delete(const Entry& e);
  // Decrypts an entry, calling sink for each chunk; fails at the end if the
  // bytes do not hash to the recorded SHA-256.
  Status ReadContent(const Entry& e, const std::function<Status(std::string_view)>& sink);
  // A password-protected zip (ZipCrypto, so common tools open it) holding
  // the file, named by its SHA-256, and metadata.json. Never overwrites.
  Status Export(const Entry& e, const std::string& to_file, const std::string& password);

 private:
  Vault() = default;
  void Cleanup();
  void Rollback(const Entry& e);

  std::string dir_;
  UniqueFd dirfd_, datafd_, lockfd_;
  VaultKey key_{};
  std::unique_ptr<Index> index_;
  std::vector<std::string> cleanup_notes_;
};

// Appends "SHA256:SIZE:NAME" to an .sfp allow-list database, creating it
// (0600) if needed, so that scans loading it stop detecting the file.
Status AppendAllowList(const std::string& sfp_path, const Entry& e);

// One entry as a JSON object (paths also as base64, since they are bytes).
std::string EntryJson(const Entry& e);

// Parses "30d", "12h", "90m", "45s", "2w" (a bare number is days) into seconds.
bool ParseAge(const std::string& s, int64_t* seconds);

}  // namespace vigil::quarantine
