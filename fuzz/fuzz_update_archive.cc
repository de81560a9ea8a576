// libFuzzer target: bundles and deltas (lib/update/archive.h) after zstd.
// Decoding arbitrary bytes never crashes; a decoded bundle re-encodes to its
// input; a delta applies or is an error.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "update/archive.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::update;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  if (auto b = DecodeBundle(in); b.ok() && EncodeBundle(b.value()) != in) std::abort();
  static const FileSet base{{"daily.hdb", "a:1:A\nb:2:B\nc:3:C\n"}, {"main.ndb", "X:0:*:41\n"}};
  (void)ApplyDelta(in, base);
  (void)ZstdDecompress(in, 1 << 20);
  return 0;
}
