// `vigil update` and `vigil log verify`: verified signature updates
// (lib/update/client.h, docs/UPDATES.md).
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "update/client.h"
#include "update/util.h"
#include "vigil/engine.h"

namespace vigil::cli {
namespace {

constexpr const char* kDefaultConfig = "/etc/vigil/update.conf";

constexpr const char* kUsage = R"(Usage: vigil update [OPTIONS]
       vigil log verify --server URL --log-pubkey FILE [--release-pubkey FILE] [--state-dir DIR]

Fetches the latest signed release of a channel, verifies its signature and
its place in the transparency log, and installs it atomically into the
database directory (a symlink to the live release). A failure of any kind
leaves the installed database live.

  --server URL            update server or mirror (repeatable: primary first)
  --channel NAME          release channel (default: stable)
  --release-pubkey FILE   the publisher's release key (verifies manifests)
  --log-pubkey FILE       the transparency log's key (verifies checkpoints)
  --db-dir DIR            the database directory vigil scan -d and vigild load
  --state-dir DIR         update state (default: DB-DIR.update)
  --vigild-socket PATH    tell vigild on this socket to reload after an update
  --license KEY           this endpoint's license key (sent to the server)
  --endpoint-id ID        this endpoint's identifier (sent to the server)
  --config FILE           "key value" lines with the keys above (default: )" "/etc/vigil/update.conf" R"( if present)
  --connect-timeout SEC, --read-timeout SEC, --download-timeout SEC
  --check                 only tell whether an update is available
  --rollback              switch back to the previous release (kept by the last update)
  -q, --quiet             no progress lines

Exit status: 0 installed, up to date or rolled back; 1 (--check) an update is
available; 2 the update failed; 3 refused for security (bad signature, log
inconsistency, rollback, expired manifest) - the old database stays live;
4 the server refused by a jurisdiction rule (HTTP 451) - the old database
stays live and `vigil status` explains it.
)";

struct Parsed {
  update::UpdateConfig cfg;
  std::vector<std::string> servers;
  std::string config_file;
  bool check = false, rollback = false, quiet = false;
  // Flags given on the command line win over the config file.
  std::vector<std::pair<std::string, std::string>> flags;
};

bool TakeValue(int argc, char** argv, int* i, const std::string& arg, const char* name, std::string* out) {
  std::string flag = std::string("--") + name;
  if (arg == flag) {
    if (*i + 1 >= argc) return false;
    *out = argv[++*i];
    return true;
  }
  if (arg.rfind(flag + "=", 0) == 0) {
    *out = arg.substr(flag.size() + 1);
    return true;
  }
  return false;
}

int ParseArgs(int argc, char** argv, Parsed* p, bool allow_actions) {
  static const char* kValued[] = {"server", "channel", "release-pubkey", "log-pubkey", "db-dir", "state-dir",
                                  "vigild-socket", "config", "connect-timeout", "read-timeout",
                                  "download-timeout", "now", "license", "endpoint-id"};
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (allow_actions && arg == "--check") { p->check = true; continue; }
    if (allow_actions && arg == "--rollback") { p->rollback = true; continue; }
    if (arg == "-q" || arg == "--quiet") { p->quiet = true; continue; }
    bool matched = false;
    for (const char* name : kValued) {
      std::string value;
      if (TakeValue(argc, argv, &i, arg, name, &value)) {
        p->flags.emplace_back(name, value);
        matched = true;
        break;
      }
    }
    if (!matched) {
      std::fprintf(stderr, "vigil: unknown or incomplete option '%s'\n%s", arg.c_str(), kUsage);
      return 2;
    }
  }
  return -1;
}

// Applies the config file, then the flags.
int Configure(Parsed* p) {
  std::string config;
  for (const auto& [k, v] : p->flags)
    if (k == "config") config = v;
  if (config.empty() && access(kDefaultConfig, R_OK) == 0) config = kDefaultConfig;
  if (!config.empty()) {
    Status st = update::LoadUpdateConfig(config, &p->cfg);
    if (!st.ok()) {
      std::fprintf(stderr, "vigil: %s\n", st.message().c_str());
      return 2;
    }
  }
  bool servers_from_flags = false;
  for (const auto& flag : p->flags) {
    const std::string& k = flag.first;
    const std::string& v = flag.second;
    auto seconds = [&](int* out) {
      uint64_t n;
      if (!update::ParseU64(v, &n) || n == 0 || n > 86400) return false;
      *out = static_cast<int>(n);
      return true;
    };
    bool ok = true;
    if (k == "server") {
      if (!servers_from_flags) p->cfg.servers.clear();
      servers_from_flags = true;
      p->cfg.servers.push_back(v);
    } else if (k == "channel") p->cfg.channel = v;
    else if (k == "release-pubkey") p->cfg.release_pubkey = v;
    else if (k == "log-pubkey") p->cfg.log_pubkey = v;
    else if (k == "db-dir") p->cfg.db_dir = v;
    else if (k == "state-dir") p->cfg.state_dir = v;
    else if (k == "vigild-socket") p->cfg.vigild_socket = v;
    else if (k == "license") p->cfg.license_key = v;
    else if (k == "endpoint-id") p->cfg.endpoint_id = v;
    else if (k == "connect-timeout") ok = seconds(&p->cfg.connect_timeout);
    else if (k == "read-timeout") ok = seconds(&p->cfg.read_timeout);
    else if (k == "download-timeout") ok = seconds(&p->cfg.download_timeout);
    else if (k == "now") ok = update::ParseTimeOrSeconds(v, &p->cfg.now);  // for tests
    if (!ok) {
      std::fprintf(stderr, "vigil: bad value for --%s: '%s'\n", k.c_str(), v.c_str());
      return 2;
    }
  }
  p->cfg.engine_version = VIGIL_VERSION;
  if (!p->quiet) p->cfg.progress = [](const std::string& line) { std::fprintf(stderr, "vigil update: %s\n", line.c_str()); };
  return -1;
}

Result<uint64_t> LoadWithEngine(const std::string& dir) {
  auto engine = LoadEngine({dir}, EngineOptions{});
  if (!engine.ok()) return engine.status();
  const EngineInfo& info = GetEngineInfo(**engine);
  if (info.known_signatures == 0) return Status::Corruption("no signatures loaded from " + dir);
  return info.known_signatures;
}

}  // namespace

int UpdateCommand(int argc, char** argv) {
  Parsed p;
  if (int rc = ParseArgs(argc, argv, &p, true); rc >= 0) return rc;
  if (int rc = Configure(&p); rc >= 0) return rc;
  if (p.check && p.rollback) {
    std::fprintf(stderr, "vigil: --check and --rollback exclude each other\n");
    return 2;
  }
  update::UpdateReport r = p.rollback ? update::RollbackUpdate(p.cfg, LoadWithEngine)
                                      : update::RunUpdate(p.cfg, LoadWithEngine, p.check);
  using update::Outcome;
  switch (r.outcome) {
    case Outcome::kInstalled:
    case Outcome::kUpToDate:
    case Outcome::kRolledBack:
      std::printf("vigil update: %s\n", r.message.c_str());
      return 0;
    case Outcome::kAvailable:
      std::printf("vigil update: %s\n", r.message.c_str());
      return 1;
    case Outcome::kFailed:
      std::fprintf(stderr, "vigil update: FAILED\n%s\n", r.message.c_str());
      return 2;
    case Outcome::kSecurity:
      std::fprintf(stderr, "vigil update: REFUSED\n%s\n", r.message.c_str());
      return 3;
    case Outcome::kRefused: {
      const update::Refusal& f = r.refusal;
      std::fprintf(stderr, "vigil update: REFUSED FOR LEGAL REASONS (rule %s%s%s)\n%s\n%s%s%s",
                   f.rule.empty() ? "unnamed" : f.rule.c_str(), f.effective.empty() ? "" : ", effective ",
                   f.effective.c_str(), f.message.c_str(), f.reference.empty() ? "" : "Reference: ",
                   f.reference.c_str(), f.reference.empty() ? "" : "\n");
      std::fprintf(stderr, "The installed database stays in use; see `vigil status`.\n");
      return 4;
    }
  }
  return 2;
}

int LogCommand(int argc, char** argv) {
  if (argc < 1 || std::strcmp(argv[0], "verify") != 0) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  Parsed p;
  if (int rc = ParseArgs(argc - 1, argv + 1, &p, false); rc >= 0) return rc;
  if (int rc = Configure(&p); rc >= 0) return rc;
  if (p.cfg.servers.size() != 1) {
    std::fprintf(stderr, "vigil log verify: give one --server URL\n");
    return 2;
  }
  std::string state;
  for (const auto& [k, v] : p.flags)
    if (k == "state-dir") state = v;
  if (state.empty() && !p.cfg.db_dir.empty()) state = p.cfg.db_dir + ".update";
  auto r = update::VerifyLog(p.cfg.servers[0], p.cfg.log_pubkey, p.cfg.release_pubkey, state, p.cfg);
  if (!r.ok()) {
    std::fprintf(stderr, "vigil log verify: FAILED: %s\n", r.status().message().c_str());
    return r.status().code() == StatusCode::kCorruption ? 3 : 2;
  }
  std::printf("vigil log verify: OK: %s\n", r->c_str());
  return 0;
}

}  // namespace vigil::cli
