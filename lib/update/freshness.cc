#include "update/freshness.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>

#include "signatures/clamav/cvd.h"
#include "update/manifest.h"
#include "update/util.h"

namespace vigil::update {
namespace {

// The text of a signed note (everything before the blank line that starts
// its signatures). The note was verified when its release was installed.
std::string_view NoteText(std::string_view note) {
  size_t cut = note.rfind("\n\n");
  return cut == std::string_view::npos ? note : note.substr(0, cut + 1);
}

bool EndsWith(const std::string& s, const char* suffix) {
  size_t n = std::char_traits<char>::length(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

// Release "<channel>-<version>" that the database symlink points to, if it
// points into state_dir/releases.
bool LiveRelease(const std::string& db_dir, const std::string& state_dir, std::string* id) {
  char buf[4096];
  ssize_t n = readlink(db_dir.c_str(), buf, sizeof buf - 1);
  if (n <= 0) return false;
  std::string target(buf, static_cast<size_t>(n));
  size_t slash = target.rfind('/');
  std::string name = slash == std::string::npos ? target : target.substr(slash + 1);
  struct stat st;
  if (name.empty() || stat((state_dir + "/manifests/" + name).c_str(), &st) != 0) return false;
  *id = name;
  return true;
}

void FromCvdHeaders(const std::string& path, DbState* s) {
  std::vector<std::string> files;
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return;
  if (S_ISDIR(st.st_mode)) {
    if (DIR* d = opendir(path.c_str())) {
      while (struct dirent* e = readdir(d)) files.push_back(path + "/" + e->d_name);
      closedir(d);
    }
  } else {
    files.push_back(path);
  }
  std::sort(files.begin(), files.end());
  int64_t newest_mtime = 0;
  for (const std::string& f : files) {
    struct stat fs;
    if (stat(f.c_str(), &fs) != 0 || !S_ISREG(fs.st_mode)) continue;
    newest_mtime = std::max<int64_t>(newest_mtime, fs.st_mtime);
    if (!EndsWith(f, ".cvd") && !EndsWith(f, ".cld") && !EndsWith(f, ".cud")) continue;
    auto head = ReadFile(f, 512);
    if (!head.ok() || head->size() < 512) continue;
    auto h = sig::ParseCvdHeader(*head);
    if (!h.ok() || h->build_stime == 0) continue;
    if (static_cast<int64_t>(h->build_stime) > s->built) {
      s->built = static_cast<int64_t>(h->build_stime);
      size_t slash = f.rfind('/');
      std::string base = f.substr(slash + 1);
      s->version = base.substr(0, base.rfind('.')) + " " + std::to_string(h->version);
      s->built_source = "CVD header";
    }
  }
  if (s->built == 0 && newest_mtime > 0) {
    s->built = newest_mtime;
    s->built_source = "file times";
  }
}

// "2024-09-29T00:00:00-04:00" -> "2024-09-29": the date as the rule wrote it.
std::string RuleDate(const std::string& effective) {
  if (effective.size() >= 10 && effective[4] == '-' && effective[7] == '-') return effective.substr(0, 10);
  return effective;
}

std::string Days(int64_t d) { return std::to_string(d) + (d == 1 ? " day" : " days"); }

}  // namespace

Result<DbState> ReadDbState(const std::string& db_dir, const std::string& state_dir) {
  DbState s;
  s.db_dir = db_dir;
  s.state_dir = state_dir.empty() ? db_dir + ".update" : state_dir;
  struct stat st;
  if (stat(db_dir.c_str(), &st) != 0) return Status::NotFound(ErrnoText("cannot read the database " + db_dir, errno));
  std::string id;
  if (LiveRelease(db_dir, s.state_dir, &id)) {
    auto note = ReadFile(s.state_dir + "/manifests/" + id, 1 << 20);
    if (note.ok()) {
      auto m = ParseManifest(NoteText(*note));
      if (m.ok()) {
        s.version = m->channel + " " + std::to_string(m->version);
        s.built = m->created;
        s.built_source = "release manifest";
      }
    }
  }
  if (s.built == 0) FromCvdHeaders(db_dir, &s);
  auto last = ReadLastUpdate(s.state_dir);
  if (last.ok()) s.last = *last;
  return s;
}

int64_t AgeDays(const DbState& s, int64_t now) {
  if (s.built <= 0) return -1;
  return now > s.built ? (now - s.built) / 86400 : 0;
}

Freshness Judge(const DbState& s, int64_t now, const FreshnessLimits& limits) {
  if (s.last && s.last->outcome == "refused") return Freshness::kRefused;
  if (s.built <= 0) return Freshness::kCritical;
  int64_t age = now - s.built;
  if (age > limits.critical_after) return Freshness::kCritical;
  if (age > limits.stale_after) return Freshness::kStale;
  return Freshness::kCurrent;
}

int FreshnessExitCode(Freshness f) {
  switch (f) {
    case Freshness::kCurrent: return 0;
    case Freshness::kStale: return 1;
    case Freshness::kRefused:
    case Freshness::kCritical: return 2;
  }
  return 2;
}

std::string StatusReport(const DbState& s, int64_t now, const FreshnessLimits& limits) {
  std::string out;
  out += std::string("Engine:            vigil ") + VIGIL_VERSION + "\n";
  out += "Database:          " + s.db_dir + (s.version.empty() ? "" : " (" + s.version + ")") + "\n";
  int64_t days = AgeDays(s, now);
  if (days < 0) {
    out += "Database built:    unknown\n";
  } else {
    out += "Database built:    " + FormatTime(s.built) + " (" + s.built_source + "), " + Days(days) + " ago\n";
  }
  if (s.last) {
    out += "Last update:       " + FormatTime(s.last->time) + ": " + s.last->outcome;
    if (!s.last->message.empty() && s.last->outcome != "refused") out += " (" + s.last->message + ")";
    out += "\n";
  } else {
    out += "Last update:       never (no update state in " + s.state_dir + ")\n";
  }
  Freshness f = Judge(s, now, limits);
  switch (f) {
    case Freshness::kCurrent:
      out += "Status:            current\n";
      break;
    case Freshness::kStale:
      out += "Status:            STALE: signatures older than " + Days(limits.stale_after / 86400) +
             "; run `vigil update`\n";
      break;
    case Freshness::kCritical:
      out += days < 0 ? std::string("Status:            CRITICAL: the database's age is unknown\n")
                      : "Status:            CRITICAL: signatures older than " + Days(limits.critical_after / 86400) +
                            "; protection is degrading\n";
      break;
    case Freshness::kRefused: {
      const Refusal& r = s.last->refusal;
      out += "Status:            REFUSED\n\n";
      out += "Signature updates are not available in your jurisdiction";
      if (!r.effective.empty()) out += " since " + RuleDate(r.effective);
      if (!r.rule.empty()) out += " (rule " + r.rule + ")";
      out += ".";
      if (days >= 0) out += " Your signatures are " + Days(days) + " old and protection is degrading.";
      out += "\n";
      if (!r.message.empty()) out += r.message + "\n";
      if (!r.reference.empty()) out += "Reference: " + r.reference + "\n";
      out += "Vigil keeps using the installed database; nothing is removed or replaced.\n";
      break;
    }
  }
  return out;
}

std::string WarningLine(const DbState& s, int64_t now, const FreshnessLimits& limits) {
  Freshness f = Judge(s, now, limits);
  int64_t days = AgeDays(s, now);
  std::string age = days < 0 ? std::string("of unknown age") : Days(days) + " old";
  switch (f) {
    case Freshness::kCurrent: return "";
    case Freshness::kStale:
      return "vigil: warning: the signature database " + s.db_dir + " is " + age + "; run `vigil update`";
    case Freshness::kCritical:
      return "vigil: warning: the signature database " + s.db_dir + " is " + age +
             "; protection is degrading (see `vigil status`)";
    case Freshness::kRefused: {
      const Refusal& r = s.last->refusal;
      return "vigil: warning: signature updates are refused in your jurisdiction" +
             (r.rule.empty() ? std::string() : " (rule " + r.rule + ")") + "; the database is " + age +
             " (see `vigil status`)";
    }
  }
  return "";
}

}  // namespace vigil::update
