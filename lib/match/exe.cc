#include "match/exe.h"

#include <cstring>

#include "util/le.h"

namespace vigil::match {
namespace {

bool Has(std::string_view d, size_t off, size_t n) { return off <= d.size() && d.size() - off >= n; }

}  // namespace

bool ReadPeSections(std::string_view d, size_t pe, std::vector<PeSection>* out) {
  if (!Has(d, pe, 24) || std::memcmp(d.data() + pe, "PE\0\0", 4) != 0) return false;
  const uint16_t count = Le16(d, pe + 6), optional = Le16(d, pe + 20);
  if (count == 0 || count > 96) return false;
  const size_t table = pe + 24 + optional;
  if (!Has(d, table, 40u * count)) return false;
  out->clear();
  for (uint16_t i = 0; i < count; ++i) {
    const size_t s = table + 40u * i;
    out->push_back({Le32(d, s + 12), Le32(d, s + 8), Le32(d, s + 20), Le32(d, s + 16)});
  }
  return true;
}

bool ParsePeLayout(std::string_view d, ExeLayout* out) {
  *out = ExeLayout{};
  if (!Has(d, 0, 0x40) || d[0] != 'M' || d[1] != 'Z') return false;
  const size_t pe = Le32(d, 0x3C);
  std::vector<PeSection> secs;
  if (!ReadPeSections(d, pe, &secs)) return false;
  const uint16_t optional = Le16(d, pe + 20);
  if (optional < 20 || !Has(d, pe + 24, optional)) return false;
  const uint16_t magic = Le16(d, pe + 24);
  if (magic != 0x10B && magic != 0x20B) return false;
  const uint32_t ep_rva = Le32(d, pe + 24 + 16);
  for (const PeSection& s : secs) out->sections.push_back({s.raw, s.rsize});
  // The entry point: in the section whose addresses hold it, or in the
  // headers (before the first section), where address and offset agree.
  uint32_t first_va = UINT32_MAX;
  for (const PeSection& s : secs) {
    if (s.va < first_va) first_va = s.va;
    const uint64_t span = s.vsize > s.rsize ? s.vsize : s.rsize;
    if (ep_rva >= s.va && ep_rva - s.va < span) {
      out->has_ep = true;
      out->ep = static_cast<uint64_t>(s.raw) + (ep_rva - s.va);
      return true;
    }
  }
  if (ep_rva < first_va) {
    out->has_ep = true;
    out->ep = ep_rva;
    return true;
  }
  // clamscan does not take a PE file whose entry point is nowhere: no EP or
  // section offset matches in it.
  return false;
}

}  // namespace vigil::match
