// libFuzzer target: the exact verifier (match/verify.h). The first line is a
// body pattern; the rest is the data. Every start and end position is tried,
// with an unpinned offset and with pinned ones, to check the verifier's
// memory safety whatever the pattern and data.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "match/verify.h"
#include "signatures/pattern.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  if (nl == std::string_view::npos) return 0;
  auto p = sig::ParsePattern(in.substr(0, nl));
  if (!p.ok()) return 0;
  std::string_view rest = in.substr(nl + 1);
  const auto* bytes = reinterpret_cast<const uint8_t*>(rest.data());

  sig::BodySig s;
  s.pattern = std::move(p).value();
  sig::Offset offsets[3];
  offsets[1].kind = sig::Offset::Kind::kAbsolute;
  offsets[1].value = static_cast<int64_t>(rest.size() / 3);
  offsets[1].max_shift = 4;
  offsets[2].kind = sig::Offset::Kind::kFromEnd;
  offsets[2].value = static_cast<int64_t>(rest.size() / 2);
  for (const auto& o : offsets) {
    s.offset = o;
    match::ScanMemo memo;
    match::Data d{bytes, rest.size(), &memo};
    for (size_t pos = 0; pos <= rest.size(); ++pos) {
      (void)match::VerifyAt(s, d, pos);
      (void)match::VerifyEndingAt(s, d, pos);
    }
    // Once without the memo, so that whole-buffer answers are recomputed.
    match::Data plain{bytes, rest.size()};
    (void)match::VerifyAt(s, plain, 0);
    (void)match::VerifyEndingAt(s, plain, rest.size());
    size_t lo, hi;
    if (match::PinnedRange(o, rest.size(), &lo, &hi) && (lo > hi || hi >= rest.size())) std::abort();
  }
  return 0;
}
