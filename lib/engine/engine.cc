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
#include "compile/digest.h"
#include "engine/containers.h"
#include "engine/engine_internal.h"
#include "match/exe.h"
#include "match/html.h"
#include "match/target.h"
#include "match/text.h"
#include "match/verify.h"
#include "signatures/loader.h"
#include "walk/long_path.h"

namespace vigil {

Result<std::shared_ptr<const Engine>> LoadEngine(const std::vector<std::string>& db_paths,
                                                 const EngineOptions& options) {
  auto t0 = std::chrono::steady_clock::now();
  EngineInfo info;
  std::unique_ptr<compile::CompiledDb> db;
  std::string key;
  if (!options.cache_dir.empty()) {
    auto k = compile::CacheKey(db_paths, options.cache_dir);
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
// Below this size a file is hashed in-process (compile/digest.h): loading
// OpenSSL costs more than hashing it. Above, OpenSSL's faster code wins.
constexpr size_t kSmallDigestLimit = 64 * 1024;

void Digest(sig::HashKind kind, std::string_view data, uint8_t* out) {
  if (data.size() < kSmallDigestLimit) {
    switch (kind) {
      case sig::HashKind::kMd5: return compile::Md5Small(data.data(), data.size(), out);
      case sig::HashKind::kSha1: return compile::Sha1Small(data.data(), data.size(), out);
      case sig::HashKind::kSha256: return compile::Sha256SmallOnce(data.data(), data.size(), out);
    }
  }
  const EVP_MD* md = kind == sig::HashKind::kMd5 ? EVP_md5()
                     : kind == sig::HashKind::kSha1 ? EVP_sha1() : EVP_sha256();
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, md, nullptr);
}

// A verified body-signature match, ordered as clamscan reports them:
// pure-literal signatures first, then the others, each by position.
struct Hit {
  uint32_t sig;
  uint64_t pos;
  bool literal;
};

// clamscan ignores files this small altogether.
constexpr size_t kMinScanSize = 6;
// clamscan normalises text files up to this size only (its MaxScriptNormalize).
constexpr size_t kMaxNormalizeSize = 5 * 1024 * 1024;
// And HTML up to these (its MaxHTMLNormalize and MaxHTMLNoTags).
constexpr size_t kMaxHtmlNormalizeSize = 40 * 1024 * 1024;
constexpr size_t kMaxHtmlNoTagsSize = 8 * 1024 * 1024;

}  // namespace

struct Scanner::Impl : engine::LayerScanner {
  std::shared_ptr<const Engine> engine;
  std::unique_ptr<hs_scratch_t, ScratchDeleter> scratch;
  std::string text_buf;   // normalised text, reused
  std::string read_buf;   // small files and streams, reused
  // The engine's EngineFacts, copied for the scan loop.
  bool text_eof_offsets = false;
  uint32_t typed_targets = 0;
  bool pe_offsets = false;

  // State of one group scan, visible to the Hyperscan callback.
  struct Pass {
    const compile::CompiledDb* db;
    const compile::Group* group;
    match::Data data;
    bool all;
    std::vector<Hit>* hits;
    uint32_t targets;  // bit per target type that applies to this buffer
  };

  static bool Applies(const Pass& p, uint32_t sid) {
    return (p.targets >> p.db->bodies.head(sid).target) & 1u;
  }

  // An offset of one position, or a whole section (SEx): clamscan reports
  // typed pure literals with such offsets before the others.
  static bool Pinned(const sig::Offset& o) {
    return o.kind == sig::Offset::Kind::kSectionAll || (o.kind != sig::Offset::Kind::kAny && o.max_shift == 0);
  }

  static bool Seen(const std::vector<Hit>& hits, uint32_t sid) {
    for (const Hit& h : hits)
      if (h.sig == sid) return true;
    return false;
  }

  // Records a hit; returns non-zero to stop the scan. Without all-match the
  // first pure-literal hit is final (literal signatures are reported before
  // the others, and hits arrive in position order); others keep scanning.
  static int Record(Pass* p, uint32_t sid, uint64_t pos) {
    if (Seen(*p->hits, sid)) return 0;
    bool literal = p->db->bodies.head(sid).literal != 0;
    p->hits->push_back(Hit{sid, pos, literal});
    return (!p->all && literal) ? 1 : 0;
  }

  static int OnMatch(unsigned id, unsigned long long /*from*/, unsigned long long to,
                     unsigned /*flags*/, void* ctx) {
    auto* p = static_cast<Pass*>(ctx);
    const compile::Group& g = *p->group;
    if (id < g.literal_count) {
      for (uint32_t k = g.lit_first[id]; k < g.lit_first[id + 1]; ++k) {
        const compile::Anchor& a = g.anchors[k];
        if (!Applies(*p, a.sig) || Seen(*p->hits, a.sig)) continue;
        const sig::BodySig* b = p->db->bodies.Get(a.sig);
        if (b && compile::AnchorFits(*b, a) &&
            match::VerifyAnchor(*b, a, p->data, static_cast<size_t>(to)) && Record(p, a.sig, to))
          return 1;
      }
      return 0;
    }
    // Ids come from the Hyperscan database; one that names no signature
    // (a cache whose parts disagree) is ignored, never used as an index.
    if (id - g.literal_count >= g.regex_sigs.size()) return 0;
    uint32_t sid = g.regex_sigs[id - g.literal_count];
    if (!Applies(*p, sid) || Seen(*p->hits, sid)) return 0;
    const sig::BodySig* s = p->db->bodies.Get(sid);
    // The expression may accept more than the signature: always verify.
    if (s && match::VerifyEndingAt(*s, p->data, static_cast<size_t>(to)))
      return Record(p, sid, to);
    return 0;
  }

  // Runs one group over one view of the data, appending hits in report order.
  // The byte a single-part signature's match must start with (its core's
  // first byte, when exact), or -1.
  static int FirstExactByte(const sig::BodySig& b) {
    if (b.pattern.parts.size() != 1) return -1;
    const sig::PartBounds& r = b.pattern.parts[0];
    if (r.core_first >= b.pattern.elems.size()) return -1;
    const sig::Elem& e = b.pattern.elems[r.core_first];
    if (e.kind != sig::ElemKind::kBytes || e.bytes.empty() || !e.bytes[0].exact()) return -1;
    return e.bytes[0].value;
  }

  // `typed` is the buffer's target type (match/target.h) when signatures of
  // that type apply, else 0; `targets` has its bit and those of the
  // group's other applicable types.
  Status RunGroup(const compile::Group& g, match::Data d, bool all, uint32_t targets, uint8_t typed,
                  std::vector<Hit>* out) {
    const auto& db = engine->db();
    std::vector<Hit> hits;
    match::ScanMemo memo;  // whole-buffer answers, once per signature
    d.memo = &memo;
    // A typed buffer reports its typed signatures' hits first, by position:
    // every hit is needed to pick the first, so no early stop.
    Pass pass{&db, &g, d, all || typed != 0, &hits, targets};
    bool stop = false;
    for (uint32_t sid : g.positional) {
      if (!Applies(pass, sid)) continue;
      size_t lo, hi;
      if (!match::PinnedRange(db.bodies.head(sid).offset(), d, &lo, &hi)) continue;
      if (lo >= d.n) continue;
      const sig::BodySig* decoded = db.bodies.Get(sid);
      if (!decoded) continue;
      const sig::BodySig& body = *decoded;
      hi = std::min(hi, d.n - 1);
      // A multi-part signature is evaluated over the whole buffer whatever
      // the start: once is enough.
      if (body.pattern.parts.size() > 1) hi = lo;
      const int first = FirstExactByte(body);
      for (size_t s = lo; s <= hi; ++s) {
        if (first >= 0) {  // skip to the next start that has the right first byte
          const void* q = std::memchr(d.p + s, first, hi - s + 1);
          if (!q) break;
          s = static_cast<size_t>(static_cast<const uint8_t*>(q) - d.p);
        }
        if (match::VerifyAt(body, d, s)) {
          stop = Record(&pass, sid, s) != 0;
          break;
        }
      }
      if (stop) break;
    }
    if (!stop && g.literals) {
      if (d.n > UINT32_MAX) return Status::Unsupported("data larger than 4 GiB");
      hs_error_t r = hs_scan(g.literals.get(), reinterpret_cast<const char*>(d.p),
                             static_cast<unsigned>(d.n), 0, scratch.get(), OnMatch, &pass);
      if (r != HS_SUCCESS && r != HS_SCAN_TERMINATED)
        return Status::Internal("Hyperscan scan failed (" + std::to_string(r) + ")");
    }
    // clamscan's order: a typed buffer's typed signatures by position (at
    // the same position, wildcard ones first), then the others: pure
    // literals first, each kind by position (docs/CLAMAV-COMPAT.md 8, 15).
    auto is_typed = [&](const Hit& h) { return typed != 0 && db.bodies.head(h.sig).target == typed; };
    std::stable_sort(hits.begin(), hits.end(), [&](const Hit& a, const Hit& b) {
      const bool ta = is_typed(a), tb = is_typed(b);
      if (ta != tb) return ta;
      if (ta) {
        // Pure literals pinned to one offset come first (EP+n, Sx+n, n).
        const bool pa = a.literal && Pinned(db.bodies.head(a.sig).offset()),
                   pb = b.literal && Pinned(db.bodies.head(b.sig).offset());
        if (pa != pb) return pa;
        return a.pos != b.pos ? a.pos < b.pos : (!a.literal && b.literal);
      }
      return a.literal != b.literal ? a.literal : a.pos < b.pos;
    });
    for (const Hit& h : hits)
      if (!Seen(*out, h.sig)) out->push_back(h);
    return Status::Ok();
  }

  // Hash signatures of the whole data. Identical entries: the last loaded wins.
  void CheckHashes(std::string_view data, const ScanOptions& opt, ScanResult* res) {
    const auto& db = engine->db();
    uint8_t kinds = db.hashes.KindsForSize(static_cast<int64_t>(data.size()));
    uint8_t digest[32];
    for (int k = 0; k < 3; ++k) {
      if (!(kinds & (1u << k))) continue;
      auto kind = static_cast<sig::HashKind>(k);
      Digest(kind, data, digest);
      int64_t best = -1;
      db.hashes.Lookup(static_cast<int64_t>(data.size()), kind, digest,
                       [&](uint32_t name) { best = std::max<int64_t>(best, name); });
      if (best >= 0) {
        std::string_view n = db.names[static_cast<size_t>(best)];
        if (std::find(res->names.begin(), res->names.end(), n) == res->names.end())
          res->names.emplace_back(n);
        if (!opt.all_match) return;
      }
    }
  }

  bool AllowListed(std::string_view data) override {
    const auto& db = engine->db();
    uint8_t kinds = db.allow.KindsForSize(static_cast<int64_t>(data.size()));
    uint8_t digest[32];
    for (int k = 0; k < 3; ++k) {
      if (!(kinds & (1u << k))) continue;
      auto kind = static_cast<sig::HashKind>(k);
      Digest(kind, data, digest);
      bool allowed = false;
      db.allow.Lookup(static_cast<int64_t>(data.size()), kind, digest, [&](uint32_t) { allowed = true; });
      if (allowed) return true;
    }
    return false;
  }

  // The whole file: its own passes, then what it contains
  // (lib/engine/containers.cc, lib/unpack/).
  ScanResult Scan(std::string_view data, const ScanOptions& opt) {
    if (!engine::InsideFirst(data)) {
      ScanResult res = ScanLayer(data, opt);
      engine::ScanContainers(*this, data, opt, &res);
      return res;
    }
    // An OLE2 file: clamscan scans its streams before its own bytes.
    ScanResult res;
    res.size = data.size();
    engine::ScanContainers(*this, data, opt, &res);
    if (res.verdict == Verdict::kInfected && !opt.all_match) return res;
    ScanResult own = ScanLayer(data, opt);
    res.bytes_scanned += own.bytes_scanned;
    if (own.verdict == Verdict::kError) {
      if (res.verdict != Verdict::kInfected) return own;
      res.warnings.push_back(own.error.message());
      return res;
    }
    for (const auto& n : own.names) {
      if (std::find(res.names.begin(), res.names.end(), n) != res.names.end()) continue;
      res.names.push_back(n);
      res.locations.emplace_back();
    }
    if (own.verdict == Verdict::kInfected) res.verdict = Verdict::kInfected;
    if (!opt.all_match && res.names.size() > 1) {
      res.names.resize(1);
      res.locations.resize(1);
    }
    return res;
  }

  // A mail recognised late (match::MailStart) is scanned again as mail once
  // its parts have been: its type-4 signatures, nothing else.
  ScanResult ScanLateMail(std::string_view data, const ScanOptions& opt) override {
    ScanResult res;
    res.size = data.size();
    if (!((typed_targets >> sig::kTargetMail) & 1u) || match::MailStart(data) != match::MailKind::kLate) return res;
    const auto& db = engine->db();
    std::vector<Hit> hits;
    match::Data raw{reinterpret_cast<const uint8_t*>(data.data()), data.size()};
    if (Status st = RunGroup(db.raw, raw, opt.all_match, 1u << sig::kTargetMail, sig::kTargetMail, &hits); !st.ok()) {
      res.verdict = Verdict::kError;
      res.error = st;
      return res;
    }
    AddNames(hits, &res);
    return Finish(data, opt, &res);
  }

  // The names of `hits`, each once, after those `res` has.
  void AddNames(const std::vector<Hit>& hits, ScanResult* res) const {
    const auto& db = engine->db();
    for (const Hit& h : hits) {
      std::string_view n = db.names[db.bodies.head(h.sig).name];
      if (std::find(res->names.begin(), res->names.end(), n) == res->names.end()) res->names.emplace_back(n);
    }
  }

  // Scans like clamscan: a raw pass (body signatures, then hashes) and, for
  // text, a pass over the normalised text (type-7 signatures, then type 0).
  ScanResult ScanLayer(std::string_view data, const ScanOptions& opt) override {
    ScanResult res;
    res.size = data.size();
    if (data.empty()) {
      res.empty = true;
      return res;
    }
    if (data.size() < kMinScanSize) return res;
    const auto& db = engine->db();
    auto add_hits = [&](const std::vector<Hit>& hits) { AddNames(hits, &res); };
    auto fail = [&](const Status& st) {
      res.verdict = Verdict::kError;
      res.error = st;
      res.error_text = st.message() + " ERROR";
      res.names.clear();
      return res;
    };
    auto done = [&] { return !opt.all_match && !res.names.empty(); };

    std::vector<Hit> hits;
    match::Data raw{reinterpret_cast<const uint8_t*>(data.data()), data.size()};
    constexpr uint32_t kAny = 1u << sig::kTargetAny;
    const match::MailKind mail = match::MailStart(data);
    uint8_t typed = typed_targets ? match::TypedTarget(data) : static_cast<uint8_t>(sig::kTargetAny);
    if (!((typed_targets >> typed) & 1u)) typed = sig::kTargetAny;
    // HTML (a text file with one of the tags clamscan's file-type table
    // knows): instead of its bytes and its text, clamscan scans the
    // normalised document (target types 3 and 0, type 3 first) and then its
    // text outside tags (match/html.h).
    if (typed == sig::kTargetAny && mail != match::MailKind::kEarly && data.size() <= kMaxHtmlNormalizeSize &&
        match::LooksLikeText(data) && match::ContainsHtmlMarker(data)) {
      match::NormalizedHtml html;
      match::NormalizeHtml(data, &html);
      const uint8_t html_typed = (typed_targets >> sig::kTargetHtml) & 1u ? sig::kTargetHtml : sig::kTargetAny;
      for (const std::string* form : {&html.nocomment, &html.notags}) {
        if (done()) break;
        if (form == &html.notags && data.size() > kMaxHtmlNoTagsSize) break;
        match::Data d{reinterpret_cast<const uint8_t*>(form->data()), form->size()};
        hits.clear();
        if (Status st = RunGroup(db.raw, d, opt.all_match, kAny | (1u << sig::kTargetHtml), html_typed, &hits); !st.ok())
          return fail(st);
        add_hits(hits);
        res.bytes_scanned += form->size();
      }
      if (!done()) CheckHashes(data, opt, &res);
      return Finish(data, opt, &res);
    }
    match::ExeLayout layout;
    if (typed == sig::kTargetPe && pe_offsets && match::ParsePeLayout(data, &layout)) raw.exe = &layout;
    if (Status st = RunGroup(db.raw, raw, opt.all_match, kAny | (1u << typed), typed, &hits); !st.ok())
      return fail(st);
    res.bytes_scanned = data.size();
    add_hits(hits);
    if (!done()) CheckHashes(data, opt, &res);
    // A mail typed from its first bytes is not a text file to clamscan.
    if (!done() && mail != match::MailKind::kEarly && (!db.text.empty() || !db.raw.empty()) &&
        data.size() <= kMaxNormalizeSize && match::LooksLikeText(data)) {
      match::NormalizeText(data, &text_buf);
      match::Data text{reinterpret_cast<const uint8_t*>(text_buf.data()), text_buf.size()};
      hits.clear();
      if (Status st = RunGroup(db.text, text, opt.all_match, 1u << sig::kTargetAscii, 0, &hits); !st.ok())
        return fail(st);
      add_hits(hits);
      if (!done()) {
        hits.clear();
        // clamscan evaluates "EOF-n" offsets of target-0 signatures on the
        // normalised text only when some target-7 signature needs them too.
        text.eof_offsets = text_eof_offsets;
        if (Status st = RunGroup(db.raw, text, opt.all_match, kAny, 0, &hits); !st.ok()) return fail(st);
        add_hits(hits);
      }
      // In that case clamscan scans the normalised text as a file of its
      // own, hash signatures included.
      if (!done() && text_eof_offsets) CheckHashes(text_buf, opt, &res);
      res.bytes_scanned += text_buf.size();
    }
    return Finish(data, opt, &res);
  }

  // The verdict of a layer from the names found in it.
  ScanResult& Finish(std::string_view data, const ScanOptions& opt, ScanResult* res) {
    if (res->names.empty()) return *res;
    if (!opt.all_match && res->names.size() > 1) res->names.resize(1);
    // Allow-list: a detected file whose hash is allow-listed is clean.
    if (AllowListed(data)) {
      res->names.clear();
      return *res;
    }
    res->verdict = Verdict::kInfected;
    return *res;
  }
};

Engine::Engine(std::unique_ptr<compile::CompiledDb> db, EngineInfo info)
    : db_(std::move(db)), info_(std::move(info)) {
  for (size_t i = 0; i < db_->bodies.size(); ++i) {
    const compile::BodyHead& b = db_->bodies.head(i);
    const sig::Offset offset = b.offset();
    if (b.target == sig::kTargetAscii && offset.kind == sig::Offset::Kind::kFromEnd)
      facts_.text_eof_offsets = true;
    if (b.target != sig::kTargetAny && b.target != sig::kTargetAscii) facts_.typed_targets |= 1u << b.target;
    if (b.target == sig::kTargetPe && !offset.evaluable()) facts_.pe_offsets = true;
  }
}

Scanner::Scanner(std::shared_ptr<const Engine> engine) : impl_(std::make_unique<Impl>()) {
  impl_->engine = std::move(engine);
  hs_scratch_t* s = nullptr;
  const auto& db = impl_->engine->db();
  const EngineFacts& facts = impl_->engine->facts();
  impl_->text_eof_offsets = facts.text_eof_offsets;
  impl_->typed_targets = facts.typed_targets;
  impl_->pe_offsets = facts.pe_offsets;
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
    res.error_text = "Can't stat file ERROR";
    return res;
  }
  if (S_ISREG(st.st_mode) && static_cast<uint64_t>(st.st_size) > kReadThreshold) {
    uint64_t size = static_cast<uint64_t>(st.st_size);
    if (engine::SkipTooLarge(size, options, &res)) return res;
    void* p = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      res.verdict = Verdict::kError;
      res.error = Status::IoError(std::strerror(errno));
      res.error_text = "Can't map file ERROR";
      return res;
    }
    madvise(p, size, MADV_SEQUENTIAL | MADV_WILLNEED);
    res = impl_->Scan(std::string_view(static_cast<const char*>(p), size), options);
    munmap(p, size);
    return res;
  }
  // Small files and streams: read(), bounded by max_filesize. A regular
  // file is read from its start, like the mapped path above.
  if (S_ISREG(st.st_mode)) lseek(fd, 0, SEEK_SET);
  std::string& buf = impl_->read_buf;
  buf.clear();
  char chunk[1 << 16];
  while (true) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0) {
      if (errno == EINTR) continue;
      res.verdict = Verdict::kError;
      res.error = Status::IoError(std::strerror(errno));
      res.error_text = "Can't read file ERROR";
      return res;
    }
    if (n == 0) break;
    // Like clamscan, data beyond the limit is not scanned.
    if (engine::SkipTooLarge(buf.size() + static_cast<size_t>(n), options, &res)) return res;
    buf.append(chunk, static_cast<size_t>(n));
  }
  return impl_->Scan(buf, options);
}

ScanResult Scanner::ScanFile(const std::string& path, const ScanOptions& options) {
  // Any length: a file nested deeper than PATH_MAX is scanned too.
  int fd = walk::OpenAnyLength(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    ScanResult res;
    res.verdict = Verdict::kError;
    res.error = Status::IoError(path + ": " + std::strerror(errno));
    res.error_text = errno == ENOENT   ? "No such file or directory"
                     : errno == EACCES ? "Access denied"
                                       : std::string(std::strerror(errno)) + " ERROR";
    return res;
  }
  struct stat st {};
  if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode)) {
    close(fd);
    ScanResult res;
    res.verdict = Verdict::kError;
    res.error = Status::InvalidArgument(path + ": not a regular file");
    res.error_text = "Not supported file type ERROR";
    return res;
  }
  // Regular files never block; drop O_NONBLOCK for clean reads.
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  ScanResult res = ScanFd(fd, options);
  close(fd);
  return res;
}

}  // namespace vigil
