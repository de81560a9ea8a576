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
  serve --repo DIR --listen HOST:PORT [--max-rate BYTES]
      Serve the repository over HTTP (port 0 picks a free port; the bound
      address is printed). --max-rate limits each response, for demonstrations
      of slow links.
)";

// Minimal "--key value" / "--key=value" parser.
struct Args {
  std::vector<std::pair<std::string, std::string>> opts;
  std::string error;
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
  Args a = Parse(argc, argv, {"repo", "listen", "max-rate"});
  if (!a.error.empty()) return Fail(a.error);
  std::string repo = a.Get("repo"), listen = a.Get("listen");
  if (repo.empty() || listen.empty()) return Fail("serve needs --repo DIR and --listen HOST:PORT");
  uint64_t rate = 0;
  if (std::string r = a.Get("max-rate"); !r.empty() && !ParseU64(r, &rate)) return Fail("bad --max-rate");

  // Signals are taken by one thread with sigwait, so that stopping is not
  // done from a signal handler. Blocked before any other thread starts.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto service = RepoService::Open(repo);
  if (!service.ok()) return Fail(repo + ": " + service.status().message());
  HttpService http;
  http.SetMaxRate(rate);
  (*service)->Register(http);
  auto port = http.Bind(listen);
  if (!port.ok()) return Fail(port.status().message());
  std::string host = listen.substr(0, listen.rfind(':'));
  std::printf("vigil-server: serving %s on http://%s:%d\n", repo.c_str(), host.c_str(), *port);
  std::fflush(stdout);
  std::thread waiter([&] {
    for (;;) {
      int sig = 0;
      if (sigwait(&set, &sig) != 0) continue;
      if (sig == SIGHUP) continue;  // nothing to reload yet; static files are read per request
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
