#include "signatures/loader.h"

#include <dirent.h>
#include <fcntl.h>
#include <strings.h>
#include <sys/mman.h>
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

// A database file mapped read-only for the duration of its parse.
class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile() {
    if (data_ != nullptr) munmap(data_, size_);
  }
  Status Open(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::IoError(path + ": " + std::strerror(errno));
    struct stat st {};
    if (fstat(fd, &st) != 0) {
      int e = errno;
      close(fd);
      return Status::IoError(path + ": " + std::strerror(e));
    }
    size_ = static_cast<size_t>(st.st_size);
    if (size_ > 0) {
      void* p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        int e = errno;
        close(fd);
        return Status::IoError(path + ": " + std::strerror(e));
      }
      data_ = p;
      madvise(p, size_, MADV_SEQUENTIAL);
    }
    close(fd);
    return Status::Ok();
  }
  std::string_view view() const {
    return data_ ? std::string_view(static_cast<const char*>(data_), size_) : std::string_view();
  }

 private:
  void* data_ = nullptr;
  size_t size_ = 0;
};

Status LoadOne(std::string_view display, std::string_view text, bool official, SignatureSet* out);

// Runs load(), which loads several files into *out; when it fails, *out is
// put back as it was, so that a bad file in a directory or container leaves
// none of the files before it behind.
template <typename Fn>
Status AllOrNothing(SignatureSet* out, Fn&& load) {
  size_t names = out->names.size(), hashes = out->hashes.size(), allow = out->allow.size(),
         bodies = out->bodies.size(), warnings = out->warnings.size();
  uint64_t known = out->known;
  auto ignored = out->ignored;
  Status st = load();
  if (!st.ok()) {
    out->names.Truncate(names);
    out->hashes.resize(hashes);
    out->allow.resize(allow);
    out->bodies.resize(bodies);
    out->warnings.resize(warnings);
    out->known = known;
    out->ignored = std::move(ignored);
  }
  return st;
}

Status LoadContainer(std::string_view display, std::string_view data, SignatureSet* out) {
  return AllOrNothing(out, [&] {
    bool cld = display.size() >= 4 && strcasecmp(std::string(display.substr(display.size() - 4)).c_str(), ".cld") == 0;
    return ReadCvd(data, std::string(display), !cld, [&](std::string_view member, std::string_view contents) {
      std::string name = std::string(display) + ":" + std::string(member);
      const FormatEntry* f = FindFormat(member);
      if (f == nullptr) return Status::Ok();  // COPYING and other non-database members
      return LoadOne(name, contents, /*official=*/true, out);
    });
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
  if (!official) out += kUnofficialSuffix;
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
    return AllOrNothing(out, [&] {
      for (const auto& n : files) {
        std::string full = path + (path.ends_with('/') ? "" : "/") + n;
        struct stat fst {};
        if (stat(full.c_str(), &fst) != 0 || !S_ISREG(fst.st_mode)) continue;
        VIGIL_RETURN_IF_ERROR(LoadDatabase(full, out));
      }
      return Status::Ok();
    });
  }
  const FormatEntry* f = FindFormat(path);
  if (f == nullptr) return Status::InvalidArgument(path + ": not a signature database (unknown extension)");
  if (f->format == Format::kUnsupported) return LoadOne(path, {}, false, out);
  MappedFile file;
  VIGIL_RETURN_IF_ERROR(file.Open(path));
  return LoadOne(path, file.view(), false, out);
}

void ApplyIgnores(SignatureSet* set) {
  if (set->ignored.empty()) return;
  std::string key;
  auto ignored = [&](uint32_t name_id) {
    std::string_view n = set->names[name_id];
    if (n.ends_with(kUnofficialSuffix)) n.remove_suffix(kUnofficialSuffix.size());
    key.assign(n);
    return set->ignored.count(key) > 0;
  };
  size_t before = set->hashes.size() + set->bodies.size();
  std::erase_if(set->hashes, [&](const HashSig& h) { return ignored(h.name); });
  std::erase_if(set->bodies, [&](const BodySig& b) { return ignored(b.name); });
  set->known -= before - (set->hashes.size() + set->bodies.size());
}

}  // namespace vigil::sig
