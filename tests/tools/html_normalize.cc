// Prints vigil's normalised forms of an HTML file (lib/match/html.h), for
// comparing with the files clamscan leaves behind with --leave-temps
// (tests/e2e/html_targets_test.py): `vigil_html_normalize nocomment|notags FILE`.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

#include "match/html.h"

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "nocomment") != 0 && std::strcmp(argv[1], "notags") != 0)) {
    std::fprintf(stderr, "usage: %s nocomment|notags FILE\n", argv[0]);
    return 2;
  }
  std::ifstream f(argv[2], std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "%s: cannot open %s\n", argv[0], argv[2]);
    return 2;
  }
  std::string data((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  vigil::match::NormalizedHtml out;
  vigil::match::NormalizeHtml(data, &out);
  const std::string& s = std::strcmp(argv[1], "nocomment") == 0 ? out.nocomment : out.notags;
  std::fwrite(s.data(), 1, s.size(), stdout);
  return 0;
}
