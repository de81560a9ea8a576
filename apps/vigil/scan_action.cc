#include "scan_action.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "quarantine/target.h"
#include "quarantine/vault.h"
#include "report/report.h"
#include "signatures/clamav/cvd.h"

namespace vigil::cli {
namespace {

using Kind = ActionOptions::Kind;

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kQuarantine: return "quarantine";
    case Kind::kMove: return "move";
    case Kind::kCopy: return "copy";
    case Kind::kRemove: return "remove";
    case Kind::kNone: break;
  }
  return "none";
}

// "name:version" of a .cvd/.cld file, from its 512-byte header.
std::string ContainerVersion(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  char buf[512];
  ssize_t n = pread(fd, buf, sizeof buf, 0);
  close(fd);
  if (n <= 0) return "";
  auto h = sig::ParseCvdHeader(std::string_view(buf, static_cast<size_t>(n)));
  if (!h.ok()) return "";
  std::string base = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  base = base.substr(0, base.rfind('.'));
  return base + ":" + std::to_string(h->version);
}

bool IsContainer(const std::string& name) {
  return name.ends_with(".cvd") || name.ends_with(".cld");
}

}  // namespace

int ParseActionArg(int argc, char** argv, int* i, ActionOptions* o) {
  std::string a = argv[*i];
  auto value = [&](const std::string& name, std::string* out) -> int {
    if (a.starts_with(name + "=")) {
      *out = a.substr(name.size() + 1);
      return 1;
    }
    if (a != name) return 0;
    if (*i + 1 >= argc) {
      std::fprintf(stderr, "vigil scan: option %s needs a value\n", name.c_str());
      return -1;
    }
    *out = argv[++*i];
    return 1;
  };
  auto set_kind = [&](Kind k) -> int {
    if (o->kind != Kind::kNone && o->kind != k) {
      std::fprintf(stderr, "vigil scan: --%s cannot be combined with --%s\n", KindName(k), KindName(o->kind));
      return -1;
    }
    o->kind = k;
    return 1;
  };
  std::string v;
  if (a == "--quarantine") return set_kind(Kind::kQuarantine);
  if (a == "--remove" || a == "--remove=yes") return set_kind(Kind::kRemove);
  if (a == "--remove=no") return 1;
  if (int r = value("--vault", &v); r) {
    if (r > 0) o->vault_dir = v;
    return r;
  }
  for (auto [name, kind] : {std::pair{"--move", Kind::kMove}, std::pair{"--copy", Kind::kCopy}}) {
    if (int r = value(name, &v); r) {
      if (r < 0) return r;
      if (v.empty()) {
        std::fprintf(stderr, "vigil scan: %s needs a directory\n", name);
        return -1;
      }
      o->dest_dir = v;
      return set_kind(kind);
    }
  }
  return 0;
}

ScanAction::ScanAction(ActionOptions o, std::vector<std::string> databases,
                       std::shared_ptr<const Engine> engine)
    : o_(std::move(o)), databases_(std::move(databases)), engine_(std::move(engine)) {}

ScanAction::~ScanAction() = default;

std::string ScanAction::Fail(const std::string& path, const std::string& why) {
  ++failures_;
  if (o_.json)
    return "{\"path\":\"" + report::JsonEscape(path) + "\",\"action\":\"" + KindName(o_.kind) +
           "\",\"error\":\"" + report::JsonEscape(why) + "\"}\n";
  // Errors go to stderr, like clamscan's; the scan line says what was found.
  std::fprintf(stderr, "ERROR: %s: %s failed: %s\n", path.c_str(), KindName(o_.kind), why.c_str());
  return "";
}

std::string ScanAction::Done(const std::string& path, const std::string& text, const std::string& json_fields) {
  if (o_.json)
    return "{\"path\":\"" + report::JsonEscape(path) + "\",\"action\":\"" + KindName(o_.kind) + "\"" +
           json_fields + "}\n";
  return path + ": " + text + "\n";
}

quarantine::Vault* ScanAction::GetVault(std::string* error) {
  std::lock_guard<std::mutex> l(mu_);
  if (!vault_tried_) {
    vault_tried_ = true;
    std::string dir = o_.vault_dir;
    if (dir.empty()) {
      auto d = quarantine::DefaultVaultDir();
      if (!d.ok()) vault_error_ = d.status().message();
      else dir = *d;
    }
    if (!dir.empty()) {
      auto v = quarantine::Vault::Open(dir);
      if (v.ok()) vault_ = std::move(v).value();
      else vault_error_ = "cannot open vault: " + v.status().message();
    }
  }
  *error = vault_error_;
  return vault_.get();
}

// Recorded with each entry: container versions when there are any
// ("daily:27000 main:62"), and always the signature count.
const std::string& ScanAction::DbVersion() {
  std::lock_guard<std::mutex> l(mu_);
  if (db_version_done_) return db_version_;
  db_version_done_ = true;
  std::vector<std::string> versions;
  for (const auto& p : databases_) {
    struct stat st {};
    if (stat(p.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      if (DIR* d = opendir(p.c_str())) {
        while (dirent* e = readdir(d))
          if (IsContainer(e->d_name)) versions.push_back(ContainerVersion(p + "/" + e->d_name));
        closedir(d);
      }
    } else if (IsContainer(p)) {
      versions.push_back(ContainerVersion(p));
    }
  }
  std::erase(versions, "");
  std::sort(versions.begin(), versions.end());
  for (const auto& v : versions) db_version_ += v + " ";
  if (databases_.empty()) db_version_ += "built-in ";
  db_version_ += '(';
  db_version_ += std::to_string(GetEngineInfo(*engine_).known_signatures);
  db_version_ += " signatures)";
  return db_version_;
}

ScanResult ScanAction::ScanAndAct(Scanner& scanner, const std::string& path, const ScanOptions& options,
                                  std::string* line) {
  line->clear();
  int err = 0;
  auto t = quarantine::OpenTarget(path, &err);
  if (!t.ok()) {
    if (err == ELOOP) {
      // A symlink named on the command line: report what it points to, but
      // never act through a link (name the target to act on it).
      ScanResult r = scanner.ScanFile(path, options);
      if (r.verdict == Verdict::kInfected) *line = Fail(path, "is a symbolic link; name its target to act on it");
      return r;
    }
    ScanResult r;
    r.verdict = Verdict::kError;
    r.error = t.status();
    r.error_text = err == ENOENT ? "No such file or directory"
                   : err == EINVAL ? "Not supported file type"
                                   : "Can't open file or directory";
    return r;
  }
  ScanResult r = scanner.ScanFd(t->file.get(), options);
  if (r.verdict != Verdict::kInfected) return r;
  switch (o_.kind) {
    case Kind::kQuarantine: {
      std::string why;
      quarantine::Vault* v = GetVault(&why);
      if (v == nullptr) {
        *line = Fail(path, why + "; left in place");
        break;
      }
      auto e = v->Quarantine(*t, quarantine::QuarantineInfo{r.names, DbVersion()});
      if (e.ok()) {
        std::string text = "quarantined as " + e->id;
        // Other names of the same inode still reach the content: say so.
        if (t->st.st_nlink > 1) text += " (" + std::to_string(t->st.st_nlink - 1) + " other hard link(s) remain)";
        *line = Done(path, text, ",\"id\":\"" + e->id + "\"");
      }
      else *line = Fail(path, e.status().message());
      break;
    }
    case Kind::kMove:
    case Kind::kCopy: {
      auto dest = o_.kind == Kind::kMove ? quarantine::MoveTarget(*t, o_.dest_dir)
                                         : quarantine::CopyTarget(*t, o_.dest_dir);
      if (dest.ok())
        *line = Done(path, std::string(o_.kind == Kind::kMove ? "moved" : "copied") + " to '" + *dest + "'",
                     ",\"destination\":\"" + report::JsonEscape(*dest) + "\"");
      else
        *line = Fail(path, dest.status().message());
      break;
    }
    case Kind::kRemove: {
      Status st = quarantine::RemoveTarget(*t);
      if (st.ok()) *line = Done(path, "Removed.", "");
      else *line = Fail(path, st.message());
      break;
    }
    case Kind::kNone:
      break;
  }
  return r;
}

}  // namespace vigil::cli
