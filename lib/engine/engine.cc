#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "compile/cache.h"
#include "engine/engine_internal.h"
#include "match/text.h"
#include "match/verify.h"
#include "signatures/loader.h"

namespace vigil {

Result<std::shared_ptr<const Engine>> LoadEngine(const std::vector<std::string>& db_paths,
                                                 const EngineOptions& options) {
  auto t0 = std::chrono::steady_clock::now();
  EngineInfo info;
  std::unique_ptr<compile::CompiledDb> db;
  std::string key;
  if (!options.cache_dir.empty()) {
    auto k = compile::CacheKey(db_paths);
    if (k.ok()) {
      key = std::move(k).value();
      auto cached = compile::LoadCache(options.cache_dir, key);
      if (cached.ok()) {
        db = std::move(cached).value();
        info.from_cache = true;
      }
    }
  }
  if (!db) {
    sig::SignatureSet set;
    for (const auto& p : db_paths) VIGIL_RETURN_IF_ERROR(sig::LoadDatabase(p, &set));
    sig::ApplyIgnores(&set);
    auto compiled = compile::Compile(std::move(set));
    if (!compiled.ok()) return compiled.status();
    db = std::move(compiled).value();
    if (!key.empty()) {
      Status st = compile::SaveCache(options.cache_dir, key, *db);
      if (!st.ok()) db->warnings.push_back("engine cache not written: " + st.message());
    }
  }
  info.known_signatures = db->known;
  info.hash_signatures = db->hashes.size();
  info.body_signatures = db->bodies.size();
  info.allow_entries = db->allow.size();
  info.warnings = db->warnings;
  info.load_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return std::shared_ptr<const Engine>(std::make_shared<Engine>(std::move(db), std::move(info)));
}

Result<std::shared_ptr<const Engine>> LoadEngineFromText(std::string_view file_name,
                                                         std::string_view text) {
  sig::SignatureSet set;
  VIGIL_RETURN_IF_ERROR(sig::LoadDatabaseText(file_name, text, /*official=*/true, &set));
  sig::ApplyIgnores(&set);
  auto compiled = compile::Compile(std::move(set));
  if (!compiled.ok()) return compiled.status();
  EngineInfo info;
  auto db = std::move(compiled).value();
  info.known_signatures = db->known;
  info.hash_signatures = db->hashes.size();
  info.body_signatures = db->bodies.size();
  info.warnings = db->warnings;
  return std::shared_ptr<const Engine>(std::make_shared<Engine>(std::move(db), std::move(info)));
}

const EngineInfo& GetEngineInfo(const Engine& engine) { return engine.info(); }

namespace {

struct ScratchDeleter {
  void operator()(hs_scratch_t* s) const { hs_free_scratch(s); }
};

constexpr size_t kReadThreshold = 256 * 1024;  // smaller files are read(), larger mmap()ed

// Digest of `data` with the hash kind's algorithm.
void Digest(sig::HashKind kind, std::string_view data, uint8_t* out) {
  const EVP_MD* md = kind == sig::HashKind::kMd5 ? EVP_md5()
                     : kind == sig::HashKind::kSha1 ? EVP_sha1() : EVP_sha256();
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
}

}  // namespace

struct Scanner::Impl {
  std::shared_ptr<const Engine> engine;
  std::unique_ptr<hs_scratch_t, ScratchDeleter> scratch;
  std::string text_buf;   // normalised text, reused
  std::string read_buf;   // small files and streams, reused

  // State of one scan, visible to the Hyperscan callback.
  struct Pass {
    const compile::CompiledDb* db;
    const compile::Group* group;
    match::Data data;
    bool all;
    std::vector<uint32_t>* found;  // body signature ids
  };

  static int OnMatch(unsigned id, unsigned long long /*from*/, unsigned long long to,
                     unsigned /*flags*/, void* ctx) {
    auto* p = static_cast<Pass*>(ctx);
    const compile::Group& g = *p->group;
    auto report = [&](uint32_t sid) {
      if (std::find(p->found->begin(), p->found->end(), sid) == p->found->end())
        p->found->push_back(sid);
      return p->all ? 0 : 1;  // non-zero stops the scan
    };
    if (id < g.literal_count) {
      for (uint32_t k = g.lit_first[id]; k < g.lit_first[id + 1]; ++k) {
        const compile::Anchor& a = g.anchors[k];
        if (p->all && std::find(p->found->begin(), p->found->end(), a.sig) != p->found->end())
          continue;
        if (match::VerifyAnchor(p->db->bodies[a.sig], a, p->data, static_cast<size_t>(to)))
          if (report(a.sig)) return 1;
      }
      return 0;
    }
    uint32_t sid = g.regex_sigs[id - g.literal_count];
    if (std::find(p->found->begin(), p->found->end(), sid) != p->found->end()) return 0;
    const sig::BodySig& s = p->db->bodies[sid];
    if (s.offset.kind == sig::Offset::Kind::kAny ||
        match::VerifyEndingAt(s, p->data, static_cast<size_t>(to)))
      return report(sid);
    return 0;
  }

  // Runs one group over one view of the data. Returns an error text on failure.
  Status RunGroup(const compile::Group& g, match::Data d, bool all, std::vector<uint32_t>* found) {
    const auto& db = engine->db();
    for (uint32_t sid : g.positional) {
      if (!all && !found->empty()) return Status::Ok();
      size_t lo, hi;
      if (!match::PinnedRange(db.bodies[sid].offset, d.n, &lo, &hi)) continue;
      for (size_t s = lo; s <= hi; ++s) {
        if (match::VerifyAt(db.bodies[sid], d, s)) {
          if (std::find(found->begin(), found->end(), sid) == found->end()) found->push_back(sid);
          break;
        }
      }
    }
    if (!all && !found->empty()) return Status::Ok();
    if (!g.literals) return Status::Ok();
    Pass pass{&db, &g, d, all, found};
    // Hyperscan takes a 32-bit length: scan huge inputs in overlapping blocks.
    hs_error_t r = hs_scan(g.literals.get(), reinterpret_cast<const char*>(d.p),
                           static_cast<unsigned>(d.n), 0, scratch.get(), OnMatch, &pass);
    if (r != HS_SUCCESS && r != HS_SCAN_TERMINATED)
      return Status::Internal("Hyperscan scan failed (" + std::to_string(r) + ")");
    return Status::Ok();
  }

  ScanResult Scan(std::string_view data, const ScanOptions& opt) {
    ScanResult res;
    res.size = data.size();
    if (data.empty()) {
      res.empty = true;
      return res;
    }
    const auto& db = engine->db();
    // 1. Hash signatures: only files whose size some signature names are hashed.
    uint8_t kinds = db.hashes.KindsForSize(static_cast<int64_t>(data.size()));
    uint8_t digest[32];
    for (int k = 0; k < 3 && (opt.all_match || res.names.empty()); ++k) {
      if (!(kinds & (1u << k))) continue;
      auto kind = static_cast<sig::HashKind>(k);
      Digest(kind, data, digest);
      db.hashes.Lookup(static_cast<int64_t>(data.size()), kind, digest, [&](uint32_t name) {
        if ((opt.all_match || res.names.empty()) &&
            std::find(res.names.begin(), res.names.end(), db.names[name]) == res.names.end())
          res.names.push_back(db.names[name]);
      });
    }
    // 2. Body signatures.
    std::vector<uint32_t> found;
    if (opt.all_match || res.names.empty()) {
      match::Data raw{reinterpret_cast<const uint8_t*>(data.data()), data.size()};
      Status st = RunGroup(db.raw, raw, opt.all_match, &found);
      if (st.ok() && !db.text.empty() && (opt.all_match || found.empty()) &&
          match::LooksLikeText(data)) {
        match::NormalizeText(data, &text_buf);
        match::Data text{reinterpret_cast<const uint8_t*>(text_buf.data()), text_buf.size()};
        st = RunGroup(db.text, text, opt.all_match, &found);
      }
      if (!st.ok()) {
        res.verdict = Verdict::kError;
        res.error = st;
        res.error_text = st.message();
        return res;
      }
    }
    res.bytes_scanned = data.size();
    for (uint32_t sid : found) res.names.push_back(db.names[db.bodies[sid].name]);
    if (res.names.empty()) return res;
    // 3. Allow-list: a detected file whose hash is allow-listed is clean.
    uint8_t akinds = db.allow.KindsForSize(static_cast<int64_t>(data.size()));
    for (int k = 0; k < 3; ++k) {
      if (!(akinds & (1u << k))) continue;
      auto kind = static_cast<sig::HashKind>(k);
      Digest(kind, data, digest);
      bool allowed = false;
      db.allow.Lookup(static_cast<int64_t>(data.size()), kind, digest, [&](uint32_t) { allowed = true; });
      if (allowed) {
        res.names.clear();
        return res;
      }
    }
    res.verdict = Verdict::kInfected;
    return res;
  }
};

Scanner::Scanner(std::shared_ptr<const Engine> engine) : impl_(std::make_unique<Impl>()) {
  impl_->engine = std::move(engine);
  hs_scratch_t* s = nullptr;
  const auto& db = impl_->engine->db();
  for (const auto* g : {&db.raw, &db.text})
    if (g->literals) hs_alloc_scratch(g->literals.get(), &s);
  impl_->scratch.reset(s);
}

Scanner::~Scanner() = default;

ScanResult Scanner::ScanBuffer(std::string_view data, const ScanOptions& options) {
  return impl_->Scan(data, options);
}

ScanResult Scanner::ScanFd(int fd, const ScanOptions& options) {
  ScanResult res;
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    res.verdict = Verdict::kError;
    res.error = Status::IoError(std::strerror(errno));
    res.error_text = "Can't stat file";
    return res;
  }
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > kReadThreshold) {
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (size > options.max_filesize) {
      res.size = size;
      res.verdict = Verdict::kSkipped;
      return res;
    }
    void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      res.verdict = Verdict::kError;
      res.error = Status::IoError(std::strerror(errno));
      res.error_text = "Can't map file";
      return res;
    }
    madvise(p, size, MADV_SEQUENTIAL | MADV_WILLNEED);
    res = impl_->Scan(std::string_view(static_cast<const char*>(p), size), options);
    munmap(p, size);
    return res;
  }
  // Small files and streams: read(), bounded by max_filesize.
  std::string& buf = impl_->read_buf;
  buf.clear();
  char chunk[1 << 16];
  while (true) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      res.verdict = Verdict::kError;
      res.error = Status::IoError(std::strerror(errno));
      res.error_text = "Can't read file";
      return res;
    }
    if (n == 0) break;
    if (buf.size() + static_cast<size_t>(n) > options.max_filesize) {
      // Like clamscan, data beyond the limit is not scanned.
      res.size = buf.size() + static_cast<size_t>(n);
      res.verdict = Verdict::kSkipped;
      return res;
    }
    buf.append(chunk, static_cast<size_t>(n));
  }
  return impl_->Scan(buf, options);
}

ScanResult Scanner::ScanFile(const std::string& path, const ScanOptions& options) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    ScanResult res;
    res.verdict = Verdict::kError;
    res.error = Status::IoError(path + ": " + std::strerror(errno));
    res.error_text = errno == ENOENT ? "No such file or directory" : "Can't open file or directory";
    return res;
  }
  struct stat st {};
  if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
    close(fd);
    ScanResult res;
    res.verdict = Verdict::kError;
    res.error = Status::InvalidArgument(path + ": not a regular file");
    res.error_text = "Not supported file type";
    return res;
  }
  // Regular files never block; drop O_NONBLOCK for clean reads.
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  ScanResult res = ScanFd(fd, options);
  close(fd);
  return res;
}

}  // namespace vigil
