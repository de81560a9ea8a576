// RTF embedded objects: the hex digits after "\objdata" are an OLE1 object
// (u32 version, u32 format, three length-prefixed names — the first is the
// class —, u32 size, the native data). The native data is a member (often
// an OLE2 compound file, read in turn); a "Package" object also yields the
// file it wraps.
#include <string>

#include "unpack/unpack.h"
#include "util/le.h"

namespace vigil::unpack {
namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}


}  // namespace

Status ReadRtf(std::string_view data, Context& ctx) {
  size_t pos = 0;
  int index = 0;
  while ((pos = data.find("\\objdata", pos)) != std::string_view::npos && !ctx.Stopped()) {
    pos += 8;
    ++index;
    MemberBuffer obj(ctx.budget);
    LimitHit hit = LimitHit::kNone;
    int hi = -1;
    bool over = false;
    for (; pos < data.size(); ++pos) {
      char c = data[pos];
      if (c == '}' || c == '{' || c == '\\') break;
      int v = Hex(c);
      if (v < 0) continue;  // line breaks and spaces between digits
      if (hi < 0) { hi = v; continue; }
      char b = static_cast<char>(hi << 4 | v);
      hi = -1;
      if (!obj.Append(&b, 1, &hit)) { over = true; break; }
    }
    if (over) { ctx.sink.LimitExceeded(hit); continue; }
    std::string_view s = obj.view();
    if (s.empty()) continue;
    std::string base = "objdata-" + std::to_string(index);
    // OLE1 header; when it does not parse, the decoded bytes are the member.
    size_t p = 8;
    std::string cls;
    bool ok = s.size() >= 8;
    for (int k = 0; k < 3 && ok; ++k) {
      if (p + 4 > s.size()) { ok = false; break; }
      uint32_t n = Le32(s, p);
      p += 4;
      if (n > s.size() - p) { ok = false; break; }
      if (k == 0) cls.assign(s.substr(p, n).data(), n ? n - 1 : 0);
      p += n;
    }
    std::string_view native;
    if (ok && p + 4 <= s.size()) {
      uint32_t n = Le32(s, p);
      p += 4;
      native = s.substr(p, std::min<size_t>(n, s.size() - p));
      if (native.size() < n) ctx.sink.Warn("rtf: " + base + ": truncated object");
    } else {
      ctx.sink.Warn("rtf: " + base + ": not an OLE1 object; scanning the decoded bytes");
      native = s;
    }
    if (native.empty()) continue;
    if (ctx.Admit(native.size()) && !ctx.sink.Member(base, native, MemberKind::kFile)) break;
    std::string name;
    std::string_view file;
    if (cls == "Package" && ParsePackage(native, &name, &file) && !file.empty()) {
      if (ctx.Admit(file.size()) &&
          !ctx.sink.Member(base + "//" + (name.empty() ? "package" : name), file, MemberKind::kFile))
        break;
    }
  }
  return Status::Ok();
}

}  // namespace vigil::unpack
