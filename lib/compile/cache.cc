#include "compile/cache.h"

#include <dirent.h>
#include <elf.h>
#include <link.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <type_traits>

#include "signatures/loader.h"

namespace vigil::compile {
namespace {

constexpr char kMagic[8] = {'V', 'I', 'G', 'L', 'E', 'N', 'G', '\0'};
// 2: gap kind and special place per element; 3: typed targets; 4: PE offsets
constexpr uint32_t kFormatVersion = 5;

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U32(uint32_t v) { out_.append(reinterpret_cast<const char*>(&v), 4); }
  void U64(uint64_t v) { out_.append(reinterpret_cast<const char*>(&v), 8); }
  void Bytes(const void* p, size_t n) { U64(n); out_.append(static_cast<const char*>(p), n); }
  void Str(std::string_view s) { Bytes(s.data(), s.size()); }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool ok() const { return ok_; }
  uint8_t U8() { uint8_t v = 0; Raw(&v, 1); return v; }
  uint32_t U32() { uint32_t v = 0; Raw(&v, 4); return v; }
  uint64_t U64() { uint64_t v = 0; Raw(&v, 8); return v; }
  std::string_view Bytes() {
    uint64_t n = U64();
    if (!ok_ || n > in_.size() - pos_) { ok_ = false; return {}; }
    std::string_view s = in_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  // A count that cannot exceed the remaining bytes (each item >= min_item bytes).
  uint64_t Count(size_t min_item) {
    uint64_t n = U64();
    if (!ok_ || (min_item && n > (in_.size() - pos_) / min_item)) { ok_ = false; return 0; }
    return n;
  }
  bool done() const { return pos_ == in_.size(); }

 private:
  void Raw(void* p, size_t n) {
    if (!ok_ || n > in_.size() - pos_) { ok_ = false; std::memset(p, 0, n); return; }
    std::memcpy(p, in_.data() + pos_, n);
    pos_ += n;
  }
  std::string_view in_;
  size_t pos_ = 0;
  bool ok_ = true;
};

std::string Sha256Hex(std::string_view data) {
  unsigned char md[32];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) { out += kHex[md[i] >> 4]; out += kHex[md[i] & 15]; }
  return out;
}

std::string PlatformString() {
  hs_platform_info_t plat{};
  hs_populate_platform(&plat);
  return std::string(hs_version()) + "/" + std::to_string(plat.tune) + "/" +
         std::to_string(plat.cpu_features) +
         (StrategyFromEnv() == Strategy::kWholeRegex ? "/regex" : "");
}

void WriteMatch(Writer* w, const std::vector<sig::ByteMatch>& run) {
  w->U64(run.size());
  for (auto b : run) { w->U8(b.value); w->U8(b.mask); }
}

bool ReadMatch(Reader* r, std::vector<sig::ByteMatch>* run) {
  uint64_t n = r->Count(2);
  run->resize(n);
  for (auto& b : *run) { b.value = r->U8(); b.mask = r->U8(); }
  return r->ok();
}

// Hash entries are plain records; the platform check in the header
// guarantees the same layout on load, so they are copied whole.
static_assert(std::is_trivially_copyable_v<HashEntry>);

void WriteHashes(Writer* w, const HashIndex& idx) {
  w->U64(idx.entries().size());
  w->Bytes(idx.entries().data(), idx.entries().size() * sizeof(HashEntry));
}

bool ReadHashes(Reader* r, size_t names, HashIndex* idx) {
  uint64_t n = r->U64();
  std::string_view raw = r->Bytes();
  // Divide rather than multiply: n * sizeof can wrap around to raw.size().
  if (!r->ok() || raw.size() % sizeof(HashEntry) || n != raw.size() / sizeof(HashEntry)) return false;
  std::vector<HashEntry> entries(n);
  if (n) std::memcpy(entries.data(), raw.data(), raw.size());  // data() may be null when empty
  for (const auto& e : entries)
    if (static_cast<unsigned>(e.kind) > 2 || e.name >= names || e.size < sig::kAnySize) return false;
  idx->Restore(std::move(entries));
  return true;
}

Status WriteGroup(Writer* w, const Group& g) {
  auto vec32 = [&](const std::vector<uint32_t>& v) { w->U64(v.size()); for (auto x : v) w->U32(x); };
  vec32(g.positional);
  vec32(g.lit_first);
  vec32(g.regex_sigs);
  w->U64(g.anchors.size());
  for (const auto& a : g.anchors) { w->U32(a.sig); w->U32(a.elem); w->U32(a.alt); w->U32(a.offset); w->U32(a.length); }
  w->U64(g.literal_count);
  if (g.literals) {
    char* bytes = nullptr;
    size_t len = 0;
    if (hs_serialize_database(g.literals.get(), &bytes, &len) != HS_SUCCESS)
      return Status::Internal("hs_serialize_database failed");
    w->U8(1);
    w->Bytes(bytes, len);
    free(bytes);
  } else {
    w->U8(0);
  }
  return Status::Ok();
}

bool ReadGroup(Reader* r, size_t bodies, Group* g) {
  auto vec32 = [&](std::vector<uint32_t>* v) {
    uint64_t n = r->Count(4);
    v->resize(n);
    for (auto& x : *v) x = r->U32();
  };
  vec32(&g->positional);
  vec32(&g->lit_first);
  vec32(&g->regex_sigs);
  uint64_t n = r->Count(20);
  g->anchors.resize(n);
  for (auto& a : g->anchors) {
    a.sig = r->U32(); a.elem = static_cast<uint16_t>(r->U32()); a.alt = static_cast<uint16_t>(r->U32());
    a.offset = r->U32(); a.length = r->U32();
    if (a.sig >= bodies) return false;
  }
  g->literal_count = r->U64();
  for (auto x : g->positional) if (x >= bodies) return false;
  for (auto x : g->regex_sigs) if (x >= bodies) return false;
  for (auto x : g->lit_first) if (x > g->anchors.size()) return false;
  if (g->literal_count + 1 != g->lit_first.size() && !(g->literal_count == 0 && g->lit_first.size() <= 1))
    return false;
  if (r->U8()) {
    std::string_view bytes = r->Bytes();
    if (!r->ok()) return false;
    hs_database_t* db = nullptr;
    if (hs_deserialize_database(bytes.data(), bytes.size(), &db) != HS_SUCCESS) return false;
    g->literals.reset(db);
  }
  return r->ok();
}

// Every anchor must point inside its signature's pattern, or verification
// would read out of bounds.
bool AnchorsValid(const CompiledDb& db, const Group& g) {
  for (const auto& a : g.anchors) {
    const auto& elems = db.bodies[a.sig].pattern.elems;
    if (a.elem >= elems.size()) return false;
    const auto& e = elems[a.elem];
    const std::vector<sig::ByteMatch>* run;
    if (e.kind == sig::ElemKind::kAlt) {
      if (a.alt >= e.alts.size()) return false;
      run = &e.alts[a.alt];
    } else if (e.kind == sig::ElemKind::kBytes) {
      run = &e.bytes;
    } else {
      return false;
    }
    if (size_t{a.offset} + a.length > run->size() || a.length == 0) return false;
  }
  return true;
}

// Identifies the running engine binary: its GNU build ID (a hash the linker
// computes over the binary, read from the loaded program headers), else the
// SHA-256 of the executable file. Computed once per process.
Result<std::string> ExecutableDigest() {
  static const Result<std::string> digest = []() -> Result<std::string> {
    std::string id;
    dl_iterate_phdr(
        [](dl_phdr_info* info, size_t, void* out) -> int {
          // The first object is the program itself.
          for (int i = 0; i < info->dlpi_phnum; ++i) {
            const ElfW(Phdr)& ph = info->dlpi_phdr[i];
            if (ph.p_type != PT_NOTE) continue;
            const char* p = reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr);
            const char* end = p + ph.p_memsz;
            while (end - p >= static_cast<ptrdiff_t>(sizeof(ElfW(Nhdr)))) {
              ElfW(Nhdr) nh;
              std::memcpy(&nh, p, sizeof nh);
              size_t name_len = (nh.n_namesz + 3) & ~size_t{3}, desc_len = (nh.n_descsz + 3) & ~size_t{3};
              const char* name = p + sizeof nh;
              const char* desc = name + name_len;
              if (name_len + desc_len > static_cast<size_t>(end - name)) break;
              if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && std::memcmp(name, "GNU", 4) == 0) {
                static const char kHex[] = "0123456789abcdef";
                auto* s = static_cast<std::string*>(out);
                for (size_t k = 0; k < nh.n_descsz; ++k) {
                  *s += kHex[static_cast<uint8_t>(desc[k]) >> 4];
                  *s += kHex[static_cast<uint8_t>(desc[k]) & 15];
                }
                return 1;
              }
              p = desc + desc_len;
            }
          }
          return 1;
        },
        &id);
    if (!id.empty()) return "build-id:" + id;
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::IoError("/proc/self/exe unreadable");
    struct stat st {};
    fstat(fd, &st);
    size_t size = static_cast<size_t>(st.st_size);
    void* p = size ? mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
    close(fd);
    if (p == MAP_FAILED) return Status::IoError("/proc/self/exe: mmap failed");
    std::string d = Sha256Hex(std::string_view(static_cast<const char*>(p), size));
    munmap(p, size);
    return d;
  }();
  return digest;
}

struct DbFile {
  std::string path;
  struct stat st {};
};

// The database files behind `db_paths`, in the order the loader reads them
// (directories expanded to their database files in name order).
Status ListDbFiles(const std::vector<std::string>& db_paths, std::vector<DbFile>* out) {
  for (const auto& path : db_paths) {
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return Status::NotFound(path);
    if (!S_ISDIR(st.st_mode)) {
      out->push_back({path, st});
      continue;
    }
    std::vector<std::string> files;
    if (DIR* d = opendir(path.c_str())) {
      while (dirent* e = readdir(d))
        if (sig::IsDatabaseFile(e->d_name)) files.push_back(path + "/" + e->d_name);
      closedir(d);
    }
    std::sort(files.begin(), files.end());
    for (auto& f : files) {
      struct stat fst {};
      if (stat(f.c_str(), &fst) == 0 && S_ISREG(fst.st_mode)) out->push_back({std::move(f), fst});
    }
  }
  return Status::Ok();
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Raw(const void* p, size_t n) { EVP_DigestUpdate(ctx_, p, n); }
  void U64(uint64_t v) { Raw(&v, sizeof v); }
  // Length-prefixed, so that concatenations cannot collide.
  void Str(std::string_view s) { U64(s.size()); Raw(s.data(), s.size()); }
  std::string Hex() {
    unsigned char md[32];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx_, md, &len);
    static const char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) { out += kHex[md[i] >> 4]; out += kHex[md[i] & 15]; }
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

// A file changed later than this many seconds ago might change again within
// the same timestamp granule without its stat changing: its content key is
// not remembered.
constexpr int64_t kSettleSeconds = 2;

bool Settled(const struct stat& st, int64_t now) {
  return st.st_mtim.tv_sec + kSettleSeconds < now && st.st_ctim.tv_sec + kSettleSeconds < now;
}

bool IsHexKey(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

Result<std::string> SerializeDb(const CompiledDb& db) {
  Writer w;
  w.Str(db.names.blob());
  w.U64(db.names.ends().size());
  w.Bytes(db.names.ends().data(), db.names.ends().size() * sizeof(uint32_t));
  WriteHashes(&w, db.hashes);
  WriteHashes(&w, db.allow);
  w.U64(db.bodies.size());
  for (const auto& b : db.bodies) {
    w.U32(b.name);
    w.U8(b.target);
    w.U8(static_cast<uint8_t>(b.offset.kind));
    w.U64(static_cast<uint64_t>(b.offset.value));
    w.U32(b.offset.section);
    w.U32(b.offset.max_shift);
    w.U64(b.pattern.elems.size());
    for (const auto& e : b.pattern.elems) {
      w.U8(static_cast<uint8_t>(e.kind));
      WriteMatch(&w, e.bytes);
      w.U64(e.alts.size());
      for (const auto& a : e.alts) WriteMatch(&w, a);
      w.U32(e.gap_min);
      w.U32(e.gap_max);
      w.U8(static_cast<uint8_t>(e.gap_kind));
      w.U8(static_cast<uint8_t>(e.place));
    }
  }
  VIGIL_RETURN_IF_ERROR(WriteGroup(&w, db.raw));
  VIGIL_RETURN_IF_ERROR(WriteGroup(&w, db.text));
  w.U64(db.known);
  w.U64(db.warnings.size());
  for (const auto& s : db.warnings) w.Str(s);
  return std::move(w.out());
}

Result<std::unique_ptr<CompiledDb>> DeserializeDb(std::string_view bytes) {
  auto bad = [] { return Status::Corruption("engine cache payload is malformed"); };
  Reader r(bytes);
  auto db = std::make_unique<CompiledDb>();
  std::string blob(r.Bytes());
  uint64_t nn = r.U64();
  std::string_view ends_raw = r.Bytes();
  if (!r.ok() || ends_raw.size() % sizeof(uint32_t) || nn != ends_raw.size() / sizeof(uint32_t))
    return bad();
  std::vector<uint32_t> ends(nn);
  if (nn) std::memcpy(ends.data(), ends_raw.data(), ends_raw.size());  // data() may be null when empty
  if (!db->names.Restore(std::move(blob), std::move(ends))) return bad();
  if (!r.ok() || !ReadHashes(&r, db->names.size(), &db->hashes) ||
      !ReadHashes(&r, db->names.size(), &db->allow))
    return bad();
  uint64_t nb = r.Count(4 + 1 + 1 + 8 + 4 + 4 + 8);
  db->bodies.resize(nb);
  for (auto& b : db->bodies) {
    b.name = r.U32();
    b.target = r.U8();
    uint8_t kind = r.U8();
    if (kind > static_cast<uint8_t>(sig::Offset::Kind::kLastSection)) return bad();
    b.offset.kind = static_cast<sig::Offset::Kind>(kind);
    b.offset.value = static_cast<int64_t>(r.U64());
    b.offset.section = r.U32();
    b.offset.max_shift = r.U32();
    uint64_t ne = r.Count(1 + 8 + 8 + 8 + 2);
    if (b.name >= db->names.size() || ne == 0) return bad();
    b.pattern.elems.resize(ne);
    for (auto& e : b.pattern.elems) {
      uint8_t k = r.U8();
      if (k > static_cast<uint8_t>(sig::ElemKind::kNonAlnum)) return bad();
      e.kind = static_cast<sig::ElemKind>(k);
      if (!ReadMatch(&r, &e.bytes)) return bad();
      uint64_t na = r.Count(8);
      e.alts.resize(na);
      for (auto& a : e.alts) if (!ReadMatch(&r, &a)) return bad();
      e.gap_min = r.U32();
      e.gap_max = r.U32();
      uint8_t gap_kind = r.U8(), place = r.U8();
      if (gap_kind > static_cast<uint8_t>(sig::GapKind::kByteRange) ||
          place > static_cast<uint8_t>(sig::Place::kAfter))
        return bad();
      e.gap_kind = static_cast<sig::GapKind>(gap_kind);
      e.place = static_cast<sig::Place>(place);
      bool shape_ok = (e.kind == sig::ElemKind::kBytes) ? !e.bytes.empty()
                      : e.kind == sig::ElemKind::kAlt ? !e.alts.empty()  // "(aa|)" has an empty one
                      : e.kind == sig::ElemKind::kNegAlt
                          ? !e.alts.empty() && !e.alts[0].empty()
                          : true;
      if (e.kind == sig::ElemKind::kNegAlt)
        for (auto& a : e.alts) if (a.size() != e.alts[0].size()) shape_ok = false;
      if (!shape_ok || e.gap_min > e.gap_max) return bad();
    }
    b.pattern.parts = sig::PatternParts(b.pattern);
    b.evaluable = true;
  }
  if (!r.ok() || !ReadGroup(&r, db->bodies.size(), &db->raw) ||
      !ReadGroup(&r, db->bodies.size(), &db->text) || !AnchorsValid(*db, db->raw) ||
      !AnchorsValid(*db, db->text))
    return bad();
  db->known = r.U64();
  uint64_t nw = r.Count(8);
  for (uint64_t i = 0; i < nw; ++i) db->warnings.emplace_back(r.Bytes());
  if (!r.ok() || !r.done()) return bad();
  return db;
}

Result<std::string> CacheKey(const std::vector<std::string>& db_paths, const std::string& memo_dir) {
  std::vector<DbFile> files;
  VIGIL_RETURN_IF_ERROR(ListDbFiles(db_paths, &files));
  auto engine = ExecutableDigest();
  // The part of the key that does not depend on the databases.
  auto start = [&](Sha256* h) {
    h->Str(std::to_string(kFormatVersion));
    h->Str(PlatformString());
    // The engine binary itself: a rebuilt parser or compiler must not be
    // handed a database compiled by an older one.
    if (engine.ok()) h->Str(*engine);
  };
  // Memo: the content key last computed for exactly these files with exactly
  // this stat (device, inode, size, modification and change times).
  std::string memo;
  if (!memo_dir.empty()) {
    Sha256 h;
    h.Str("stat");
    start(&h);
    for (const auto& f : files) {
      h.Str(f.path);
      for (int64_t v : {int64_t(f.st.st_dev), int64_t(f.st.st_ino), int64_t(f.st.st_size),
                        int64_t(f.st.st_mtim.tv_sec), int64_t(f.st.st_mtim.tv_nsec),
                        int64_t(f.st.st_ctim.tv_sec), int64_t(f.st.st_ctim.tv_nsec)})
        h.U64(static_cast<uint64_t>(v));
    }
    memo = memo_dir + "/" + h.Hex() + ".stat";
    char buf[65];
    int fd = open(memo.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t n = read(fd, buf, sizeof buf);
      close(fd);
      if (n == 64 && IsHexKey(std::string_view(buf, 64))) return std::string(buf, 64);
    }
  }
  Sha256 h;
  start(&h);
  for (const auto& f : files) {
    int fd = open(f.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::IoError(f.path + ": " + std::strerror(errno));
    struct stat st {};
    fstat(fd, &st);
    h.Str(f.path);
    uint64_t size = static_cast<uint64_t>(st.st_size);
    h.U64(size);
    if (size > 0) {
      void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) { close(fd); return Status::IoError(f.path + ": mmap failed"); }
      h.Raw(p, size);
      munmap(p, size);
    }
    close(fd);
  }
  std::string key = h.Hex();
  int64_t now = static_cast<int64_t>(time(nullptr));
  if (!memo.empty() && std::all_of(files.begin(), files.end(), [&](const DbFile& f) { return Settled(f.st, now); })) {
    // Best effort: without the memo the next start just hashes again.
    mkdir(memo_dir.c_str(), 0700);
    std::string tmp = memo + ".tmp." + std::to_string(getpid());
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
      bool ok = write(fd, key.data(), key.size()) == static_cast<ssize_t>(key.size());
      close(fd);
      if (!ok || rename(tmp.c_str(), memo.c_str()) != 0) unlink(tmp.c_str());
    }
  }
  return key;
}

Status SaveCache(const std::string& dir, const std::string& key, const CompiledDb& db) {
  auto payload = SerializeDb(db);
  if (!payload.ok()) return payload.status();
  mkdir(dir.c_str(), 0700);
  std::string header(kMagic, sizeof kMagic);
  uint32_t ver = kFormatVersion;
  header.append(reinterpret_cast<const char*>(&ver), 4);
  std::string plat = PlatformString();
  uint32_t plen = static_cast<uint32_t>(plat.size());
  header.append(reinterpret_cast<const char*>(&plen), 4);
  header += plat;
  header += Sha256Hex(*payload);  // 64 hex chars
  std::string final_path = dir + "/" + key + ".engine";
  std::string tmp = final_path + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Status::IoError(tmp + ": " + std::strerror(errno));
  auto write_all = [&](std::string_view s) {
    while (!s.empty()) {
      ssize_t n = write(fd, s.data(), s.size());
      if (n < 0) { if (errno == EINTR) continue; return false; }
      s.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  };
  bool ok = write_all(header) && write_all(*payload) && fsync(fd) == 0;
  int e = errno;
  close(fd);
  if (!ok || rename(tmp.c_str(), final_path.c_str()) != 0) {
    unlink(tmp.c_str());
    return Status::IoError(final_path + ": " + std::strerror(ok ? errno : e));
  }
  return Status::Ok();
}

Result<std::unique_ptr<CompiledDb>> LoadCache(const std::string& dir, const std::string& key) {
  std::string path = dir + "/" + key + ".engine";
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::NotFound(path);
  struct stat st {};
  if (fstat(fd, &st) != 0 || st.st_size <= 0) { close(fd); return Status::Corruption(path + ": empty"); }
  size_t size = static_cast<size_t>(st.st_size);
  void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED) return Status::IoError(path + ": mmap failed");
  std::string_view all(static_cast<const char*>(p), size);
  auto fail = [&](const std::string& why) {
    munmap(p, size);
    return Status::Corruption(path + ": " + why);
  };
  if (all.size() < sizeof kMagic + 8 || std::memcmp(all.data(), kMagic, sizeof kMagic) != 0)
    return fail("bad magic");
  uint32_t ver, plen;
  std::memcpy(&ver, all.data() + 8, 4);
  std::memcpy(&plen, all.data() + 12, 4);
  if (ver != kFormatVersion) return fail("format version " + std::to_string(ver) + ", expected " + std::to_string(kFormatVersion));
  if (all.size() < 16 + size_t{plen} + 64) return fail("truncated header");
  if (all.substr(16, plen) != PlatformString()) return fail("built for another platform");
  std::string_view sum = all.substr(16 + plen, 64);
  std::string_view payload = all.substr(16 + plen + 64);
  if (Sha256Hex(payload) != sum) return fail("checksum mismatch");
  auto db = DeserializeDb(payload);
  munmap(p, size);
  return db;
}

}  // namespace vigil::compile
