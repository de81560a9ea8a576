#include "compile/cache.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <dirent.h>
#include <elf.h>
#include <link.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <span>
#include <tuple>
#include <type_traits>

#include "compile/digest.h"
#include "signatures/loader.h"

namespace vigil::compile {
namespace {

constexpr char kMagic[8] = {'V', 'I', 'G', 'L', 'E', 'N', 'G', '\0'};
// 2: gap kind and special place per element; 3: typed targets; 4: PE offsets;
// 6: sections mapped in place (names, hash indexes, body heads) and patterns
// decoded on first use
constexpr uint32_t kFormatVersion = 6;

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

// The CPU Hyperscan compiled for. Hyperscan's hs_populate_platform() lives
// in its compiler, which `vigil` loads only to compile; the CPU's vendor,
// family, model and vector features distinguish at least the platforms that
// it does (tune family and AVX2/AVX-512/VBMI).
std::string CpuString() {
  static const std::string cpu = [] {
    std::string s;
#if defined(__x86_64__)
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (__get_cpuid(0, &a, &b, &c, &d)) {
      char vendor[13] = {};
      std::memcpy(vendor, &b, 4);
      std::memcpy(vendor + 4, &d, 4);
      std::memcpy(vendor + 8, &c, 4);
      s += vendor;
    }
    if (__get_cpuid(1, &a, &b, &c, &d)) {
      unsigned family = (a >> 8) & 15, model = (a >> 4) & 15;
      if (family == 15) family += (a >> 20) & 255;
      if (family == 6 || family >= 15) model += ((a >> 16) & 15) << 4;
      s += '-';
      s += std::to_string(family);
      s += '-';
      s += std::to_string(model);
    }
    __builtin_cpu_init();
    for (auto [name, on] : {std::pair{"avx2", __builtin_cpu_supports("avx2")},
                            {"avx512f", __builtin_cpu_supports("avx512f")},
                            {"avx512bw", __builtin_cpu_supports("avx512bw")},
                            {"avx512vl", __builtin_cpu_supports("avx512vl")},
                            {"avx512vbmi", __builtin_cpu_supports("avx512vbmi")}})
      if (on) {
        s += ',';
        s += name;
      }
#else
    s = "generic";
#endif
    return s;
  }();
  return cpu;
}

std::string PlatformString() {
  return std::string(hs_version()) + "/" + CpuString() +
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

// Hash entries and body heads are plain records; the platform check in the
// header guarantees the same layout on load, so they are mapped as they are.
static_assert(std::is_trivially_copyable_v<HashEntry>);
static_assert(std::is_trivially_copyable_v<BodyHead>);
static_assert(std::is_trivially_copyable_v<Anchor>);

// The group's Hyperscan database as hs_serialize_database writes it; empty
// when the group has none.
Result<std::string> SerializeHs(const Group& g) {
  if (!g.literals) return std::string();
  char* bytes = nullptr;
  size_t len = 0;
  if (hs_serialize_database(g.literals.get(), &bytes, &len) != HS_SUCCESS)
    return Status::Internal("hs_serialize_database failed");
  std::string out(bytes, len);
  free(bytes);
  return out;
}

bool ReadHs(std::string_view bytes, Group* g) {
  if (bytes.empty()) return true;
  size_t size = 0;
  if (hs_serialized_database_size(bytes.data(), bytes.size(), &size) != HS_SUCCESS || size == 0) return false;
  auto* db = static_cast<hs_database_t*>(HsAlloc(size));
  if (!db) return false;
  // Hyperscan checks its own header and checksum here.
  if (hs_deserialize_database_at(bytes.data(), bytes.size(), db) != HS_SUCCESS) {
    HsFree(db);
    return false;
  }
  g->literals = HsDatabase(db, HsDatabaseDeleter{true});
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

int64_t Nanos(const struct timespec& t) { return int64_t{t.tv_sec} * 1000000000 + t.tv_nsec; }

bool Settled(const struct stat& st, int64_t now_ns) {
  const int64_t settle = kSettleSeconds * int64_t{1000000000};
  return now_ns - Nanos(st.st_mtim) > settle && now_ns - Nanos(st.st_ctim) > settle;
}

bool IsHexKey(std::string_view s) {
  return s.size() == 64 && std::all_of(s.begin(), s.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

}  // namespace

namespace {

// Payload sections (docs/formats/engine-cache.md), in file order.
enum Section : uint32_t {
  kNamesBlob, kNamesEnds, kHashes, kAllow, kHeads, kBodyOffsets, kBodyBlob,
  // Per prefilter group (raw bytes, then normalised text), in GroupSection order.
  kRawPositional, kRawLitFirst, kRawRegex, kRawAnchors, kRawHs,
  kTextPositional, kTextLitFirst, kTextRegex, kTextAnchors, kTextHs,
  kMisc, kSectionCount
};
// Offsets within a group's sections.
constexpr uint32_t kPositional = 0, kLitFirst = 1, kRegex = 2, kAnchors = 3, kHs = 4;
// Sections the payload checksum covers: everything but the bulky ones, which
// are mapped without being read (names, hash entries, encoded patterns) or
// checked by Hyperscan itself.
constexpr bool Checksummed(uint32_t s) {
  return s != kNamesBlob && s != kHashes && s != kAllow && s != kBodyBlob && s != kRawHs && s != kTextHs;
}
static_assert(kRawHs == kRawPositional + kHs && kTextHs == kTextPositional + kHs);
constexpr size_t kTableBytes = 8 + kSectionCount * 16;

void WritePattern(Writer* w, const sig::Pattern& p) {
  w->U64(p.elems.size());
  for (const auto& e : p.elems) {
    w->U8(static_cast<uint8_t>(e.kind));
    WriteMatch(w, e.bytes);
    w->U64(e.alts.size());
    for (const auto& a : e.alts) WriteMatch(w, a);
    w->U32(e.gap_min);
    w->U32(e.gap_max);
    w->U8(static_cast<uint8_t>(e.gap_kind));
    w->U8(static_cast<uint8_t>(e.place));
  }
}

// BodyTable's decoder: one signature from its head and encoded pattern, or
// null when the bytes are not a well-formed pattern.
std::unique_ptr<sig::BodySig> DecodeBody(std::string_view bytes, const BodyHead& head) {
  Reader r(bytes);
  auto b = std::make_unique<sig::BodySig>();
  b->name = head.name;
  b->target = head.target;
  b->offset = head.offset();
  uint64_t ne = r.Count(1 + 8 + 8 + 8 + 2);
  if (!r.ok() || ne == 0) return nullptr;
  b->pattern.elems.resize(ne);
  for (auto& e : b->pattern.elems) {
    uint8_t k = r.U8();
    if (k > static_cast<uint8_t>(sig::ElemKind::kNonAlnum)) return nullptr;
    e.kind = static_cast<sig::ElemKind>(k);
    if (!ReadMatch(&r, &e.bytes)) return nullptr;
    uint64_t na = r.Count(8);
    e.alts.resize(na);
    for (auto& a : e.alts) if (!ReadMatch(&r, &a)) return nullptr;
    e.gap_min = r.U32();
    e.gap_max = r.U32();
    uint8_t gap_kind = r.U8(), place = r.U8();
    if (gap_kind > static_cast<uint8_t>(sig::GapKind::kByteRange) ||
        place > static_cast<uint8_t>(sig::Place::kAfter))
      return nullptr;
    e.gap_kind = static_cast<sig::GapKind>(gap_kind);
    e.place = static_cast<sig::Place>(place);
    bool shape_ok = (e.kind == sig::ElemKind::kBytes) ? !e.bytes.empty()
                    : e.kind == sig::ElemKind::kAlt ? !e.alts.empty()  // "(aa|)" has an empty one
                    : e.kind == sig::ElemKind::kNegAlt
                        ? !e.alts.empty() && !e.alts[0].empty()
                        : true;
    if (e.kind == sig::ElemKind::kNegAlt)
      for (auto& a : e.alts) if (a.size() != e.alts[0].size()) shape_ok = false;
    if (!shape_ok || e.gap_min > e.gap_max) return nullptr;
  }
  if (!r.ok() || !r.done()) return nullptr;
  // The head's literal flag decides report order: it must agree.
  if (MakeHead(*b).literal != head.literal) return nullptr;
  b->pattern.parts = sig::PatternParts(b->pattern);
  b->evaluable = true;
  return b;
}

template <typename T>
std::string_view AsBytes(std::span<const T> v) {
  return std::string_view(reinterpret_cast<const char*>(v.data()), v.size_bytes());
}

template <typename T>
std::span<const T> AsArray(std::string_view bytes) {
  return std::span<const T>(reinterpret_cast<const T*>(bytes.data()), bytes.size() / sizeof(T));
}

// The sections of a payload, checked to lie inside it, in order, aligned,
// and to end exactly where it ends.
bool SplitSections(std::string_view payload, std::array<std::string_view, kSectionCount>* out) {
  if (payload.size() < kTableBytes) return false;
  uint64_t count;
  std::memcpy(&count, payload.data(), 8);
  if (count != kSectionCount) return false;
  uint64_t next = kTableBytes;
  for (uint32_t i = 0; i < kSectionCount; ++i) {
    uint64_t off, len;
    std::memcpy(&off, payload.data() + 8 + 16 * i, 8);
    std::memcpy(&len, payload.data() + 16 + 16 * i, 8);
    if (off < next || off % 8 || off - next >= 8 || off > payload.size() || len > payload.size() - off)
      return false;
    (*out)[i] = payload.substr(off, len);
    next = off + len;
  }
  return next == payload.size();
}

// CRC-32C of the section table and the checksummed sections: a check
// against a damaged file, cheap enough for every start.
uint32_t StructureChecksum(std::string_view payload, const std::array<std::string_view, kSectionCount>& sec) {
  uint32_t crc = Crc32c(0, payload.data(), kTableBytes);
  for (uint32_t i = 0; i < kSectionCount; ++i)
    if (Checksummed(i)) crc = Crc32c(crc, sec[i].data(), sec[i].size());
  return crc;
}

Result<std::unique_ptr<CompiledDb>> DeserializeMapped(std::shared_ptr<const void> backing,
                                                      std::string_view payload) {
  auto bad = [] { return Status::Corruption("engine cache payload is malformed"); };
  std::array<std::string_view, kSectionCount> sec;
  if (reinterpret_cast<uintptr_t>(payload.data()) % 8 || !SplitSections(payload, &sec)) return bad();
  auto db = std::make_unique<CompiledDb>();
  db->backing = std::move(backing);
  if (sec[kNamesEnds].size() % 4 || !db->names.Borrow(sec[kNamesBlob], AsArray<uint32_t>(sec[kNamesEnds])))
    return bad();
  Reader misc(sec[kMisc]);
  db->known = misc.U64();
  uint8_t hash_kinds = misc.U8(), allow_kinds = misc.U8();
  uint64_t raw_literals = misc.U64(), text_literals = misc.U64();
  uint64_t nw = misc.Count(8);
  for (uint64_t i = 0; i < nw && misc.ok(); ++i) db->warnings.emplace_back(misc.Bytes());
  if (!misc.ok() || !misc.done()) return bad();
  for (auto [s, idx, kinds] : {std::tuple{kHashes, &db->hashes, hash_kinds}, std::tuple{kAllow, &db->allow, allow_kinds}}) {
    if (sec[s].size() % sizeof(HashEntry)) return bad();
    idx->Borrow(AsArray<HashEntry>(sec[s]), kinds, db->names.size());
  }
  if (sec[kHeads].size() % sizeof(BodyHead) || sec[kBodyOffsets].size() % 8) return bad();
  auto heads = AsArray<BodyHead>(sec[kHeads]);
  auto offsets = AsArray<uint64_t>(sec[kBodyOffsets]);
  if (offsets.size() != heads.size() + 1 || offsets[0] != 0 || offsets.back() != sec[kBodyBlob].size())
    return bad();
  for (size_t i = 0; i < heads.size(); ++i) {
    const BodyHead& h = heads[i];
    if (offsets[i] > offsets[i + 1] || h.name >= db->names.size() || h.target > sig::kTargetMax ||
        h.offset_kind > static_cast<uint8_t>(sig::Offset::Kind::kLastSection) || h.literal > 1)
      return bad();
  }
  db->bodies = BodyTable(heads, offsets, sec[kBodyBlob], DecodeBody);
  for (auto [first, literal_count, g] :
       {std::tuple{kRawPositional, raw_literals, &db->raw}, std::tuple{kTextPositional, text_literals, &db->text}}) {
    const uint32_t base = first;  // clang 15 cannot capture a structured binding
    auto part = [&](uint32_t k) { return sec[base + k]; };
    if (part(kPositional).size() % 4 || part(kLitFirst).size() % 4 || part(kRegex).size() % 4 ||
        part(kAnchors).size() % sizeof(Anchor))
      return bad();
    g->positional = Array<uint32_t>::Borrow(AsArray<uint32_t>(part(kPositional)));
    g->lit_first = Array<uint32_t>::Borrow(AsArray<uint32_t>(part(kLitFirst)));
    g->regex_sigs = Array<uint32_t>::Borrow(AsArray<uint32_t>(part(kRegex)));
    g->anchors = Array<Anchor>::Borrow(AsArray<Anchor>(part(kAnchors)));
    g->literal_count = literal_count;
    for (auto x : g->positional) if (x >= heads.size()) return bad();
    for (auto x : g->regex_sigs) if (x >= heads.size()) return bad();
    for (auto x : g->lit_first) if (x > g->anchors.size()) return bad();
    for (const auto& a : g->anchors) if (a.sig >= heads.size()) return bad();
    if (g->literal_count + 1 != g->lit_first.size() && !(g->literal_count == 0 && g->lit_first.size() <= 1))
      return bad();
    if (!ReadHs(part(kHs), g)) return bad();
  }
  return db;
}

}  // namespace

Result<std::string> SerializeDb(const CompiledDb& db) {
  std::array<std::string, kSectionCount> sec;
  sec[kNamesBlob] = std::string(db.names.blob());
  sec[kNamesEnds] = std::string(AsBytes(db.names.ends()));
  sec[kHashes] = std::string(AsBytes(db.hashes.entries()));
  sec[kAllow] = std::string(AsBytes(db.allow.entries()));
  std::vector<BodyHead> heads;
  std::vector<uint64_t> offsets{0};
  Writer blob;
  for (size_t i = 0; i < db.bodies.size(); ++i) {
    const sig::BodySig* b = db.bodies.Get(i);
    if (!b) return Status::Corruption("body signature " + std::to_string(i) + " is malformed");
    heads.push_back(db.bodies.head(i));
    WritePattern(&blob, b->pattern);
    offsets.push_back(blob.out().size());
  }
  sec[kHeads] = std::string(AsBytes(std::span<const BodyHead>(heads)));
  sec[kBodyOffsets] = std::string(AsBytes(std::span<const uint64_t>(offsets)));
  sec[kBodyBlob] = std::move(blob.out());
  for (auto [first, g] : {std::pair{kRawPositional, &db.raw}, std::pair{kTextPositional, &db.text}}) {
    sec[first + kPositional] = std::string(AsBytes(g->positional.span()));
    sec[first + kLitFirst] = std::string(AsBytes(g->lit_first.span()));
    sec[first + kRegex] = std::string(AsBytes(g->regex_sigs.span()));
    sec[first + kAnchors] = std::string(AsBytes(g->anchors.span()));
    auto h = SerializeHs(*g);
    if (!h.ok()) return h.status();
    sec[first + kHs] = std::move(h).value();
  }
  Writer misc;
  misc.U64(db.known);
  misc.U8(db.hashes.any_size_kinds());
  misc.U8(db.allow.any_size_kinds());
  misc.U64(db.raw.literal_count);
  misc.U64(db.text.literal_count);
  misc.U64(db.warnings.size());
  for (const auto& w : db.warnings) misc.Str(w);
  sec[kMisc] = std::move(misc.out());

  std::string out(kTableBytes, '\0');
  uint64_t count = kSectionCount;
  std::memcpy(out.data(), &count, 8);
  for (uint32_t i = 0; i < kSectionCount; ++i) {
    out.resize((out.size() + 7) & ~size_t{7}, '\0');
    uint64_t off = out.size(), len = sec[i].size();
    std::memcpy(out.data() + 8 + 16 * i, &off, 8);
    std::memcpy(out.data() + 16 + 16 * i, &len, 8);
    out += sec[i];
  }
  return out;
}

Result<std::unique_ptr<CompiledDb>> DeserializeDb(std::string_view bytes) {
  // An aligned copy the db keeps: its tables borrow from it.
  size_t words = (bytes.size() + 7) / 8;
  std::shared_ptr<uint64_t[]> copy(new uint64_t[words ? words : 1]);
  if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
  std::string_view payload(reinterpret_cast<const char*>(copy.get()), bytes.size());
  return DeserializeMapped(std::shared_ptr<const void>(copy, copy.get()), payload);
}

Result<std::string> CacheKey(const std::vector<std::string>& db_paths, const std::string& memo_dir) {
  std::vector<DbFile> files;
  VIGIL_RETURN_IF_ERROR(ListDbFiles(db_paths, &files));
  auto engine = ExecutableDigest();
  // The part of both keys that does not depend on the databases, handed to
  // `str` one length-prefixed string at a time.
  auto common = [&](auto&& str) {
    str(std::to_string(kFormatVersion));
    str(PlatformString());
    // The engine binary itself: a rebuilt parser or compiler must not be
    // handed a database compiled by an older one.
    if (engine.ok()) str(*engine);
  };
  // Memo: the content key last computed for exactly these files with exactly
  // this stat (device, inode, size, modification and change times).
  std::string memo;
  if (!memo_dir.empty()) {
    Sha256Small h;
    auto str = [&](std::string_view v) { uint64_t n = v.size(); h.Update(&n, 8); h.Update(v.data(), v.size()); };
    str("stat");
    common(str);
    for (const auto& f : files) {
      str(f.path);
      for (int64_t v : {int64_t(f.st.st_dev), int64_t(f.st.st_ino), int64_t(f.st.st_size),
                        int64_t(f.st.st_mtim.tv_sec), int64_t(f.st.st_mtim.tv_nsec),
                        int64_t(f.st.st_ctim.tv_sec), int64_t(f.st.st_ctim.tv_nsec)})
        h.Update(&v, sizeof v);
    }
    memo = memo_dir + "/" + h.HexFinal() + ".stat";
    char buf[65];
    int fd = open(memo.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t n = read(fd, buf, sizeof buf);
      close(fd);
      if (n == 64 && IsHexKey(std::string_view(buf, 64))) return std::string(buf, 64);
    }
  }
  Sha256 h;
  common([&](std::string_view v) { h.Str(v); });
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
  struct timespec now_ts {};
  clock_gettime(CLOCK_REALTIME, &now_ts);
  const int64_t now = Nanos(now_ts);
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
  std::array<std::string_view, kSectionCount> sec;
  if (!SplitSections(*payload, &sec)) return Status::Internal("engine cache payload is malformed");
  uint32_t crc = StructureChecksum(*payload, sec);
  header.append(reinterpret_cast<const char*>(&crc), 4);
  // The payload starts 8-aligned, so that its arrays can be used in place.
  header.resize((header.size() + 7) & ~size_t{7}, '\0');
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
  size_t payload_at = (16 + size_t{plen} + 4 + 7) & ~size_t{7};
  if (all.size() < payload_at) return fail("truncated header");
  if (all.substr(16, plen) != PlatformString()) return fail("built for another platform");
  uint32_t sum;
  std::memcpy(&sum, all.data() + 16 + plen, 4);
  std::string_view payload = all.substr(payload_at);
  std::array<std::string_view, kSectionCount> sec;
  if (!SplitSections(payload, &sec)) return fail("engine cache payload is malformed");
  if (StructureChecksum(payload, sec) != sum) return fail("checksum mismatch");
  // The engine keeps the mapping: its names, hash indexes and signature
  // heads are read in place, and patterns are decoded from it when used.
  std::shared_ptr<const void> mapping(p, [size](const void* q) { munmap(const_cast<void*>(q), size); });
  auto db = DeserializeMapped(std::move(mapping), payload);
  if (!db.ok()) return Status::Corruption(path + ": " + db.status().message());
  return db;
}

}  // namespace vigil::compile
