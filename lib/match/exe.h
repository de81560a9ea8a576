// Where the entry point and the sections of an executable lie in its file,
// for the offsets of ClamAV body signatures that count from them (EP+n,
// Sx+n, SL+n, SEx; docs/CLAMAV-COMPAT.md section 16).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace vigil::match {

struct ExeLayout {
  struct Section {
    uint64_t raw = 0;   // file offset of the section's data
    uint64_t size = 0;  // bytes of it in the file
  };
  bool has_ep = false;  // whether the entry point maps to a file offset
  uint64_t ep = 0;      // its file offset
  std::vector<Section> sections;  // in section-table order
};

// One entry of a PE section table.
struct PeSection {
  uint32_t va = 0, vsize = 0, raw = 0, rsize = 0;
};

// The section table of the COFF header that starts with "PE\0\0" at `pe` in
// `d`; false when the header or the table does not fit, or it declares no
// section or more than 96.
bool ReadPeSections(std::string_view d, size_t pe, std::vector<PeSection>* out);

// The layout of a 32- or 64-bit PE file; false when its headers cannot be
// read or its entry point lies in no section and not in the headers (then
// no such offset matches, as in clamscan).
bool ParsePeLayout(std::string_view data, ExeLayout* out);

}  // namespace vigil::match
