#include "match/text.h"

namespace vigil::match {

bool LooksLikeText(std::string_view data) {
  size_t n = std::min<size_t>(data.size(), 1024);
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(data[i]);
    if (c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' && c != '\b' && c != 0x1b)
      return false;
    if (c == 0x7f) return false;
  }
  return n > 0;
}

void NormalizeText(std::string_view in, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (unsigned char c : in) {
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    out->push_back(static_cast<char>(c));
  }
}

}  // namespace vigil::match
