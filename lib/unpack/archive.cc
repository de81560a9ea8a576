// Archives and compressed streams through libarchive: zip, 7z, rar (v4, v5),
// tar, cpio, ISO 9660, cab, ar, xar, lha, and a single gzip, bzip2, xz,
// lzma or zstd stream (libarchive's "raw" format). The archive is read from
// memory; each member is decoded in chunks into a MemberBuffer, so nothing
// beyond max-filesize is ever held, and a member that exceeds it is skipped.
#include <archive.h>
#include <archive_entry.h>

#include <zlib.h>

#include <algorithm>
#include <memory>

#include "unpack/explode.h"
#include "unpack/inflate.h"
#include "unpack/unpack.h"
#include "util/le.h"

namespace vigil::unpack {
namespace {

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

// Which clamscan names an encrypted member of this archive format.
std::string_view EncryptedName(int format) {
  switch (format & ARCHIVE_FORMAT_BASE_MASK) {
    case ARCHIVE_FORMAT_ZIP: return "Zip";
    case ARCHIVE_FORMAT_7ZIP: return "7Zip";
    case ARCHIVE_FORMAT_RAR:
    case ARCHIVE_FORMAT_RAR_V5: return "RAR";
    default: return "Archive";
  }
}

std::string ErrorText(archive* a) {
  const char* s = archive_error_string(a);
  return s ? s : "unknown error";
}

bool IsStream(FileType type) {
  return type == FileType::kGzip || type == FileType::kBzip2 || type == FileType::kXz ||
         type == FileType::kLzma || type == FileType::kZstd;
}

// Enables the one format `type` names; compressed streams enable every
// archive format (a .tar.gz is read as tar) plus "raw" for a lone file, or
// (raw_only) just "raw".
void EnableFormats(archive* a, FileType type, bool raw_only) {
  archive_read_support_filter_all(a);
  if (raw_only) {
    archive_read_support_format_raw(a);
    return;
  }
  switch (type) {
    case FileType::kZip: archive_read_support_format_zip(a); return;
    case FileType::k7z: archive_read_support_format_7zip(a); return;
    case FileType::kRar:
      archive_read_support_format_rar(a);
      archive_read_support_format_rar5(a);
      return;
    case FileType::kTar: archive_read_support_format_tar(a); return;
    case FileType::kCpio: archive_read_support_format_cpio(a); return;
    case FileType::kIso9660: archive_read_support_format_iso9660(a); return;
    case FileType::kCab: archive_read_support_format_cab(a); return;
    case FileType::kAr: archive_read_support_format_ar(a); return;
    case FileType::kXar: archive_read_support_format_xar(a); return;
    case FileType::kLha: archive_read_support_format_lha(a); return;
    default:
      archive_read_support_format_tar(a);
      archive_read_support_format_cpio(a);
      archive_read_support_format_zip(a);
      archive_read_support_format_7zip(a);
      archive_read_support_format_ar(a);
      archive_read_support_format_xar(a);
      archive_read_support_format_iso9660(a);
      archive_read_support_format_raw(a);
      return;
  }
}

// Reads and discards the rest of a member that is being skipped, checking the
// clock (libarchive's own skip would decode it all without a time limit).
void Drain(archive* a, Context& ctx) {
  // Allocated on first use: a thread-local array would be zeroed for every
  // thread of every process, archives or not.
  constexpr size_t kSink = 1 << 16;
  static thread_local std::unique_ptr<char[]> sink;
  if (!sink) sink.reset(new char[kSink]);
  while (!ctx.budget.Expired()) {
    la_ssize_t n = archive_read_data(a, sink.get(), kSink);
    if (n <= 0) return;
  }
}

// The gzip members of a (truncated) stream, decoded by zlib as far as the
// bytes go; the result is one member, "data".
Status GunzipPartial(std::string_view data, Context& ctx) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 32) != Z_OK) return Status::Internal("zlib: inflateInit2 failed");
  MemberBuffer buf(ctx.budget);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(std::min<size_t>(data.size(), UINT32_MAX));
  LimitHit hit = LimitHit::kNone;
  int r = Z_OK;
  while (r == Z_OK && !ctx.budget.Expired()) {
    size_t got = 0;
    char* dst = buf.Extend(size_t{1} << 16, &got, &hit);
    if (!dst) break;
    z.next_out = reinterpret_cast<Bytef*>(dst);
    z.avail_out = static_cast<uInt>(got);
    r = inflate(&z, Z_NO_FLUSH);
    buf.Shrink(z.avail_out);
    if (r == Z_STREAM_END && z.avail_in > 0) r = inflateReset(&z);  // concatenated members
    if (r == Z_BUF_ERROR && z.avail_in == 0) break;                // the bytes ended early
  }
  inflateEnd(&z);
  if (hit != LimitHit::kNone) {
    ctx.sink.LimitExceeded(hit);
    return Status::Ok();
  }
  if (r != Z_STREAM_END) ctx.sink.Warn("gzip: truncated or corrupt; scanning the " +
                                       std::to_string(buf.size()) + " bytes decoded");
  if (buf.size() > 0 && ctx.Admit(buf.size())) ctx.sink.Member("data", buf.view(), MemberKind::kFile);
  return Status::Ok();
}


// The zip members libarchive cannot decode — Deflate64 (method 9, by
// inflate.cc) and implode (method 6, by explode.cc) — found through the
// central directory.
void ReadZipOwnMethods(std::string_view zip, Context& ctx) {
  size_t from = zip.size() > 65557 ? zip.size() - 65557 : 0;
  size_t eocd = zip.rfind(std::string_view("PK\x05\x06", 4));
  if (eocd == std::string_view::npos || eocd < from || eocd + 22 > zip.size()) {
    ctx.sink.Warn("zip: no central directory; Deflate64 and imploded members not decoded");
    return;
  }
  uint32_t count = Le16(zip, eocd + 10), cd = Le32(zip, eocd + 16);
  size_t p = cd;
  for (uint32_t i = 0; i < count && !ctx.Stopped(); ++i) {
    if (p + 46 > zip.size() || Le32(zip, p) != 0x02014B50) break;
    uint16_t flags = Le16(zip, p + 8), method = Le16(zip, p + 10);
    uint32_t csize = Le32(zip, p + 20), usize = Le32(zip, p + 24);
    uint16_t nlen = Le16(zip, p + 28), elen = Le16(zip, p + 30), clen = Le16(zip, p + 32);
    size_t local = Le32(zip, p + 42);
    std::string name(zip.substr(p + 46, std::min<size_t>(nlen, zip.size() - p - 46)));
    p += 46 + static_cast<size_t>(nlen) + elen + clen;
    if (method != 9 && method != 6) continue;
    if (flags & 1) { ctx.sink.Encrypted("Zip"); continue; }
    if (local + 30 > zip.size() || Le32(zip, local) != 0x04034B50) continue;
    size_t start = local + 30 + static_cast<size_t>(Le16(zip, local + 26)) + Le16(zip, local + 28);
    if (start > zip.size()) continue;
    std::string_view comp = zip.substr(start, std::min<size_t>(csize, zip.size() - start));
    if (!ctx.Admit(usize == 0xFFFFFFFF ? UINT64_MAX : usize)) {
      if (ctx.budget.exhausted()) return;
      continue;
    }
    MemberBuffer buf(ctx.budget);
    LimitHit hit = LimitHit::kNone;
    InflateResult r = method == 9 ? Inflate(comp, /*deflate64=*/true, &buf, &hit)
                                  : Explode(comp, flags, usize, &buf, &hit);
    if (r == InflateResult::kOverLimit) { ctx.sink.LimitExceeded(hit); continue; }
    if (r != InflateResult::kDone)
      ctx.sink.Warn("zip: " + name + (method == 9 ? ": Deflate64" : ": imploded") + " data truncated or corrupt");
    if (buf.size() && !ctx.sink.Member(name, buf.view(), MemberKind::kFile)) return;
  }
}

// One pass over the archive; `*members` counts the members handed on.
Status ReadPass(FileType type, std::string_view data, Context& ctx, bool raw_only, int* members,
                bool* opened, bool* own_methods) {
  std::unique_ptr<archive, ArchiveDeleter> a(archive_read_new());
  if (!a) return Status::Internal("libarchive: out of memory");
  EnableFormats(a.get(), type, raw_only);
  // Bound the memory libarchive itself may ask for when a header lies.
  if (archive_read_open_memory(a.get(), data.data(), data.size()) != ARCHIVE_OK) {
    *opened = false;
    // A truncated gzip stream: libarchive gives up at once, zlib decodes
    // what is there.
    if (type == FileType::kGzip) return GunzipPartial(data, ctx);
    ctx.sink.Warn(std::string(TypeName(type)) + ": not readable: " + ErrorText(a.get()));
    return Status::Ok();
  }
  MemberBuffer buf(ctx.budget);
  archive_entry* e = nullptr;
  while (true) {
    if (ctx.Stopped()) break;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r == ARCHIVE_FATAL) {
      std::string err = ErrorText(a.get());
      if (err.find("ncrypt") != std::string::npos) ctx.sink.Encrypted(EncryptedName(archive_format(a.get())));
      else ctx.sink.Warn(std::string(TypeName(type)) + ": truncated or corrupt: " + err);
      break;
    }
    if (r == ARCHIVE_RETRY) continue;
    // ARCHIVE_WARN / ARCHIVE_FAILED headers still describe a member.
    if (archive_entry_filetype(e) != AE_IFREG) {
      continue;  // directories, links, devices carry no data
    }
    ++*members;
    const char* path = archive_entry_pathname(e);
    std::string name = path ? path : "?";
    if (archive_entry_is_encrypted(e) || archive_entry_is_data_encrypted(e)) {
      ctx.sink.Encrypted(EncryptedName(archive_format(a.get())));
      continue;
    }
    uint64_t declared = archive_entry_size_is_set(e) && archive_entry_size(e) >= 0
                            ? static_cast<uint64_t>(archive_entry_size(e))
                            : UINT64_MAX;
    if (!ctx.Admit(declared)) {
      if (ctx.budget.exhausted()) break;
      continue;  // too big: skipped, libarchive skips its data on the next header
    }
    buf.Clear();
    LimitHit hit = LimitHit::kNone;
    bool complete = false;
    while (true) {
      if (ctx.budget.Expired()) break;
      size_t got = 0;
      char* dst = buf.Extend(size_t{1} << 16, &got, &hit);
      if (!dst) break;
      la_ssize_t n = archive_read_data(a.get(), dst, got);
      if (n < 0) {
        buf.Shrink(got);
        std::string err = ErrorText(a.get());
        if (err.find("ncrypt") != std::string::npos) ctx.sink.Encrypted(EncryptedName(archive_format(a.get())));
        else if (err.find("compression method (9") != std::string::npos ||
                 err.find("compression method (6") != std::string::npos)
          *own_methods = true;  // decoded below
        else ctx.sink.Warn(std::string(TypeName(type)) + ": " + name + ": " + err);
        break;
      }
      buf.Shrink(got - static_cast<size_t>(n));
      if (n == 0) { complete = true; break; }
    }
    if (hit != LimitHit::kNone) {
      ctx.sink.LimitExceeded(hit);
      // zip seeks to the next member through its central directory; other
      // formats decode the rest of the member to skip it: do that here,
      // where the clock is checked.
      if ((archive_format(a.get()) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_RAW) break;
      if ((archive_format(a.get()) & ARCHIVE_FORMAT_BASE_MASK) != ARCHIVE_FORMAT_ZIP) Drain(a.get(), ctx);
      if (ctx.budget.exhausted()) break;
      continue;  // the member is skipped whole, as clamscan does
    }
    // A member that failed part-way is scanned as far as it decoded.
    if ((complete || buf.size() > 0) && !ctx.sink.Member(name, buf.view(), MemberKind::kFile)) break;
    if (ctx.Stopped()) break;
  }
  return Status::Ok();
}

}  // namespace

Status ReadArchive(FileType type, std::string_view data, Context& ctx) {
  int members = 0;
  bool opened = true, own_methods = false;
  VIGIL_RETURN_IF_ERROR(ReadPass(type, data, ctx, /*raw_only=*/false, &members, &opened, &own_methods));
  // libarchive decodes neither Deflate64 nor imploded zip members: we do.
  if (own_methods && type == FileType::kZip && !ctx.Stopped()) ReadZipOwnMethods(data, ctx);
  // A compressed lone file can look like an empty archive to a format's
  // bidder (tar takes a run of zero blocks for its end): read it as raw.
  if (opened && members == 0 && IsStream(type) && !ctx.Stopped())
    VIGIL_RETURN_IF_ERROR(ReadPass(type, data, ctx, /*raw_only=*/true, &members, &opened, &own_methods));
  return Status::Ok();
}

}  // namespace vigil::unpack
