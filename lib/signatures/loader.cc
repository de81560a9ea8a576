#include "signatures/loader.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "signatures/clamav/cvd.h"

namespace vigil::sig {
namespace {

enum class Format { kHash, kAllow, kNdb, kIgn2, kContainer, kUnsupported, kSkipPua, kMeta };

struct FormatEntry {
  std::string_view ext;
  Format format;
};

// One table from extension to parser (compare ClamAV's readdb.c else-if chain).
constexpr FormatEntry kFormats[] = {
    {".hdb", Format::kHash},   {".hsb", Format::kHash},
    {".fp", Format::kAllow},   {".sfp", Format::kAllow},
    {".ndb", Format::kNdb},    {".ign2", Format::kIgn2},
    {".ign", Format::kIgn2},
    {".cvd", Format::kContainer}, {".cld", Format::kContainer},
    // Known formats this engine cannot evaluate yet: skipped with a warning.
    {".ldb", Format::kUnsupported}, {".mdb", Format::kUnsupported},
    {".msb", Format::kUnsupported}, {".imp", Format::kUnsupported},
    {".cdb", Format::kUnsupported}, {".ftm", Format::kUnsupported},
    {".yar", Format::kUnsupported}, {".yara", Format::kUnsupported},
    {".crb", Format::kUnsupported}, {".idb", Format::kUnsupported},
    {".pdb", Format::kUnsupported}, {".gdb", Format::kUnsupported},
    {".wdb", Format::kUnsupported}, {".cbc", Format::kUnsupported},
    {".db", Format::kUnsupported},  {".zmd", Format::kUnsupported},
    {".rmd", Format::kUnsupported}, {".cat", Format::kUnsupported},
    {".crtdb", Format::kUnsupported}, {".pwdb", Format::kUnsupported},
    {".cud", Format::kUnsupported},
    // Potentially-unwanted-application databases: clamscan loads them only
    // with --detect-pua.
    {".hdu", Format::kSkipPua}, {".hsu", Format::kSkipPua}, {".ndu", Format::kSkipPua},
    {".ldu", Format::kSkipPua}, {".mdu", Format::kSkipPua}, {".msu", Format::kSkipPua},
    // Container metadata, never signatures.
    {".info", Format::kMeta}, {".cfg", Format::kMeta},
};

const FormatEntry* FindFormat(std::string_view file_name) {
  size_t slash = file_name.rfind('/');
  std::string_view base = slash == file_name.npos ? file_name : file_name.substr(slash + 1);
  size_t dot = base.rfind('.');
  if (dot == base.npos) return nullptr;
  std::string ext(base.substr(dot));
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& f : kFormats)
    if (f.ext == ext) return &f;
  return nullptr;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError(path + ": " + std::strerror(errno));
  std::string data;
  struct stat st {};
  if (fstat(fd, &st) == 0 && st.st_size > 0) data.reserve(static_cast<size_t>(st.st_size));
  char buf[1 << 16];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      close(fd);
      return Status::IoError(path + ": " + std::strerror(e));
    }
    if (n == 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return data;
}

Status LoadOne(std::string_view display, std::string_view text, bool official, SignatureSet* out);

Status LoadContainer(std::string_view display, std::string_view data, SignatureSet* out) {
  return ReadCvd(data, std::string(display), [&](std::string_view member, std::string_view contents) {
    std::string name = std::string(display) + ":" + std::string(member);
    const FormatEntry* f = FindFormat(member);
    if (f == nullptr) return Status::Ok();  // COPYING and other non-database members
    return LoadOne(name, contents, /*official=*/true, out);
  });
}

Status LoadOne(std::string_view display, std::string_view text, bool official, SignatureSet* out) {
  const FormatEntry* f = FindFormat(display);
  if (f == nullptr) return Status::InvalidArgument(std::string(display) + ": not a signature database (unknown extension)");
  DbSource src{std::string(display), official};
  switch (f->format) {
    case Format::kHash: return ParseHashDb(text, src, false, out);
    case Format::kAllow: return ParseHashDb(text, src, true, out);
    case Format::kNdb: return ParseNdb(text, src, out);
    case Format::kIgn2: return ParseIgn2(text, src, out);
    case Format::kContainer: return LoadContainer(display, text, out);
    case Format::kUnsupported:
      out->warnings.push_back(std::string(display) + ": " + std::string(f->ext.substr(1)) +
                              " databases are not supported yet; skipped");
      return Status::Ok();
    case Format::kSkipPua:
    case Format::kMeta:
      return Status::Ok();
  }
  return Status::Internal("unreachable");
}

}  // namespace

bool IsDatabaseFile(std::string_view file_name) { return FindFormat(file_name) != nullptr; }

std::string DisplayName(std::string_view name, bool official) {
  std::string out(name);
  if (!official) out += ".UNOFFICIAL";
  return out;
}

Status LoadDatabaseText(std::string_view file_name, std::string_view text, bool official,
                        SignatureSet* out) {
  return LoadOne(file_name, text, official, out);
}

Status LoadDatabase(const std::string& path, SignatureSet* out) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return Status::NotFound(path + ": " + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) {
    DIR* d = opendir(path.c_str());
    if (d == nullptr) return Status::IoError(path + ": " + std::strerror(errno));
    std::vector<std::string> files;
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      if (FindFormat(n) != nullptr) files.push_back(n);
    }
    closedir(d);
    std::sort(files.begin(), files.end());
    for (const auto& n : files) {
      std::string full = path + (path.ends_with('/') ? "" : "/") + n;
      struct stat fst {};
      if (stat(full.c_str(), &fst) != 0 || !S_ISREG(fst.st_mode)) continue;
      VIGIL_RETURN_IF_ERROR(LoadDatabase(full, out));
    }
    return Status::Ok();
  }
  const FormatEntry* f = FindFormat(path);
  if (f == nullptr) return Status::InvalidArgument(path + ": not a signature database (unknown extension)");
  if (f->format == Format::kUnsupported) return LoadOne(path, {}, false, out);
  auto text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  return LoadOne(path, *text, false, out);
}

void ApplyIgnores(SignatureSet* set) {
  if (set->ignored.empty()) return;
  auto ignored = [&](uint32_t name_id) {
    std::string_view n = set->names[name_id];
    if (set->ignored.count(std::string(n))) return true;
    if (n.ends_with(".UNOFFICIAL")) n.remove_suffix(11);
    return set->ignored.count(std::string(n)) > 0;
  };
  size_t before = set->hashes.size() + set->bodies.size();
  std::erase_if(set->hashes, [&](const HashSig& h) { return ignored(h.name); });
  std::erase_if(set->bodies, [&](const BodySig& b) { return ignored(b.name); });
  set->known -= before - (set->hashes.size() + set->bodies.size());
}

}  // namespace vigil::sig
