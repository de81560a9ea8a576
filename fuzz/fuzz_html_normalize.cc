// libFuzzer target: the HTML normaliser and the HTML tag test (match/html.h).
// Any input gives a normalised document, never a crash; the document has no
// upper-case ASCII letter, as clamscan's has none.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "match/html.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)match::ContainsHtmlMarker(in);
  match::NormalizedHtml out;
  match::NormalizeHtml(in, &out);
  for (char c : out.nocomment)
    if (c >= 'A' && c <= 'Z') std::abort();
  return 0;
}
