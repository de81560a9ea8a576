// libFuzzer target: content-type detection (lib/unpack/filetype.cc) and every
// container reader behind it (libarchive, GMime, libgsf, qpdf, libmspack and
// our own parsers), with small limits. Any input yields members within the
// member limit, or none; never a crash, a leak or a hang.
#include "unpack_fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return vigil::unpack::fuzz::Run(data, size, [](std::string_view d, vigil::unpack::Context& ctx) {
    using namespace vigil::unpack;
    return Unpack(DetectType(d), d, MemberKind::kFile, ctx);
  });
}
