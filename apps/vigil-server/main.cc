// vigil-server: publishes signed releases into an update repository and
// serves it over HTTP (lib/update/, docs/UPDATES.md).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "distrib/fleet_report.h"
#include "distrib/service.h"
#include "fleet/audit.h"
#include "fleet/store.h"
#include "policy/instant.h"
#include "policy/policy.h"
#include "update/note.h"
#include "update/repo.h"
#include "update/server.h"
#include "update/util.h"
#include "vigil/engine.h"

namespace {

using namespace vigil;
using namespace vigil::update;

constexpr const char* kHelp = R"(Usage: vigil-server COMMAND [OPTIONS]

Commands:
  keygen --out DIR [--name NAME]
      Make an Ed25519 release key pair and a log key pair: DIR/release.key,
      DIR/release.pub, DIR/log.key, DIR/log.pub (secret keys mode 0600). The
      keys are named NAME/release and NAME/log (default NAME: vigil-updates);
      the log key's name is the log's origin in its checkpoints.
  publish --repo DIR --key release.key --log-key log.key --db SIGDIR [OPTIONS]
      Make the next release of a channel from the database directory SIGDIR:
      bundle, deltas, signed manifest, appended to the transparency log.
        --channel NAME      (default: stable)
        --expires-in DUR    manifest validity: seconds, or with s/m/h/d (default: 7d)
        --deltas N          deltas from the N previous releases (default: 3)
        --zstd-level N      (default: 19)
        --engine-min X.Y.Z  lowest engine that may install it (default: this engine)
        --now TIME          creation time (RFC 3339 UTC or epoch seconds; default: now)
  serve --listen HOST:PORT [--repo DIR] [OPTIONS]
      Serve the repository over HTTP (port 0 picks a free port; the bound
      address is printed), with the jurisdiction policy in front of it and
      the vendor endpoints POST /v1/activate and POST /v1/checkin.
        --policy FILE            jurisdiction rules (TOML; examples/policy/)
        --denied-parties FILE    screening list, US CSL or OpenSanctions simple
                                 CSV (repeatable)
        --screening-threshold X  Jaro-Winkler score that is a match (default 0.92)
        --store URL              licenses and check-ins: a SQLite path or a
                                 postgresql:// URL
        --audit FILE             the append-only decision log (with --policy,
                                 default REPO.audit.jsonl or vigil-audit.jsonl)
        --geoip-dir DIR          GeoIP.dat and GeoIPv6.dat (default /usr/share/GeoIP)
        --trusted-proxy CIDR     a proxy whose forwarded-for header is believed
                                 (repeatable); without one, requests carrying
                                 the header are refused
        --forwarded-header NAME  (default X-Forwarded-For)
        --now INSTANT            fix the server's clock (tests, demonstrations)
        --threads N              requests handled at once (default 64)
        --max-rate BYTES         limit each response's rate (slow-link demos)
      SIGHUP reloads the policy and the lists without dropping requests; a
      file that fails to load leaves the old ones in force.
  audit --log FILE [--since T] [--until T] [--outcome allow|deny] [--rule ID]
        [--action A] [--endpoint E] [--country CC] [--license KEY]
        [--limit N] [--json]
      Verify the audit log's hash chain and list the matching decisions.
  fleet --store URL [--policy FILE] [--now T] [--stale-days N] [--json]
      Endpoints by database age and by version, and those withheld by a rule.
)";

// Minimal "--key value" / "--key=value" parser.
struct Args {
  std::vector<std::pair<std::string, std::string>> opts;
  std::string error;
  std::vector<std::string> GetAll(const std::string& k) const {
    std::vector<std::string> v;
    for (const auto& [key, val] : opts)
      if (key == k) v.push_back(val);
    return v;
  }
  std::string Get(const std::string& k, const std::string& def = "") const {
    std::string v = def;
    for (const auto& [key, val] : opts)
      if (key == k) v = val;
    return v;
  }
};

Args Parse(int argc, char** argv, const std::vector<std::string>& known) {
  Args a;
  for (int i = 0; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) != 0) {
      a.error = "unexpected argument '" + s + "'";
      return a;
    }
    std::string key = s.substr(2), val;
    size_t eq = key.find('=');
    if (eq != std::string::npos) {
      val = key.substr(eq + 1);
      key = key.substr(0, eq);
    } else if (key == "json") {
      val = "yes";  // a switch
    } else if (i + 1 < argc) {
      val = argv[++i];
    } else {
      a.error = "--" + key + " needs a value";
      return a;
    }
    bool ok = false;
    for (const auto& k : known) ok |= k == key;
    if (!ok) {
      a.error = "unknown option --" + key;
      return a;
    }
    a.opts.emplace_back(key, val);
  }
  return a;
}

bool ParseDuration(const std::string& s, int64_t* out) {
  if (s.empty()) return false;
  int64_t mult = 1;
  std::string num = s;
  switch (s.back()) {
    case 's': mult = 1; num.pop_back(); break;
    case 'm': mult = 60; num.pop_back(); break;
    case 'h': mult = 3600; num.pop_back(); break;
    case 'd': mult = 86400; num.pop_back(); break;
    default: break;
  }
  uint64_t v;
  if (!ParseU64(num, &v) || v == 0 || v > (1ull << 40)) return false;
  *out = static_cast<int64_t>(v) * mult;
  return true;
}

int Fail(const std::string& msg) {
  std::fprintf(stderr, "vigil-server: %s\n", msg.c_str());
  return 2;
}

int Keygen(int argc, char** argv) {
  Args a = Parse(argc, argv, {"out", "name"});
  if (!a.error.empty()) return Fail(a.error);
  std::string out = a.Get("out"), name = a.Get("name", "vigil-updates");
  if (out.empty()) return Fail("keygen needs --out DIR");
  if (Status st = MakeDirs(out, 0755); !st.ok()) return Fail(st.message());
  for (const char* f : {"release.key", "release.pub", "log.key", "log.pub"})
    if (PathExists(out + "/" + f)) return Fail(out + "/" + f + " exists; refusing to overwrite a key");
  for (const char* role : {"release", "log"}) {
    auto key = GenerateSigner(name + "/" + role);
    if (!key.ok()) return Fail(key.status().message());
    std::string base = out + "/" + role;
    if (Status st = WriteFileAtomic(base + ".key", FormatSignerKey(*key) + "\n", 0600); !st.ok())
      return Fail(st.message());
    if (Status st = WriteFileAtomic(base + ".pub", FormatVerifierKey(key->Verifier()) + "\n", 0644); !st.ok())
      return Fail(st.message());
    std::printf("%s key: %s.key (secret), %s.pub: %s\n", role, base.c_str(), base.c_str(),
                FormatVerifierKey(key->Verifier()).c_str());
  }
  return 0;
}

Result<NoteSigner> LoadSigner(const std::string& path, const char* what) {
  if (path.empty()) return Status::InvalidArgument(std::string("publish needs ") + what);
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & 077))
    std::fprintf(stderr, "vigil-server: warning: secret key %s is readable by others (chmod 600 it)\n", path.c_str());
  auto text = ReadFile(path, 4096);
  if (!text.ok()) return text.status();
  auto key = ParseSignerKey(*text);
  if (!key.ok()) return Status::InvalidArgument(path + ": " + key.status().message());
  return key;
}

int PublishCmd(int argc, char** argv) {
  Args a = Parse(argc, argv, {"repo", "key", "log-key", "db", "channel", "expires-in", "deltas", "zstd-level",
                              "engine-min", "now"});
  if (!a.error.empty()) return Fail(a.error);
  PublishOptions o;
  o.repo = a.Get("repo");
  o.db_dir = a.Get("db");
  o.channel = a.Get("channel", "stable");
  if (o.repo.empty() || o.db_dir.empty()) return Fail("publish needs --repo DIR and --db SIGDIR");
  auto rk = LoadSigner(a.Get("key"), "--key release.key");
  if (!rk.ok()) return Fail(rk.status().message());
  auto lk = LoadSigner(a.Get("log-key"), "--log-key log.key");
  if (!lk.ok()) return Fail(lk.status().message());
  if (rk->name == lk->name) return Fail("the release key and the log key must differ");
  o.release_key = *rk;
  o.log_key = *lk;
  o.now = static_cast<int64_t>(std::time(nullptr));
  if (std::string now = a.Get("now"); !now.empty() && !ParseTimeOrSeconds(now, &o.now))
    return Fail("bad --now '" + now + "'");
  if (!ParseDuration(a.Get("expires-in", "7d"), &o.expires_in)) return Fail("bad --expires-in");
  uint64_t v;
  if (!ParseU64(a.Get("deltas", "3"), &v) || v > 100) return Fail("bad --deltas");
  o.max_deltas = static_cast<int>(v);
  if (!ParseU64(a.Get("zstd-level", "19"), &v) || v < 1 || v > 22) return Fail("bad --zstd-level");
  o.zstd_level = static_cast<int>(v);
  o.engine_min = a.Get("engine-min", VIGIL_VERSION);
  o.validate = [](const std::string& dir) -> Result<uint64_t> {
    auto engine = LoadEngine({dir}, EngineOptions{});
    if (!engine.ok()) return engine.status();
    return GetEngineInfo(**engine).known_signatures;
  };
  auto r = Publish(o);
  if (!r.ok()) return Fail(r.status().message());
  const Manifest& m = r->manifest;
  std::printf("published %s %llu: %llu signatures, bundle %llu bytes", m.channel.c_str(),
              static_cast<unsigned long long>(m.version), static_cast<unsigned long long>(m.signatures),
              static_cast<unsigned long long>(r->bundle_bytes));
  for (const auto& d : m.deltas)
    std::printf(", delta from %llu %llu bytes", static_cast<unsigned long long>(d.from_version),
                static_cast<unsigned long long>(d.artifact.size));
  std::printf("; log entry %llu, tree size %llu, expires %s\n", static_cast<unsigned long long>(r->log_index),
              static_cast<unsigned long long>(r->tree_size), FormatTime(m.expires).c_str());
  return 0;
}

int Serve(int argc, char** argv) {
  Args a = Parse(argc, argv, {"repo", "listen", "max-rate", "policy", "denied-parties", "screening-threshold",
                              "store", "audit", "geoip-dir", "trusted-proxy", "forwarded-header", "now",
                              "threads"});
  if (!a.error.empty()) return Fail(a.error);
  std::string repo = a.Get("repo"), listen = a.Get("listen");
  if (listen.empty()) return Fail("serve needs --listen HOST:PORT");
  uint64_t rate = 0, threads = 64;
  if (std::string r = a.Get("max-rate"); !r.empty() && !ParseU64(r, &rate)) return Fail("bad --max-rate");
  if (std::string t = a.Get("threads"); !t.empty() && (!ParseU64(t, &threads) || threads == 0 || threads > 4096))
    return Fail("bad --threads");

  distrib::DistribConfig dc;
  dc.policy_path = a.Get("policy");
  dc.denied_party_files = a.GetAll("denied-parties");
  if (std::string t = a.Get("screening-threshold"); !t.empty()) {
    char* end = nullptr;
    dc.screening_threshold = std::strtod(t.c_str(), &end);
    if (*end || !(dc.screening_threshold > 0.5 && dc.screening_threshold <= 1.0))
      return Fail("bad --screening-threshold (a score in (0.5, 1])");
  }
  dc.store_url = a.Get("store");
  // With a policy every decision is logged; without one, only on request.
  dc.audit_path = a.Get("audit");
  if (dc.audit_path.empty() && !dc.policy_path.empty())
    dc.audit_path = repo.empty() ? "vigil-audit.jsonl" : repo + ".audit.jsonl";
  dc.geoip_dir = a.Get("geoip-dir", dc.geoip_dir);
  dc.trusted_proxies = a.GetAll("trusted-proxy");
  dc.forwarded_header = a.Get("forwarded-header", dc.forwarded_header);
  if (std::string now = a.Get("now"); !now.empty()) {
    auto t = policy::ParseInstant(now);
    if (!t.ok()) return Fail("bad --now '" + now + "': " + t.status().message());
    dc.fixed_now = *t;
  }

  // Signals are taken by one thread with sigwait, so that stopping is not
  // done from a signal handler. Blocked before any other thread starts.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  HttpService http;
  http.SetMaxRate(rate);
  http.SetThreads(threads);
  std::unique_ptr<RepoService> repo_service;
  if (!repo.empty()) {
    auto service = RepoService::Open(repo);
    if (!service.ok()) return Fail(repo + ": " + service.status().message());
    repo_service = std::move(service).value();
    repo_service->Register(http);
  }
  auto distrib = distrib::DistribService::Open(dc);
  if (!distrib.ok()) return Fail(distrib.status().message());
  (*distrib)->Register(http);
  auto port = http.Bind(listen);
  if (!port.ok()) return Fail(port.status().message());
  std::string host = listen.substr(0, listen.rfind(':'));
  std::printf("vigil-server: serving %s on http://%s:%d\n", repo.empty() ? "(no repository)" : repo.c_str(),
              host.c_str(), *port);
  std::printf("vigil-server: %s\n", (*distrib)->Describe().c_str());
  std::fflush(stdout);
  std::thread waiter([&] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGHUP) {
        // Requests go on with the old rules while the new ones load.
        Status st = (*distrib)->Reload();
        if (st.ok()) std::printf("vigil-server: reloaded: %s\n", (*distrib)->Describe().c_str());
        else std::fprintf(stderr, "vigil-server: reload failed, the previous policy stays in force: %s\n",
                          st.message().c_str());
        std::fflush(stdout);
        continue;
      }
      http.Stop();
      return;
    }
  });
  Status st = http.Run();
  // Wake the waiter if the server stopped on its own.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  if (!st.ok()) return Fail(st.message());
  return 0;
}

int AuditCmd(int argc, char** argv) {
  Args a = Parse(argc, argv, {"log", "since", "until", "outcome", "rule", "action", "endpoint", "country", "license",
                              "limit", "json"});
  if (!a.error.empty()) return Fail(a.error);
  std::string log = a.Get("log");
  if (log.empty()) return Fail("audit needs --log FILE");
  fleet::AuditQuery q;
  for (const char* k : {"since", "until"}) {
    std::string v = a.Get(k);
    if (v.empty()) continue;
    auto t = policy::ParseInstant(v);
    if (!t.ok()) return Fail(std::string("bad --") + k + ": " + t.status().message());
    (std::string(k) == "since" ? q.since : q.until) = *t;
  }
  q.outcome = a.Get("outcome");
  if (!q.outcome.empty() && q.outcome != "allow" && q.outcome != "deny") return Fail("--outcome is allow or deny");
  q.rule = a.Get("rule");
  q.action = a.Get("action");
  q.endpoint = a.Get("endpoint");
  q.country = a.Get("country");
  q.license = a.Get("license");
  uint64_t limit = 0;
  if (std::string l = a.Get("limit"); !l.empty() && !ParseU64(l, &limit)) return Fail("bad --limit");
  q.limit = limit;
  bool json = a.Get("json") == "yes" || a.Get("json") == "true" || a.Get("json") == "1";
  auto records = fleet::ReadAudit(log, q);
  if (!records.ok()) return Fail(records.status().message());
  for (const auto& r : *records) {
    if (json) {
      nlohmann::json j{{"seq", r.seq},       {"time", policy::FormatInstantUtc(r.time)},
                       {"request_id", r.request_id}, {"endpoint", r.endpoint},
                       {"action", r.action}, {"outcome", r.outcome},
                       {"rule", r.rule},     {"reason", r.reason},
                       {"inputs", r.inputs}, {"hash", r.hash}};
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("%lld %s %s %s %s %s %s %s\n", static_cast<long long>(r.seq),
                  policy::FormatInstantUtc(r.time).c_str(), r.request_id.c_str(), r.endpoint.c_str(),
                  r.action.c_str(), r.outcome.c_str(), r.rule.empty() ? "-" : r.rule.c_str(), r.inputs.dump().c_str());
    }
  }
  std::fprintf(stderr, "vigil-server audit: %zu records; hash chain verified\n", records->size());
  return 0;
}

int FleetCmd(int argc, char** argv) {
  Args a = Parse(argc, argv, {"store", "policy", "now", "stale-days", "json"});
  if (!a.error.empty()) return Fail(a.error);
  if (a.Get("store").empty()) return Fail("fleet needs --store URL");
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  if (std::string n = a.Get("now"); !n.empty()) {
    auto t = policy::ParseInstant(n);
    if (!t.ok()) return Fail("bad --now: " + t.status().message());
    now = *t;
  }
  uint64_t stale_days = 3;
  if (std::string d = a.Get("stale-days"); !d.empty() && !ParseU64(d, &stale_days)) return Fail("bad --stale-days");
  std::optional<policy::Policy> pol;
  if (std::string p = a.Get("policy"); !p.empty()) {
    auto loaded = policy::Policy::Load(p);
    if (!loaded.ok()) return Fail(loaded.status().message());
    pol = std::move(loaded).value();
  }
  auto store = fleet::Store::Open(a.Get("store"));
  if (!store.ok()) return Fail(store.status().message());
  auto endpoints = (*store)->Endpoints();
  if (!endpoints.ok()) return Fail(endpoints.status().message());
  bool json = a.Get("json") == "yes" || a.Get("json") == "true" || a.Get("json") == "1";
  auto report = distrib::FleetReport(*endpoints, pol ? &*pol : nullptr, [&](const std::string& key) {
    auto lic = (*store)->GetLicense(key);
    return lic.ok() && *lic ? (*lic)->country : std::string();
  }, now, static_cast<int64_t>(stale_days) * 86400);
  std::fputs((json ? distrib::FleetReportJson(report) : distrib::FleetReportText(report)).c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kHelp, stderr);
    return 2;
  }
  std::string cmd = argv[1];
  if (cmd == "keygen") return Keygen(argc - 2, argv + 2);
  if (cmd == "publish") return PublishCmd(argc - 2, argv + 2);
  if (cmd == "serve") return Serve(argc - 2, argv + 2);
  if (cmd == "audit") return AuditCmd(argc - 2, argv + 2);
  if (cmd == "fleet") return FleetCmd(argc - 2, argv + 2);
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::fputs(kHelp, stdout);
    return 0;
  }
  if (cmd == "version" || cmd == "--version") {
    std::printf("vigil-server %s\n", VIGIL_VERSION);
    return 0;
  }
  std::fprintf(stderr, "vigil-server: unknown command '%s'\n%s", cmd.c_str(), kHelp);
  return 2;
}
