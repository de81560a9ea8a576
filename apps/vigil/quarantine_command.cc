// `vigil quarantine`: list, inspect, restore, delete, purge and export the
// files `vigil scan --quarantine` put in the vault (lib/quarantine/).
#include <sys/stat.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "quarantine/vault.h"
#include "report/report.h"

namespace vigil::cli {
namespace {

constexpr const char* kUsage = R"(Usage: vigil quarantine [--vault DIR] COMMAND [ARGS]

Commands:
  list [--json]                      list the vault's entries
  show ID [--json]                   everything recorded about one entry
  restore ID... [--to PATH] [--force] [--keep] [--allow[=FILE.sfp]]
                                     put files back with their owner, mode, times
                                     and extended attributes; the SHA-256 is verified.
                                     --to      restore elsewhere (a directory keeps the name)
                                     --force   replace an existing file
                                     --keep    keep the entry in the vault
                                     --allow   allow-list the file's hash in FILE.sfp
                                               (default: allow.sfp in the vault); load it
                                               with `vigil scan -d FILE.sfp ...`
  delete ID...                       remove entries for good
  purge --older-than AGE             delete entries older than AGE (30d, 12h, 2w, 0)
  export ID --to FILE [--password PW]
                                     write a zip encrypted with PW (default "infected")
                                     holding the file, named by its SHA-256, and
                                     metadata.json: still neutralised, for researchers

An ID may be shortened to any unique prefix.
The vault is --vault DIR, else $VIGIL_HOME/quarantine, else /var/lib/vigil/quarantine
for root and ~/.local/share/vigil/quarantine for other users.
Exit status: 0 success, 2 an error occurred.
)";

struct Args {
  std::string vault, command, to, older_than, allow_file, password = "infected";
  std::vector<std::string> ids;
  bool json = false, force = false, keep = false, allow = false;
  bool has_to = false, has_older = false, has_password = false;
};

// Shows bytes on one terminal line: valid UTF-8 text stays, control
// characters, backslashes and invalid bytes become escapes.
std::string Printable(const std::string& s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool valid = len > 0 && i + len <= s.size();
    for (size_t k = 1; valid && k < len; ++k) valid = (static_cast<unsigned char>(s[i + k]) >> 6) == 2;
    char buf[8];
    if (!valid || (len == 1 && (c < 0x20 || c == 0x7f))) {
      if (c == '\n') out += "\\n";
      else if (c == '\t') out += "\\t";
      else {
        std::snprintf(buf, sizeof buf, "\\x%02x", c);
        out += buf;
      }
      ++i;
    } else if (c == '\\') {
      out += "\\\\";
      ++i;
    } else {
      out.append(s, i, len);
      i += len;
    }
  }
  return out;
}

std::string Time(int64_t t, const char* fmt = "%Y-%m-%d %H:%M:%S") {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, fmt, &tm);
  return buf;
}

std::optional<int> Parse(int argc, char** argv, Args* a) {
  for (int i = 0; i < argc; ++i) {
    std::string s = argv[i];
    auto value = [&](const std::string& name, std::string* out) -> int {
      if (s.starts_with(name + "=")) {
        *out = s.substr(name.size() + 1);
        return 1;
      }
      if (s != name) return 0;
      if (i + 1 >= argc) {
        std::fprintf(stderr, "vigil quarantine: option %s needs a value\n", name.c_str());
        return -1;
      }
      *out = argv[++i];
      return 1;
    };
    int r;
    if (s == "-h" || s == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if ((r = value("--vault", &a->vault))) { if (r < 0) return 2; continue; }
    if ((r = value("--to", &a->to))) { if (r < 0) return 2; a->has_to = true; continue; }
    if ((r = value("--older-than", &a->older_than))) { if (r < 0) return 2; a->has_older = true; continue; }
    if ((r = value("--password", &a->password))) { if (r < 0) return 2; a->has_password = true; continue; }
    if (s == "--json") { a->json = true; continue; }
    if (s == "--force") { a->force = true; continue; }
    if (s == "--keep") { a->keep = true; continue; }
    if (s == "--allow") { a->allow = true; continue; }
    if (s.starts_with("--allow=")) { a->allow = true; a->allow_file = s.substr(8); continue; }
    if (s.starts_with("-") && s != "-") {
      std::fprintf(stderr, "vigil quarantine: unknown option '%s' (see --help)\n", s.c_str());
      return 2;
    }
    if (a->command.empty()) a->command = s;
    else a->ids.push_back(s);
  }
  if (a->command.empty()) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  // Options that make no sense for the command are mistakes, not no-ops.
  const std::string& c = a->command;
  auto bad = [&](bool cond, const char* what) {
    if (cond) std::fprintf(stderr, "vigil quarantine %s: %s\n", c.c_str(), what);
    return cond;
  };
  if (bad(a->json && c != "list" && c != "show", "--json is for list and show") ||
      bad(a->has_to && c != "restore" && c != "export", "--to is for restore and export") ||
      bad((a->force || a->keep || a->allow) && c != "restore", "--force, --keep and --allow are for restore") ||
      bad(a->has_older && c != "purge", "--older-than is for purge") ||
      bad(a->has_password && c != "export", "--password is for export") ||
      bad(c == "list" && !a->ids.empty(), "takes no arguments") ||
      bad((c == "show" || c == "export") && a->ids.size() != 1, "takes one ID") ||
      bad((c == "restore" || c == "delete") && a->ids.empty(), "needs at least one ID") ||
      bad(c == "purge" && (!a->has_older || !a->ids.empty()), "needs --older-than AGE and no IDs") ||
      bad(c == "export" && a->to.empty(), "needs --to FILE") ||
      bad(!a->allow_file.empty() && !a->allow_file.ends_with(".sfp"),
          "the --allow file must end in .sfp (the allow-list format scans load)"))
    return 2;
  return std::nullopt;
}

void PrintList(const std::vector<quarantine::Entry>& entries, quarantine::Vault& v, bool json) {
  if (json) {
    std::string out = "[";
    for (size_t i = 0; i < entries.size(); ++i) {
      std::string j = quarantine::EntryJson(entries[i]);
      j.pop_back();  // add whether the content is present
      j += std::string(",\"content_present\":") + (v.HasContent(entries[i].id) ? "true" : "false") + "}";
      out += (i ? ",\n " : "") + j;
    }
    out += "]\n";
    std::fputs(out.c_str(), stdout);
    return;
  }
  if (entries.empty()) {
    std::printf("The vault %s is empty.\n", v.dir().c_str());
    return;
  }
  std::printf("%-12s  %-19s  %10s  %-30s  %s\n", "ID", "QUARANTINED (UTC)", "SIZE", "DETECTION", "PATH");
  for (const auto& e : entries) {
    std::string det = e.detections.empty() ? "-" : e.detections[0];
    if (e.detections.size() > 1) det += " (+" + std::to_string(e.detections.size() - 1) + ")";
    std::string path = Printable(e.path);
    if (!v.HasContent(e.id)) path += "  [content missing]";
    std::printf("%-12s  %-19s  %10" PRIu64 "  %-30s  %s\n", e.id.c_str(), Time(e.quarantined_at).c_str(),
                e.size, Printable(det).c_str(), path.c_str());
  }
}

void PrintEntry(const quarantine::Entry& e, quarantine::Vault& v) {
  auto row = [](const char* k, const std::string& val) { std::printf("%-13s %s\n", k, val.c_str()); };
  char mode[16];
  std::snprintf(mode, sizeof mode, "%04o", e.mode & 07777);
  auto when = [](int64_t sec, int64_t nsec) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09" PRId64, nsec);
    return Time(sec) + frac + " UTC";
  };
  std::string dets;
  for (const auto& d : e.detections) dets += (dets.empty() ? "" : ", ") + Printable(d);
  row("ID:", e.id);
  row("Path:", Printable(e.path));
  if (e.given_path != e.path) row("Scanned as:", Printable(e.given_path));
  row("Owner:", (e.owner.empty() ? "?" : e.owner) + " (" + std::to_string(e.uid) + ")");
  row("Group:", (e.group.empty() ? "?" : e.group) + " (" + std::to_string(e.gid) + ")");
  row("Mode:", mode);
  row("Size:", std::to_string(e.size) + " bytes");
  row("SHA-256:", e.sha256);
  row("Detections:", dets);
  row("Modified:", when(e.mtime_sec, e.mtime_nsec));
  row("Accessed:", when(e.atime_sec, e.atime_nsec));
  std::string xs;
  for (const auto& [n, val] : e.xattrs)
    xs += (xs.empty() ? "" : ", ") + Printable(n) + " (" + std::to_string(val.size()) + " bytes)";
  row("Xattrs:", xs.empty() ? "none" : xs);
  row("Quarantined:", Time(e.quarantined_at) + " UTC");
  row("Database:", Printable(e.db_version));
  row("Host:", Printable(e.host));
  row("Vigil:", e.vigil_version);
  row("Content:", v.HasContent(e.id) ? "present (encrypted)" : "MISSING");
}

}  // namespace

int QuarantineCommand(int argc, char** argv) {
  Args a;
  if (auto rc = Parse(argc, argv, &a)) return *rc;
  const std::string& c = a.command;
  if (c != "list" && c != "show" && c != "restore" && c != "delete" && c != "purge" && c != "export") {
    std::fprintf(stderr, "vigil quarantine: unknown command '%s' (see --help)\n", c.c_str());
    return 2;
  }
  int64_t age = 0;
  if (c == "purge" && !quarantine::ParseAge(a.older_than, &age)) {
    std::fprintf(stderr, "vigil quarantine purge: bad age '%s' (e.g. 30d, 12h, 2w)\n", a.older_than.c_str());
    return 2;
  }
  if (c == "restore" && a.ids.size() > 1 && a.has_to) {
    struct stat st {};
    if (stat(a.to.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      std::fprintf(stderr, "vigil quarantine restore: with several IDs, --to must be an existing directory\n");
      return 2;
    }
  }
  std::string dir = a.vault;
  if (dir.empty()) {
    auto d = quarantine::DefaultVaultDir();
    if (!d.ok()) {
      std::fprintf(stderr, "vigil quarantine: %s\n", d.status().message().c_str());
      return 2;
    }
    dir = *d;
  }
  // Reading commands never create a vault.
  struct stat vst {};
  if (stat(dir.c_str(), &vst) != 0 && errno == ENOENT) {
    if (c == "list") {
      if (a.json) std::fputs("[]\n", stdout);
      else std::printf("There is no vault at %s (nothing has been quarantined).\n", dir.c_str());
      return 0;
    }
    if (c == "purge") {
      std::printf("Purged 0 of 0 entries.\n");
      return 0;
    }
    std::fprintf(stderr, "vigil quarantine %s: there is no vault at %s\n", c.c_str(), dir.c_str());
    return 2;
  }
  auto opened = quarantine::Vault::Open(dir);
  if (!opened.ok()) {
    std::fprintf(stderr, "vigil quarantine: %s\n", opened.status().message().c_str());
    return 2;
  }
  quarantine::Vault& v = **opened;
  for (const auto& note : v.cleanup_notes()) std::fprintf(stderr, "vigil quarantine: %s\n", note.c_str());

  int rc = 0;
  auto error = [&](const std::string& msg) {
    std::fprintf(stderr, "vigil quarantine %s: %s\n", c.c_str(), msg.c_str());
    rc = 2;
  };

  if (c == "list") {
    auto entries = v.List();
    if (!entries.ok()) {
      error(entries.status().message());
      return rc;
    }
    PrintList(*entries, v, a.json);
    return rc;
  }
  if (c == "purge") {
    auto entries = v.List();
    if (!entries.ok()) {
      error(entries.status().message());
      return rc;
    }
    int64_t cutoff = static_cast<int64_t>(std::time(nullptr)) - age;
    int purged = 0;
    for (const auto& e : *entries) {
      if (e.quarantined_at > cutoff) continue;
      Status st = v.Delete(e);
      if (st.ok()) ++purged;
      else if (st.code() != StatusCode::kNotFound) error(e.id + ": " + st.message());
    }
    std::printf("Purged %d of %zu entries.\n", purged, entries->size());
    return rc;
  }

  for (const auto& id : a.ids) {
    auto e = v.Find(id);
    if (!e.ok()) {
      error(e.status().message());
      continue;
    }
    if (c == "show") {
      if (a.json) {
        std::string j = quarantine::EntryJson(*e);
        j.pop_back();
        j += std::string(",\"content_present\":") + (v.HasContent(e->id) ? "true" : "false") + "}\n";
        std::fputs(j.c_str(), stdout);
      } else {
        PrintEntry(*e, v);
      }
    } else if (c == "delete") {
      Status st = v.Delete(*e);
      if (st.ok()) std::printf("%s: deleted\n", e->id.c_str());
      else error(e->id + ": " + st.message());
    } else if (c == "export") {
      Status st = v.Export(*e, a.to, a.password);
      if (st.ok()) std::printf("%s: exported to '%s' (zip, password '%s')\n", e->id.c_str(), a.to.c_str(), a.password.c_str());
      else error(e->id + ": " + st.message());
    } else if (c == "restore") {
      quarantine::RestoreOptions o;
      o.to = a.to;
      o.force = a.force;
      o.keep = a.keep;
      auto r = v.Restore(*e, o);
      if (!r.ok()) {
        error(e->id + ": " + r.status().message());
        continue;
      }
      std::printf("%s: restored to '%s'\n", e->id.c_str(), Printable(r->path).c_str());
      for (const auto& w : r->warnings) std::fprintf(stderr, "vigil quarantine restore: %s: warning: %s\n", e->id.c_str(), w.c_str());
      if (a.allow) {
        std::string sfp = a.allow_file.empty() ? v.dir() + "/allow.sfp" : a.allow_file;
        Status st = quarantine::AppendAllowList(sfp, *e);
        if (st.ok())
          std::printf("%s: allow-listed in '%s' (scans loading it with -d no longer detect this file)\n",
                      e->id.c_str(), sfp.c_str());
        else error(e->id + ": " + st.message());
      }
    }
  }
  return rc;
}

}  // namespace vigil::cli
