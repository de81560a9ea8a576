// `vigil scan`: clamscan-compatible command-line scanning.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "daemon_client.h"
#include "quarantine/vault.h"
#include "report/report.h"
#include "scan_action.h"
#include "signatures/loader.h"
#include "update/checkin.h"
#include "update/freshness.h"
#include "vigil/engine.h"
#include "walk/walk.h"

namespace vigil::cli {
namespace {

constexpr const char* kUsage = R"(Usage: vigil scan [OPTIONS] [FILE|DIRECTORY|-]...

Scans files and directories (recursively) with ClamAV-format signatures.
Output and exit codes follow clamscan: 0 clean, 1 found, 2 error.

  -d, --database=PATH     signature file or directory (repeatable)
  -r, --recursive         recurse into directories (the default)
  -z, --allmatch          report every matching signature
  -i, --infected          print infected files only
      --no-summary        no summary block at the end
      --json              one JSON object per file instead of text
      --daemon[=SOCKET]   scan through a running vigild (Unix socket path or
                          HOST:PORT; default $VIGILD_SOCKET or /run/vigil/vigild.ctl)
      --exclude=REGEX     skip files whose path matches
      --exclude-dir=REGEX skip directories whose path matches
      --max-filesize=SIZE skip larger files (default 100M; K/M/G suffixes)
      --max-scansize=SIZE most bytes scanned inside one file's containers (default 400M)
      --max-files=N       most members extracted from one file (default 10000)
      --max-recursion=N   deepest container nesting (default 17)
      --max-scantime=MS   most milliseconds spent on one file (default 120000)
      --alert-exceeds-max[=yes|no]  report Heuristics.Limits.Exceeded.* instead of skipping
      --alert-encrypted[=yes|no]    report Heuristics.Encrypted.* for encrypted archives
      --scan-archive[=yes|no]       look inside archives and compressed files (default yes)
  -j, --threads=N         scanning threads (default: all cores)
      --fail-if-db-older-than=DAYS  fail (exit 2) without scanning when a
                          database is older than DAYS days or of unknown age
      --stale-days=N      warn on stderr when a database is older (default 3)
      --cache-dir=DIR     compiled-engine cache (default: per-user cache dir)
      --no-cache          always compile, never read or write the cache
      --quarantine        move infected files into the quarantine vault
      --vault=DIR         the vault for --quarantine (see: vigil quarantine --help);
                          its allow.sfp (restore --allow) is loaded with -d databases
      --move=DIR          move infected files into DIR
      --copy=DIR          copy infected files into DIR
      --remove            remove infected files (no way back; prefer --quarantine)
  -h, --help              this help

Without -d the database is looked up in $VIGIL_DB, the user's and the
system's Vigil data directories, /var/lib/clamav, and finally the small
database built into vigil (the EICAR test signature).
)";

// The database built into vigil so that a scan without any installed
// database still detects the standard EICAR anti-malware test file.
constexpr std::string_view kEmbeddedDb =
    "Eicar-Signature:0:0:"
    "58354f2150254041505b345c505a58353428505e2937434329377d2445494341522d"
    "5354414e444152442d414e544956495255532d544553542d46494c452124482b482a\n";

struct Options {
  std::vector<std::string> databases;
  std::vector<std::string> paths;
  bool all_match = false, infected_only = false, summary = true, json = false, no_cache = false;
  std::vector<std::string> exclude, exclude_dir;
  uint64_t max_filesize = 100ull << 20;
  ScanOptions scan;  // container limits and alerts (--max-scansize, --alert-encrypted, ...)
  unsigned threads = 0;
  std::string cache_dir;
  ActionOptions action;  // --quarantine, --move, --copy, --remove (scan_action.h)
  int64_t fail_if_older_days = -1;  // --fail-if-db-older-than
  int64_t stale_days = 3;
  bool use_daemon = false;    // --daemon[=SOCKET]: scan through vigild (daemon_client.h)
  std::string daemon_socket;
};

bool ParseSize(const std::string& s, uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (errno || end == s.c_str()) return false;
  std::string suf(end);
  if (suf == "" ) *out = v;
  else if (suf == "k" || suf == "K") *out = v << 10;
  else if (suf == "m" || suf == "M") *out = v << 20;
  else if (suf == "g" || suf == "G") *out = v << 30;
  else return false;
  return true;
}

// Container limits and alerts, spelled as clamscan spells them. Returns 1
// when `argv[*i]` was one of them, 0 when not, -1 after printing an error.
int ParseContainerArg(int argc, char** argv, int* i, ScanOptions* o) {
  std::string a = argv[*i];
  auto name_value = [&](const char* name, std::string* v) {
    std::string n = name;
    if (a.starts_with(n + "=")) { *v = a.substr(n.size() + 1); return true; }
    if (a == n && *i + 1 < argc) { *v = argv[++*i]; return true; }
    return false;
  };
  auto flag = [&](const char* name, bool* out) -> int {
    std::string n = name, v;
    if (a == n) { *out = true; return 1; }
    if (!a.starts_with(n + "=")) return 0;
    v = a.substr(n.size() + 1);
    if (v == "yes" || v == "1" || v == "true") *out = true;
    else if (v == "no" || v == "0" || v == "false") *out = false;
    else { std::fprintf(stderr, "vigil scan: %s takes yes or no\n", name); return -1; }
    return 1;
  };
  auto number = [&](const char* name, bool size, uint64_t* out) -> int {
    std::string v;
    if (!name_value(name, &v)) return 0;
    char* end = nullptr;
    errno = 0;
    bool ok = size ? ParseSize(v, out) : (*out = std::strtoull(v.c_str(), &end, 10), !errno && end && !*end && !v.empty());
    if (!ok) { std::fprintf(stderr, "vigil scan: bad %s '%s'\n", name, v.c_str()); return -1; }
    return 1;
  };
  uint64_t n = 0;
  int r;
  if ((r = number("--max-scansize", true, &o->max_scansize))) return r;
  if ((r = number("--max-files", false, &o->max_files))) return r;
  if ((r = number("--max-recursion", false, &n))) { o->max_recursion = static_cast<uint32_t>(std::min<uint64_t>(n, 1u << 20)); return r; }
  if ((r = number("--max-scantime", false, &n))) { o->max_scantime_ms = static_cast<uint32_t>(std::min<uint64_t>(n, UINT32_MAX)); return r; }
  if ((r = flag("--alert-exceeds-max", &o->alert_exceeds_max))) return r;
  if ((r = flag("--alert-encrypted", &o->alert_encrypted))) return r;
  if ((r = flag("--scan-archive", &o->scan_archive))) return r;
  return 0;
}

// Returns an exit code when parsing ends the program, nullopt to continue.
std::optional<int> ParseArgs(int argc, char** argv, Options* o) {
  auto value = [&](int& i, const std::string& arg, const std::string& name,
                   std::string* out) -> bool {
    if (arg.size() > name.size() && arg.compare(0, name.size() + 1, name + "=") == 0) {
      *out = arg.substr(name.size() + 1);
      return true;
    }
    if (arg == name) {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "vigil scan: option %s needs a value\n", name.c_str());
        std::exit(2);
      }
      *out = argv[++i];
      return true;
    }
    return false;
  };
  bool only_paths = false;
  for (int i = 0; i < argc; ++i) {
    std::string a = argv[i], v;
    if (only_paths || a == "-" || a.empty() || a[0] != '-') { o->paths.push_back(a); continue; }
    if (a == "--") { only_paths = true; continue; }
    if (a == "-h" || a == "--help") { std::fputs(kUsage, stdout); return 0; }
    if (int r = ParseActionArg(argc, argv, &i, &o->action)) { if (r < 0) return 2; continue; }
    if (int r = ParseContainerArg(argc, argv, &i, &o->scan)) { if (r < 0) return 2; continue; }
    if (a == "-r" || a == "--recursive") continue;
    if (a == "-z" || a == "--allmatch") { o->all_match = true; continue; }
    if (a == "-i" || a == "--infected") { o->infected_only = true; continue; }
    if (a == "--no-summary") { o->summary = false; continue; }
    if (a == "--daemon") { o->use_daemon = true; continue; }
    if (a.starts_with("--daemon=")) { o->use_daemon = true; o->daemon_socket = a.substr(9); continue; }
    if (a == "--json") { o->json = true; continue; }
    if (a == "--no-cache") { o->no_cache = true; continue; }
    if (value(i, a, "-d", &v) || value(i, a, "--database", &v)) { o->databases.push_back(v); continue; }
    if (a.starts_with("-d") && a.size() > 2) { o->databases.push_back(a.substr(2)); continue; }
    if (value(i, a, "--exclude", &v)) { o->exclude.push_back(v); continue; }
    if (value(i, a, "--exclude-dir", &v)) { o->exclude_dir.push_back(v); continue; }
    if (value(i, a, "--cache-dir", &v)) { o->cache_dir = v; continue; }
    if (value(i, a, "--fail-if-db-older-than", &v) || value(i, a, "--stale-days", &v)) {
      char* end = nullptr;
      long long d = std::strtoll(v.c_str(), &end, 10);
      if (v.empty() || *end || d < 0 || d > 100000) {
        std::fprintf(stderr, "vigil scan: bad number of days '%s'\n", v.c_str());
        return 2;
      }
      (a.starts_with("--fail") ? o->fail_if_older_days : o->stale_days) = d;
      continue;
    }
    if (value(i, a, "--max-filesize", &v)) {
      // 0 means no limit, as in clamscan; the engine caps at under 4 GiB.
      if (!ParseSize(v, &o->max_filesize) || o->max_filesize >= (4ull << 30)) {
        std::fprintf(stderr, "vigil scan: bad --max-filesize '%s' (0 for none, or under 4G)\n", v.c_str());
        return 2;
      }
      if (o->max_filesize == 0) o->max_filesize = (4ull << 30) - 1;
      continue;
    }
    if (value(i, a, "-j", &v) || value(i, a, "--threads", &v) ||
        (a.starts_with("-j") && a.size() > 2 && (v = a.substr(2), true))) {
      o->threads = static_cast<unsigned>(std::strtoul(v.c_str(), nullptr, 10));
      if (o->threads == 0 || o->threads > 1024) {
        std::fprintf(stderr, "vigil scan: bad thread count '%s'\n", v.c_str());
        return 2;
      }
      continue;
    }
    std::fprintf(stderr, "vigil scan: unknown option '%s' (see --help)\n", a.c_str());
    return 2;
  }
  return std::nullopt;
}

bool IsDir(const std::string& p) {
  struct stat st {};
  return stat(p.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool HasDatabaseFile(const std::string& dir) {
  if (!IsDir(dir)) return false;
  DIR* d = opendir(dir.c_str());
  if (!d) return false;
  bool any = false;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    for (const char* ext : {".cvd", ".cld", ".hdb", ".hsb", ".ndb"})
      if (n.ends_with(ext)) any = true;
  }
  closedir(d);
  return any;
}

std::string HomeDir() {
  const char* h = std::getenv("HOME");
  return h ? h : "";
}

// Default database locations, in lookup order.
std::vector<std::string> DefaultDatabases() {
  if (const char* env = std::getenv("VIGIL_DB"); env && *env) return {env};
  std::vector<std::string> candidates;
  if (const char* x = std::getenv("XDG_DATA_HOME"); x && *x) candidates.push_back(std::string(x) + "/vigil/db");
  else if (!HomeDir().empty()) candidates.push_back(HomeDir() + "/.local/share/vigil/db");
  candidates.push_back("/var/lib/vigil/db");
  candidates.push_back("/var/lib/clamav");
  for (const auto& c : candidates)
    if (HasDatabaseFile(c)) return {c};
  return {};
}

std::string DefaultCacheDir() {
  if (const char* x = std::getenv("VIGIL_CACHE"); x && *x) return x;
  if (geteuid() == 0) return "/var/cache/vigil";
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::string(x) + "/vigil";
  if (!HomeDir().empty()) return HomeDir() + "/.cache/vigil";
  return "";
}

std::string Now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y:%m:%d %H:%M:%S", &tm);
  return buf;
}

// Work queue between the walker and the scanning threads.
class Queue {
 public:
  explicit Queue(size_t cap) : cap_(cap) {}
  void Push(walk::Entry e) {
    std::unique_lock<std::mutex> l(mu_);
    not_full_.wait(l, [&] { return q_.size() < cap_; });
    q_.push_back(std::move(e));
    not_empty_.notify_one();
  }
  bool Pop(walk::Entry* e) {
    std::unique_lock<std::mutex> l(mu_);
    not_empty_.wait(l, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return false;
    *e = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return true;
  }
  void Close() {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    not_empty_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<walk::Entry> q_;
  size_t cap_;
  bool closed_ = false;
};

}  // namespace

// Warns about stale or refused databases (one line each on stderr) and
// applies --fail-if-db-older-than.
int CheckDatabaseAge(const std::vector<std::string>& dbs, const Options& o) {
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  update::FreshnessLimits limits;
  limits.stale_after = o.stale_days * 86400;
  for (const std::string& db : dbs) {
    auto state = update::ReadDbState(db, "");
    if (!state.ok()) continue;  // the loader has already read it; nothing more to say
    int64_t days = update::AgeDays(*state, now);
    if (o.fail_if_older_days >= 0 && (days < 0 || days > o.fail_if_older_days)) {
      std::fprintf(stderr, "vigil scan: the signature database %s is %s; --fail-if-db-older-than %lld\n",
                   db.c_str(), days < 0 ? "of unknown age" : (std::to_string(days) + " days old").c_str(),
                   static_cast<long long>(o.fail_if_older_days));
      return 2;
    }
    std::string line = update::WarningLine(*state, now, limits);
    if (!line.empty()) std::fprintf(stderr, "%s\n", line.c_str());
  }
  return 0;
}

int ScanCommand(int argc, char** argv) {
  Options o;
  if (auto rc = ParseArgs(argc, argv, &o)) return *rc;
  if (o.use_daemon) {
    if (o.action.kind != ActionOptions::Kind::kNone) {
      std::fprintf(stderr, "vigil scan: --quarantine, --move, --copy and --remove act on the descriptor this process scans; they cannot be combined with --daemon\n");
      return 2;
    }
    if (o.paths.empty()) o.paths.push_back(".");
    return DaemonScan(o.daemon_socket, o.paths, DaemonScanOptions{o.all_match, o.infected_only, o.summary});
  }
  if (o.paths.empty()) o.paths.push_back(".");
  auto start = std::chrono::steady_clock::now();
  std::string start_date = Now();

  walk::WalkOptions wopt;
  try {
    for (const auto& e : o.exclude) wopt.exclude.emplace_back(e, std::regex::extended | std::regex::nosubs);
    for (const auto& e : o.exclude_dir) wopt.exclude_dir.emplace_back(e, std::regex::extended | std::regex::nosubs);
  } catch (const std::regex_error& e) {
    std::fprintf(stderr, "vigil scan: bad exclude pattern: %s\n", e.what());
    return 2;
  }

  // Load the engine.
  std::vector<std::string> dbs = o.databases.empty() ? DefaultDatabases() : o.databases;
  // A scan that quarantines also loads the vault's allow-list, where
  // `vigil quarantine restore --allow` records files the user vouched for,
  // so that they are not quarantined again.
  std::vector<std::string> load = dbs;
  if (o.action.kind == ActionOptions::Kind::kQuarantine && !dbs.empty()) {
    std::string vault = o.action.vault_dir;
    if (vault.empty()) {
      auto d = quarantine::DefaultVaultDir();
      if (d.ok()) vault = *d;
    }
    std::string allow = vault.empty() ? std::string() : vault + "/allow.sfp";
    if (!allow.empty() && access(allow.c_str(), R_OK) == 0) load.push_back(allow);
  }
  std::shared_ptr<const Engine> engine;
  EngineOptions eopt;
  if (!o.no_cache) eopt.cache_dir = o.cache_dir.empty() ? DefaultCacheDir() : o.cache_dir;
  if (dbs.empty()) {
    // The embedded database: tiny, never cached.
    auto r = LoadEngineFromText("vigil-default.ndb", kEmbeddedDb);
    if (!r.ok()) { std::fprintf(stderr, "vigil: %s\n", r.status().message().c_str()); return 2; }
    engine = std::move(r).value();
  } else {
    auto r = LoadEngine(load, eopt);
    if (!r.ok()) {
      std::fprintf(stderr, "ERROR: %s\n", r.status().message().c_str());
      return 2;
    }
    engine = std::move(r).value();
  }
  for (const auto& w : GetEngineInfo(*engine).warnings) std::fprintf(stderr, "WARNING: %s\n", w.c_str());
  if (int rc = CheckDatabaseAge(dbs, o); rc) return rc;
  // Acting on infected files: open once, scan and act through that descriptor.
  std::unique_ptr<ScanAction> action;
  o.action.json = o.json;
  if (o.action.kind != ActionOptions::Kind::kNone) action = std::make_unique<ScanAction>(o.action, dbs, engine);

  auto printer = o.json ? report::MakeJsonPrinter(stdout)
                        : report::MakeTextPrinter(stdout, report::TextOptions{o.infected_only});
  report::Summary sum;
  sum.known = GetEngineInfo(*engine).known_signatures;
  sum.start_date = start_date;
  std::mutex out_mu;
  ScanOptions sopt = o.scan;
  sopt.all_match = o.all_match;
  sopt.max_filesize = o.max_filesize;

  // Progress on a terminal only.
  const bool progress = isatty(STDERR_FILENO) && !o.json;
  std::atomic<uint64_t> done_files{0}, done_bytes{0};
  std::string current;
  auto last_progress = std::chrono::steady_clock::now();
  bool warned = false;  // a stderr warning makes the exit code 2 without counting an error
  auto record = [&](const std::string& path, const ScanResult& r, double secs, const std::string& act = {}) {
    std::lock_guard<std::mutex> l(out_mu);
    if (progress) std::fputs("\r\033[K", stderr);
    printer->File(path, r, secs);
    if (!act.empty()) std::fputs(act.c_str(), stdout);  // the action line follows the scan line
    if (r.verdict == Verdict::kError) ++sum.errors;
    else if (!r.empty) ++sum.files;  // clamscan counts skipped big files, not empty ones
    if (r.verdict == Verdict::kInfected) ++sum.infected;
    // Data figures count whole 4 KiB blocks, as clamscan's summary does.
    sum.bytes_scanned += r.bytes_scanned / 4096 * 4096;
    sum.bytes_read += r.size / 4096 * 4096;
    done_files++;
    done_bytes += r.bytes_scanned;
    if (progress) {
      std::fflush(stdout);
      auto now = std::chrono::steady_clock::now();
      if (now - last_progress > std::chrono::milliseconds(200)) {
        last_progress = now;
        double el = std::chrono::duration<double>(now - start).count();
        double mb = static_cast<double>(done_bytes.load()) / 1048576.0;
        std::string p = path.size() > 60 ? "..." + path.substr(path.size() - 57) : path;
        std::fprintf(stderr, "%" PRIu64 " files, %.1f MB, %.1f MB/s  %s", done_files.load(), mb,
                     el > 0 ? mb / el : 0.0, p.c_str());
      }
    }
  };

  // Standard input.
  std::vector<std::string> roots;
  for (const auto& p : o.paths) {
    if (p != "-") { roots.push_back(p); continue; }
    Scanner s(engine);
    auto t0 = std::chrono::steady_clock::now();
    ScanResult r = s.ScanFd(STDIN_FILENO, sopt);
    r.empty = false;  // clamscan reports empty standard input as "stdin: OK"
    record("stdin", r, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }

  // Paths the walker reports instead of files, in clamscan's words.
  auto Note = [&](const walk::Entry& e) {
    std::lock_guard<std::mutex> l(out_mu);
    switch (e.kind) {
      case walk::Entry::Kind::kNote:
        if (!o.infected_only && !o.json) std::printf("%s: %s\n", e.path.c_str(), e.message.c_str());
        break;
      case walk::Entry::Kind::kError: {
        ScanResult r;
        r.verdict = Verdict::kError;
        r.error = Status::IoError(e.path + ": " + e.message);
        r.error_text = e.message;
        printer->File(e.path, r, 0);
        ++sum.errors;
        break;
      }
      case walk::Entry::Kind::kMissing:
        std::fflush(stdout);
        std::fprintf(stderr, "%s: %s\nWARNING: %s: Can't access file\n", e.path.c_str(),
                     e.message.c_str(), e.path.c_str());
        warned = true;
        break;
      case walk::Entry::Kind::kWarning:
        std::fflush(stdout);
        std::fprintf(stderr, "WARNING: %s: %s\n", e.path.c_str(), e.message.c_str());
        warned = true;
        break;
      case walk::Entry::Kind::kFile:
        break;
    }
  };

  unsigned threads = o.threads ? o.threads : std::max(1u, std::thread::hardware_concurrency());
  // Named files only (no directory): no more threads than files, and one
  // file is scanned on this thread, without starting any.
  bool only_files = !roots.empty() && std::all_of(roots.begin(), roots.end(), [](const std::string& r) {
    struct stat st;
    return stat(r.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
  });
  if (only_files) threads = std::min<unsigned>(threads, static_cast<unsigned>(roots.size()));
  auto handle = [&](Scanner& s, const walk::Entry& e) {
    if (e.kind != walk::Entry::Kind::kFile) {
      Note(e);
      return;
    }
    auto t0 = std::chrono::steady_clock::now();
    std::string act;
    ScanResult r = action ? action->ScanAndAct(s, e.path, sopt, &act) : s.ScanFile(e.path, sopt);
    record(e.path, r, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), act);
  };
  walk::WalkStats wstats;
  if (only_files && threads == 1) {
    Scanner s(engine);
    walk::Walk(roots, wopt, [&](walk::Entry e) { handle(s, e); return walk::WalkState::kContinue; }, &wstats);
  } else {
    Queue q(1024);
    std::vector<std::thread> workers;
    for (unsigned t = 0; t < threads; ++t) {
      workers.emplace_back([&] {
        Scanner s(engine);  // per-thread scratch, built once per worker
        walk::Entry e;
        while (q.Pop(&e)) handle(s, e);
      });
    }
    walk::Walk(roots, wopt, [&](walk::Entry e) { q.Push(std::move(e)); return walk::WalkState::kContinue; },
               &wstats);
    q.Close();
    for (auto& w : workers) w.join();
  }
  if (progress) std::fputs("\r\033[K", stderr);

  sum.directories = wstats.directories;
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  sum.end_date = Now();
  printer->Finish(sum, o.summary);
  // For `vigil checkin`: databases kept by `vigil update` have a state
  // directory beside them, where the scan's result is counted.
  for (const std::string& db : dbs) {
    struct stat st;
    std::string state = db + ".update";
    if (stat(state.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && access(state.c_str(), W_OK) == 0) {
      update::RecordScan(state, static_cast<int64_t>(std::time(nullptr)), sum.infected);
      break;
    }
  }
  if (action && action->failures()) return 2;  // an infected file could not be acted on
  // As clamscan: a detection wins over errors.
  if (sum.infected) return 1;
  return (sum.errors || warned) ? 2 : 0;
}

}  // namespace vigil::cli
