// Microsoft compression formats through libmspack: CHM help files (every
// user file inside), SZDD and KWAJ (the single compressed file of
// COMPRESS.EXE / EXPAND.EXE). libmspack reads and writes through an I/O
// table; ours reads the container from memory and writes each member into a
// MemberBuffer, so no temporary file is made and no member passes the limit.
#include <mspack.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "unpack/unpack.h"

namespace vigil::unpack {
namespace {

// What a "file name" given to libmspack points to.
struct Target {
  std::string_view in;        // a container to read, or
  MemberBuffer* out = nullptr;  // a member to write
  LimitHit hit = LimitHit::kNone;
};

struct MemFile {
  mspack_file base;  // first: libmspack sees only this
  Target* target;
  size_t pos = 0;
};

mspack_file* Open(mspack_system*, const char* name, int mode) {
  auto* t = reinterpret_cast<Target*>(const_cast<char*>(name));
  if (!t) return nullptr;
  if (mode == MSPACK_SYS_OPEN_READ && t->out) return nullptr;
  if (mode != MSPACK_SYS_OPEN_READ && !t->out) return nullptr;
  auto* f = new MemFile{};
  f->target = t;
  return &f->base;
}
void Close(mspack_file* f) { delete reinterpret_cast<MemFile*>(f); }
int Read(mspack_file* file, void* buf, int bytes) {
  auto* f = reinterpret_cast<MemFile*>(file);
  if (bytes < 0) return -1;
  std::string_view in = f->target->in;
  size_t n = f->pos >= in.size() ? 0 : std::min<size_t>(static_cast<size_t>(bytes), in.size() - f->pos);
  std::memcpy(buf, in.data() + f->pos, n);
  f->pos += n;
  return static_cast<int>(n);
}
int Write(mspack_file* file, void* buf, int bytes) {
  auto* f = reinterpret_cast<MemFile*>(file);
  Target* t = f->target;
  if (bytes < 0 || !t->out) return -1;
  if (!t->out->Append(buf, static_cast<size_t>(bytes), &t->hit)) return -1;  // over the limit: stop
  return bytes;
}
int Seek(mspack_file* file, off_t offset, int mode) {
  auto* f = reinterpret_cast<MemFile*>(file);
  off_t size = static_cast<off_t>(f->target->in.size());
  off_t base = mode == MSPACK_SYS_SEEK_START ? 0 : mode == MSPACK_SYS_SEEK_CUR ? static_cast<off_t>(f->pos) : size;
  off_t to = base + offset;
  if (to < 0 || to > size) return -1;
  f->pos = static_cast<size_t>(to);
  return 0;
}
off_t Tell(mspack_file* file) { return static_cast<off_t>(reinterpret_cast<MemFile*>(file)->pos); }
void Message(mspack_file*, const char*, ...) {}
// Zeroed: libmspack 0.11's KWAJ reader frees the header's filename on a
// truncated header before it has set it (a fuzzer-found input, 10 bytes);
// with zeroed memory that is free(NULL).
void* Alloc(mspack_system*, size_t bytes) { return std::calloc(1, bytes); }
void Free(void* p) { std::free(p); }
void Copy(void* src, void* dst, size_t bytes) { std::memmove(dst, src, bytes); }

mspack_system kSystem = {Open, Close, Read, Write, Seek, Tell, Message, Alloc, Free, Copy, nullptr};

const char* Name(Target* t) { return reinterpret_cast<const char*>(t); }

// Extracts one member through `extract` and hands it on.
template <typename Fn>
bool ExtractMember(Context& ctx, const std::string& name, uint64_t declared, Fn extract) {
  if (!ctx.Admit(declared)) return !ctx.budget.exhausted();
  MemberBuffer buf(ctx.budget);
  Target out;
  out.out = &buf;
  int err = extract(&out);
  if (out.hit != LimitHit::kNone) {
    ctx.sink.LimitExceeded(out.hit);
    return !ctx.budget.exhausted();
  }
  if (err != MSPACK_ERR_OK) ctx.sink.Warn(name + ": decompression failed (libmspack error " + std::to_string(err) + ")");
  if (buf.size() == 0) return true;
  return ctx.sink.Member(name, buf.view(), MemberKind::kFile);
}

}  // namespace

Status ReadChm(std::string_view data, Context& ctx) {
  std::unique_ptr<mschm_decompressor, void (*)(mschm_decompressor*)> d(
      mspack_create_chm_decompressor(&kSystem), mspack_destroy_chm_decompressor);
  if (!d) return Status::Internal("libmspack: no CHM decompressor");
  Target in;
  in.in = data;
  mschmd_header* chm = d->open(d.get(), Name(&in));
  if (!chm) {
    ctx.sink.Warn("chm: not readable (libmspack error " + std::to_string(d->last_error(d.get())) + ")");
    return Status::Ok();
  }
  for (mschmd_file* f = chm->files; f && !ctx.Stopped(); f = f->next) {
    if (f->length <= 0) continue;
    std::string name = f->filename ? f->filename : "?";
    if (!name.empty() && name[0] == '/') name.erase(0, 1);
    bool go = ExtractMember(ctx, name, static_cast<uint64_t>(f->length),
                            [&](Target* out) { return d->extract(d.get(), f, Name(out)); });
    if (!go) break;
  }
  d->close(d.get(), chm);
  return Status::Ok();
}

Status ReadSzdd(std::string_view data, Context& ctx) {
  std::unique_ptr<msszdd_decompressor, void (*)(msszdd_decompressor*)> d(
      mspack_create_szdd_decompressor(&kSystem), mspack_destroy_szdd_decompressor);
  if (!d) return Status::Internal("libmspack: no SZDD decompressor");
  Target in;
  in.in = data;
  msszddd_header* h = d->open(d.get(), Name(&in));
  if (!h) {
    ctx.sink.Warn("szdd: not readable");
    return Status::Ok();
  }
  ExtractMember(ctx, "data", static_cast<uint64_t>(h->length),
                [&](Target* out) { return d->extract(d.get(), h, Name(out)); });
  d->close(d.get(), h);
  return Status::Ok();
}

Status ReadKwaj(std::string_view data, Context& ctx) {
  std::unique_ptr<mskwaj_decompressor, void (*)(mskwaj_decompressor*)> d(
      mspack_create_kwaj_decompressor(&kSystem), mspack_destroy_kwaj_decompressor);
  if (!d) return Status::Internal("libmspack: no KWAJ decompressor");
  Target in;
  in.in = data;
  mskwajd_header* h = d->open(d.get(), Name(&in));
  if (!h) {
    ctx.sink.Warn("kwaj: not readable");
    return Status::Ok();
  }
  std::string name = h->filename ? h->filename : "data";
  ExtractMember(ctx, name, h->length > 0 ? static_cast<uint64_t>(h->length) : UINT64_MAX,
                [&](Target* out) { return d->extract(d.get(), h, Name(out)); });
  d->close(d.get(), h);
  return Status::Ok();
}

}  // namespace vigil::unpack
