// What `vigil scan` does with an infected file: --quarantine (the vault),
// or clamscan's --move=DIR, --copy=DIR and --remove.
//
// Every action works on the descriptor that was scanned: the file is opened
// once with O_NOFOLLOW, scanned with Scanner::ScanFd, and acted on through
// the same descriptor (lib/quarantine/target.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vigil/engine.h"

namespace vigil::quarantine {
class Vault;
}

namespace vigil::cli {

struct ActionOptions {
  enum class Kind { kNone, kQuarantine, kMove, kCopy, kRemove } kind = Kind::kNone;
  std::string dest_dir;   // --move / --copy
  std::string vault_dir;  // --vault (else the default vault)
  bool json = false;      // action lines as JSON objects
};

// Parses argv[*i] if it is an action option (advancing *i past a separate
// value). Returns 1 when consumed, 0 when not an action option, -1 on a
// usage error (already printed).
int ParseActionArg(int argc, char** argv, int* i, ActionOptions* o);

class ScanAction {
 public:
  // `databases` are the paths the engine was loaded from (empty: built-in),
  // used to record the database version with each quarantined file.
  ScanAction(ActionOptions o, std::vector<std::string> databases, std::shared_ptr<const Engine> engine);
  ~ScanAction();

  // Opens and scans `path` through one descriptor and, when it is infected,
  // acts on it. *line receives what to print after the scan line (with a
  // newline), or stays empty. Thread-safe.
  ScanResult ScanAndAct(Scanner& scanner, const std::string& path, const ScanOptions& options,
                        std::string* line);

  // Infected files the action could not be carried out on.
  uint64_t failures() const { return failures_.load(); }

 private:
  std::string Fail(const std::string& path, const std::string& why);
  std::string Done(const std::string& path, const std::string& text, const std::string& json_fields);
  quarantine::Vault* GetVault(std::string* error);
  const std::string& DbVersion();

  ActionOptions o_;
  std::vector<std::string> databases_;
  std::shared_ptr<const Engine> engine_;
  std::atomic<uint64_t> failures_{0};
  std::mutex mu_;
  bool vault_tried_ = false;
  std::unique_ptr<quarantine::Vault> vault_;
  std::string vault_error_;
  std::string db_version_;
  bool db_version_done_ = false;
};

}  // namespace vigil::cli
