// `vigil status` (how current this endpoint's protection is, and why) and
// `vigil checkin` (tell the update server). lib/update/freshness.h,
// lib/update/checkin.h.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

#include "quarantine/vault.h"
#include "update/checkin.h"
#include "update/client.h"
#include "update/freshness.h"
#include "update/util.h"

namespace vigil::cli {
namespace {

constexpr const char* kDefaultConfig = "/etc/vigil/update.conf";

constexpr const char* kStatusUsage = R"(Usage: vigil status [OPTIONS]
       vigil checkin [OPTIONS] [--server URL] [--license KEY] [--endpoint-id ID] [--vault DIR]

status: the engine and database versions, the database's age, the last
update attempt and its outcome; when the update server refuses updates by a
jurisdiction rule, which rule, since when, and what the user can do.

  --config FILE       update configuration (default: /etc/vigil/update.conf if present)
  --db-dir DIR        the database directory (default: the configuration's db-dir)
  --state-dir DIR     update state (default: DB-DIR.update)
  --stale-days N      older than this is stale (default 3)
  --critical-days N   older than this is critical (default 14)

Exit status (for monitoring): 0 current, 1 stale, 2 refused by a
jurisdiction rule or critical (or no database).

checkin: sends the same facts (and the detection and quarantine counts) to
the update server's /v1/checkin.
)";

struct StatusArgs {
  update::UpdateConfig cfg;
  std::string state_dir, vault;
  int64_t stale_days = 3, critical_days = 14, now = 0;
};

int ParseStatusArgs(int argc, char** argv, StatusArgs* a, bool checkin) {
  std::vector<std::pair<std::string, std::string>> flags;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      std::fputs(kStatusUsage, stdout);
      return 0;
    }
    if (arg.rfind("--", 0) != 0) {
      std::fprintf(stderr, "vigil: unexpected argument '%s'\n%s", arg.c_str(), kStatusUsage);
      return 2;
    }
    std::string key = arg.substr(2), value;
    size_t eq = key.find('=');
    if (eq != std::string::npos) {
      value = key.substr(eq + 1);
      key.resize(eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      std::fprintf(stderr, "vigil: --%s needs a value\n", key.c_str());
      return 2;
    }
    flags.emplace_back(key, value);
  }
  std::string config;
  for (const auto& [k, v] : flags)
    if (k == "config") config = v;
  if (config.empty() && access(kDefaultConfig, R_OK) == 0) config = kDefaultConfig;
  if (!config.empty()) {
    Status st = update::LoadUpdateConfig(config, &a->cfg);
    if (!st.ok()) {
      std::fprintf(stderr, "vigil: %s\n", st.message().c_str());
      return 2;
    }
  }
  a->state_dir = a->cfg.state_dir;
  bool servers_from_flags = false;
  for (const auto& [k, v] : flags) {
    auto days = [&value = v](int64_t* out) {  // clang before 16 cannot capture a structured binding
      char* end = nullptr;
      long long d = std::strtoll(value.c_str(), &end, 10);
      if (value.empty() || *end || d < 0 || d > 100000) return false;
      *out = d;
      return true;
    };
    bool ok = true;
    if (k == "config") continue;
    else if (k == "db-dir") a->cfg.db_dir = v;
    else if (k == "state-dir") a->state_dir = v;
    else if (k == "stale-days") ok = days(&a->stale_days);
    else if (k == "critical-days") ok = days(&a->critical_days);
    else if (k == "now") ok = update::ParseTimeOrSeconds(v, &a->now);  // for tests
    else if (checkin && k == "server") {
      if (!servers_from_flags) a->cfg.servers.clear();
      servers_from_flags = true;
      a->cfg.servers.push_back(v);
    } else if (checkin && k == "license") a->cfg.license_key = v;
    else if (checkin && k == "endpoint-id") a->cfg.endpoint_id = v;
    else if (checkin && k == "vault") a->vault = v;
    else {
      std::fprintf(stderr, "vigil: unknown option '--%s'\n%s", k.c_str(), kStatusUsage);
      return 2;
    }
    if (!ok) {
      std::fprintf(stderr, "vigil: bad value for --%s: '%s'\n", k.c_str(), v.c_str());
      return 2;
    }
  }
  if (a->critical_days < a->stale_days) {
    std::fprintf(stderr, "vigil: --critical-days must not be below --stale-days\n");
    return 2;
  }
  if (a->cfg.db_dir.empty()) {
    std::fprintf(stderr, "vigil: no database directory (--db-dir DIR, or db-dir in %s)\n",
                 config.empty() ? kDefaultConfig : config.c_str());
    return 2;
  }
  if (a->now == 0) a->now = static_cast<int64_t>(std::time(nullptr));
  a->cfg.engine_version = VIGIL_VERSION;
  return -1;
}

}  // namespace

int StatusCommand(int argc, char** argv) {
  StatusArgs a;
  if (int rc = ParseStatusArgs(argc, argv, &a, false); rc >= 0) return rc;
  auto state = update::ReadDbState(a.cfg.db_dir, a.state_dir);
  if (!state.ok()) {
    std::fprintf(stderr, "vigil status: %s\n", state.status().message().c_str());
    return 2;
  }
  update::FreshnessLimits limits{a.stale_days * 86400, a.critical_days * 86400};
  std::fputs(update::StatusReport(*state, a.now, limits).c_str(), stdout);
  return update::FreshnessExitCode(update::Judge(*state, a.now, limits));
}

int CheckinCommand(int argc, char** argv) {
  StatusArgs a;
  if (int rc = ParseStatusArgs(argc, argv, &a, true); rc >= 0) return rc;
  auto state = update::ReadDbState(a.cfg.db_dir, a.state_dir);
  if (!state.ok()) {
    std::fprintf(stderr, "vigil checkin: %s\n", state.status().message().c_str());
    return 2;
  }
  uint64_t quarantined = 0;
  std::string vault = a.vault;
  if (vault.empty()) {
    auto d = quarantine::DefaultVaultDir();
    if (d.ok()) vault = *d;
  }
  struct stat st;
  if (!vault.empty() && stat(vault.c_str(), &st) == 0) {
    auto v = quarantine::Vault::Open(vault);
    if (v.ok()) {
      auto list = (*v)->List();
      if (list.ok()) quarantined = list->size();
    }
  }
  std::string json = update::CheckinJson(a.cfg, *state, update::ReadScanStats(state->state_dir), quarantined, a.now);
  Status st2 = update::SendCheckin(a.cfg, json);
  if (!st2.ok()) {
    std::fprintf(stderr, "vigil checkin: %s\n", st2.message().c_str());
    return 2;
  }
  std::printf("vigil checkin: OK\n");
  return 0;
}

}  // namespace vigil::cli
