// PDF through qpdf: every stream, decoded (Flate, LZW, ASCIIHex, ASCII85,
// RunLength; object streams and embedded files are streams too), is a member
// named "obj-N". qpdf recovers what it can from a damaged file (its xref
// reconstruction); decoded data goes through a pipeline that stops at the
// member limit, so a Flate bomb inside a PDF cannot fill memory. An
// encrypted PDF that does not open with the empty user password is
// reported as Heuristics.Encrypted.PDF (with --alert-encrypted).
// qpdf's headers: say which PointerHolder API we use (none), and complete
// JSON before QPDFObjectHandle needs it (clang with libstdc++ in C++20).
#define POINTERHOLDER_TRANSITION 4
#include "util/no_iostream_init.h"  // before qpdf: see there
#include <qpdf/JSON.hh>
#include <qpdf/Pipeline.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>

#include <memory>
#include <string>

#include "unpack/unpack.h"

namespace vigil::unpack {
namespace {

struct OverLimit {};

// Collects decoded bytes into a MemberBuffer; throws OverLimit (caught
// below, qpdf passes exceptions through) when the member passes the limit.
class CapPipeline : public Pipeline {
 public:
  explicit CapPipeline(MemberBuffer& buf) : Pipeline("vigil", nullptr), buf_(buf) {}
  void write(unsigned char const* data, size_t len) override {
    if (!buf_.Append(data, len, &hit)) throw OverLimit{};
  }
  void finish() override {}
  LimitHit hit = LimitHit::kNone;

 private:
  MemberBuffer& buf_;
};

}  // namespace

Status ReadPdf(std::string_view data, Context& ctx) {
  try {
    QPDF pdf;
    pdf.setSuppressWarnings(true);
    pdf.setAttemptRecovery(true);
    pdf.processMemoryFile("pdf", data.data(), data.size());
    std::vector<QPDFObjectHandle> objects = pdf.getAllObjects();
    for (auto& o : objects) {
      if (ctx.Stopped()) break;
      if (!o.isStream()) continue;
      std::string name = "obj-" + std::to_string(o.getObjectID());
      MemberBuffer buf(ctx.budget);
      CapPipeline pipe(buf);
      try {
        bool attempted = false;
        bool ok = o.pipeStreamData(&pipe, &attempted, 0, qpdf_dl_all, /*suppress_warnings=*/true);
        if (!ok) {
          // Undecodable filter: hand on the raw bytes instead.
          buf.Clear();
          o.pipeStreamData(&pipe, &attempted, 0, qpdf_dl_none, true);
        }
      } catch (const OverLimit&) {
        ctx.sink.LimitExceeded(pipe.hit);
        if (ctx.budget.exhausted()) break;
        continue;
      } catch (const std::exception& e) {
        ctx.sink.Warn("pdf: " + name + ": " + e.what());
      }
      if (buf.size() == 0) continue;
      if (!ctx.Admit(buf.size())) {
        if (ctx.budget.exhausted()) break;
        continue;
      }
      if (!ctx.sink.Member(name, buf.view(), MemberKind::kFile)) break;
    }
  } catch (const std::exception& e) {
    std::string what = e.what();
    // qpdf refuses a file whose user password is not empty.
    if (what.find("password") != std::string::npos) ctx.sink.Encrypted("PDF");
    else ctx.sink.Warn("pdf: " + what);
  } catch (...) {
    ctx.sink.Warn("pdf: unreadable");
  }
  return Status::Ok();
}

}  // namespace vigil::unpack
