// .ndb extended body signatures:
//   Name:TargetType:Offset:HexSignature[:MinFL[:MaxFL]]
#include "signatures/clamav/lines.h"

namespace vigil::sig {
namespace {

// Offset forms: * | n | EOF-n | EP+n | EP-n | Sx+n | SEx | SL+n, each but *
// optionally followed by ",maxshift".
Status ParseOffset(std::string_view s, Offset* o) {
  using internal::ParseNumber;
  auto bad = [&] { return Status::Corruption("bad offset '" + std::string(s) + "'"); };
  if (s == "*") { o->kind = Offset::Kind::kAny; return Status::Ok(); }
  if (s.starts_with("*")) return bad();  // "*,n" has no meaning
  std::string_view base = s;
  size_t comma = s.find(',');
  if (comma != s.npos) {
    // clamscan reads an empty number around the comma as 0: "10," is "10,0"
    // and ",5" is "0,5".
    std::string_view shift = s.substr(comma + 1);
    if (!shift.empty() && !ParseNumber(shift, &o->max_shift)) return bad();
    base = s.substr(0, comma);
    if (base.empty()) base = "0";
  }
  uint64_t n = 0;
  if (base.starts_with("EOF-")) {
    if (base.size() > 4 && !ParseNumber(base.substr(4), &n)) return bad();  // "EOF-" is EOF-0
    o->kind = Offset::Kind::kFromEnd;
    o->value = static_cast<int64_t>(n);
  } else if (base.starts_with("EP+") || base.starts_with("EP-")) {
    if (!ParseNumber(base.substr(3), &n)) return bad();
    o->kind = Offset::Kind::kEntryPoint;
    o->value = base[2] == '-' ? -static_cast<int64_t>(n) : static_cast<int64_t>(n);
  } else if (base.starts_with("SE")) {
    if (!ParseNumber(base.substr(2), &o->section)) return bad();
    o->kind = Offset::Kind::kSectionAll;
  } else if (base.starts_with("SL+")) {
    if (!ParseNumber(base.substr(3), &n)) return bad();
    o->kind = Offset::Kind::kLastSection;
    o->value = static_cast<int64_t>(n);
  } else if (base.starts_with("S")) {
    size_t plus = base.find('+');
    if (plus == base.npos || !ParseNumber(base.substr(1, plus - 1), &o->section) ||
        !ParseNumber(base.substr(plus + 1), &n))
      return bad();
    o->kind = Offset::Kind::kSection;
    o->value = static_cast<int64_t>(n);
  } else {
    if (!ParseNumber(base, &n)) return bad();
    o->kind = Offset::Kind::kAbsolute;
    o->value = static_cast<int64_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Status ParseNdb(std::string_view text, const DbSource& src, SignatureSet* out) {
  std::vector<std::pair<BodySig, std::string>> parsed;
  size_t unevaluable = 0;
  Status st = internal::ForEachLine(text, src, [&](std::string_view line, size_t) -> Status {
    auto f = internal::Split(line, ':');
    if (f.size() < 4 || f.size() > 6)
      return Status::Corruption("expected Name:TargetType:Offset:HexSignature[:MinFL[:MaxFL]]");
    if (f[0].empty()) return Status::Corruption("empty signature name");
    // A signature meant for other engine versions is skipped before its
    // body is parsed: it may use syntax this engine does not know.
    // Unlike hash databases, clamscan refuses a non-numeric level here.
    for (size_t k = 4; k < f.size(); ++k) {
      unsigned level = 0;
      if (!f[k].empty() && !internal::ParseNumber(f[k], &level))
        return Status::Corruption("bad functionality level '" + std::string(f[k]) + "'");
    }
    if (!internal::FlevelApplies(f, 4)) return Status::Ok();  // skipped, uncounted
    BodySig b;
    unsigned target = 0;
    if (!internal::ParseNumber(f[1], &target))
      return Status::Corruption("bad target type '" + std::string(f[1]) + "'");
    // Target types this engine does not know are loaded by clamscan but
    // never used and not counted; do the same.
    if (target > kTargetMax) return Status::Ok();
    b.target = static_cast<uint8_t>(target);
    VIGIL_RETURN_IF_ERROR(ParseOffset(f[2], &b.offset));
    bool executable = b.target == kTargetPe || b.target == kTargetElf || b.target == kTargetMachO;
    if (!b.offset.evaluable() && !executable)
      return Status::Corruption("offset '" + std::string(f[2]) + "' needs an executable target type (1, 6 or 9), not " +
                                std::to_string(target));
    auto pat = ParsePattern(f[3]);
    if (!pat.ok()) return pat.status();
    b.pattern = std::move(pat).value();
    // clamscan's matchers index literal bytes; it refuses patterns without
    // enough of them (a literal pattern goes to its Boyer-Moore matcher).
    LoadLimits limits;
    bool literal = f[3].find_first_of("?([{*") == std::string_view::npos;
    bool floating = f[2] == "*" || f[2].find(',') != std::string_view::npos;
    limits.literal_min3 = literal && (b.target == kTargetAny || (b.target == kTargetPe && !floating));
    limits.qgram_filter = b.target == kTargetAny || b.target == kTargetPe ||
                          b.target == kTargetMail || b.target == kTargetAscii;
    VIGIL_RETURN_IF_ERROR(CheckLoadLimits(b.pattern, limits));
    // EP and section offsets are evaluated on PE files (match/exe.h); on
    // ELF and Mach-O files not yet.
    b.evaluable = TargetEvaluable(b.target) && (b.offset.evaluable() || b.target == kTargetPe);
    if (!b.evaluable) ++unevaluable;
    // A gap like "{3-1}" can never be satisfied: loaded and counted, never matched.
    if (b.pattern.Impossible()) b.evaluable = false;
    parsed.emplace_back(std::move(b), std::string(f[0]));
    return Status::Ok();
  });
  if (!st.ok()) return st;
  out->bodies.reserve(out->bodies.size() + parsed.size());
  for (auto& [b, name] : parsed) {
    b.name = out->AddName(DisplayName(name, src.official));
    out->bodies.push_back(std::move(b));
  }
  out->known += parsed.size();
  if (unevaluable) {
    out->warnings.push_back(src.name + ": " + std::to_string(unevaluable) +
                            " signature(s) need file-type parsing not supported yet "
                            "(target type 13 or 14, or EP/section offsets outside PE files); "
                            "loaded but never matched");
  }
  return Status::Ok();
}

}  // namespace vigil::sig
