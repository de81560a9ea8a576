// UNPACK: looking inside containers (archives, compressed streams, mail,
// documents, executables that carry other files).
//
// One reader per format. A reader walks its container and hands each member
// to the Sink as a name and a byte view that stays valid only during the
// call; members are extracted one at a time, so memory holds at most one
// member per nesting level, each bounded by max-filesize. Every limit is
// taken from the Budget (budget.h). A reader never throws and never trusts
// a size or an offset it reads: a malformed container yields the members it
// could read and a warning.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "unpack/budget.h"
#include "unpack/filetype.h"
#include "vigil/status.h"

namespace vigil::unpack {

// How a member came to be.
enum class MemberKind : uint8_t {
  kFile,      // a file stored in the container (decoded)
  kEmbedded,  // an object found inside the bytes (from its start to the end of
              // the parent, as clamscan scans embedded files); not searched
              // for further embedded objects, which would rescan the same bytes
};

// What a reader tells the scanner. Implemented by the engine.
class Sink {
 public:
  virtual ~Sink() = default;
  // One member, to be scanned as a file of its own (and looked inside in
  // turn). Returns false when the scan of the whole file is over (a final
  // detection, or the budget is exhausted): the reader then stops.
  virtual bool Member(std::string_view name, std::string_view data, MemberKind kind) = 0;
  // A limit was hit for a member (or for the whole container).
  virtual void LimitExceeded(LimitHit hit) = 0;
  // An encrypted member or document; `format` completes clamscan's name
  // "Heuristics.Encrypted.<format>" (Zip, 7Zip, RAR, PDF).
  virtual void Encrypted(std::string_view format) = 0;
  // The container is truncated or malformed past some point; scanning goes on.
  virtual void Warn(std::string message) = 0;
};

// Everything a reader needs besides the bytes.
struct Context {
  Budget& budget;
  Sink& sink;
  uint32_t depth;  // depth of the members this reader produces (container + 1)

  // Asks the budget before extracting a member of `declared_size` bytes
  // (UINT64_MAX when unknown). On a limit, tells the sink and returns false.
  bool Admit(uint64_t declared_size) {
    LimitHit hit = budget.Admit(depth, declared_size);
    if (hit == LimitHit::kNone) return true;
    sink.LimitExceeded(hit);
    return false;
  }
  // Whether extraction must stop (time, files or scan size used up).
  bool Stopped() { return budget.Expired() || budget.exhausted(); }
};

// A growing member buffer that refuses to pass the budget's per-member
// limit. Readers that decode into memory use it so that no member ever
// holds more than max-filesize bytes.
class MemberBuffer {
 public:
  explicit MemberBuffer(const Budget& budget) : budget_(budget) {}
  // Whether the member is over the limit (then it is to be skipped).
  LimitHit Over() const { return data_.size() > budget_.MemberCap() ? budget_.Grow(data_.size()) : LimitHit::kNone; }
  // Appends; false (and nothing appended) when the member would exceed the
  // limit, with the hit in `*hit`.
  bool Append(const void* p, size_t n, LimitHit* hit);
  // Adds room for up to `want` bytes at the end and returns it, with the
  // room granted in `*got` (less than `want` near the limit: one byte more
  // than the limit is granted so that overflow shows). nullptr, with the hit
  // in `*hit`, once the member is over the limit. Give back what was not
  // written with Shrink().
  char* Extend(size_t want, size_t* got, LimitHit* hit);
  void Shrink(size_t unused) { data_.resize(data_.size() - unused); }
  void Clear() { data_.clear(); }
  std::string_view view() const { return data_; }
  size_t size() const { return data_.size(); }

 private:
  const Budget& budget_;
  std::string data_;
};

// Looks inside `data` (of `type`, from DetectType) and hands each member to
// ctx.sink. Returns an error only for a failure of the reader itself (for
// example a library that cannot be initialised); malformed input is a
// warning. Types without a reader have no members.
Status Unpack(FileType type, std::string_view data, MemberKind kind, Context& ctx);

// The readers (one file each).
Status ReadArchive(FileType type, std::string_view data, Context& ctx);  // archive.cc (libarchive)
Status ReadEmbeddedPe(std::string_view data, Context& ctx);               // pe.cc
// The ZIP archive inside a PE file, from its first local header ("ZIP-SFX").
Status ReadSfxZip(std::string_view data, Context& ctx);                   // pe.cc
// A UPX-packed PE file, unpacked into the file it was made from (one
// member); `*stop` when the sink ended the scan.
Status ReadUpx(std::string_view data, Context& ctx, bool* stop);  // upx.cc
// PE files made by other executable packers, each unpacked into a PE image
// (one member, looked inside like any PE); `*stop` when the sink ended the
// scan. A file that is not theirs is left alone (no member, no warning).
Status ReadAspack(std::string_view data, Context& ctx, bool* stop);  // aspack.cc
Status ReadMew(std::string_view data, Context& ctx, bool* stop);     // mew.cc
Status ReadPetite(std::string_view data, Context& ctx, bool* stop);  // petite.cc
Status ReadUpack(std::string_view data, Context& ctx, bool* stop);   // upack.cc
Status ReadWwpack(std::string_view data, Context& ctx, bool* stop);  // wwpack.cc
Status ReadYc(std::string_view data, Context& ctx, bool* stop);      // yc.cc
Status ReadPespin(std::string_view data, Context& ctx, bool* stop);  // pespin.cc
// The blocks of an NSIS installer (script and files); `*stop` when the
// sink ended the scan.
Status ReadNsis(std::string_view data, Context& ctx, bool* stop);  // nsis.cc
// Files an InstallShield setup appends after its last section, and those of
// the cabinets among them; `*stop` when the sink ended the scan.
Status ReadInstallShieldOverlay(std::string_view data, Context& ctx, bool* stop);  // installshield.cc
// The files a compiled AutoIt program (EA05, EA06) carries: its script and
// FileInstall payloads; `*stop` when the sink ended the scan.
Status ReadAutoIt(std::string_view data, Context& ctx, bool* stop);  // autoit.cc
Status ReadMail(std::string_view data, Context& ctx);                     // mail.cc (GMime)
Status ReadBinhex(std::string_view data, Context& ctx);                   // text_formats.cc
Status ReadHtml(std::string_view data, Context& ctx);                     // text_formats.cc
Status ReadChm(std::string_view data, Context& ctx);                      // mspack.cc (libmspack)
Status ReadSzdd(std::string_view data, Context& ctx);                     // mspack.cc
Status ReadKwaj(std::string_view data, Context& ctx);                     // mspack.cc
Status ReadOle2(std::string_view data, Context& ctx);                     // ole2.cc (libgsf)
Status ReadPdf(std::string_view data, Context& ctx);                      // pdf.cc (qpdf)
Status ReadTnef(std::string_view data, Context& ctx);                     // tnef.cc
Status ReadRtf(std::string_view data, Context& ctx);                      // rtf.cc
Status ReadSis(std::string_view data, Context& ctx);                      // sis.cc
Status ReadArj(std::string_view data, Context& ctx);                      // arj.cc

// Whether `data` starts with an ARJ archive header.
bool LooksLikeArj(std::string_view data);

// Whether `data` is a SIS package (EPOC release 3-6 UIDs).
bool LooksLikeSis(std::string_view data);

// The file inside an OLE "Package" object (RTF \objdata, Ole10Native
// streams): its name (without directories) and bytes. False when malformed.
bool ParsePackage(std::string_view native, std::string* name, std::string_view* data);

// Whether data[off] starts a plausible PE file (MZ header whose e_lfanew
// points at a "PE\0\0" COFF header with sane section count).
bool PeAt(std::string_view data, size_t off);

// Where the bytes after a PE file's last section start (its overlay); 0
// when `data` is not a readable PE file.
size_t PeOverlayStart(std::string_view data);

}  // namespace vigil::unpack
