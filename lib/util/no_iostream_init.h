// Included before third-party headers that include <iostream> only for the
// stream types (qpdf's, cpp-httplib's). With libstdc++, <iostream> also
// defines a static std::ios_base::Init in every unit that includes it, which
// builds the standard streams and every locale facet when the program
// starts: a cost `vigil` would pay on each run although these units serve
// PDFs and updates only (docs/PERFORMANCE.md, "Start-up"). Declaring the
// stream types from <istream> and <ostream> and marking <iostream> as
// already included leaves that object out. Units including this must not use
// std::cout, std::cerr or std::cin; a use does not compile.
#pragma once

#include <istream>
#include <ostream>

#if defined(__GLIBCXX__) && !defined(_GLIBCXX_IOSTREAM)
#define _GLIBCXX_IOSTREAM 1
#endif
