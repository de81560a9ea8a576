// OLE2 compound files (doc, xls, ppt, msi, ...) through libgsf. Every stream
// is a member, named by its storage path ("Macros/VBA/Module1"); the
// modules of a VBA project are also handed on decompressed (libgsf's VBA
// reader), and an "\x01Ole10Native" stream (an embedded file in a
// document) yields the file it wraps.
#include <gsf/gsf-infile-msole.h>
#include <gsf/gsf-infile-msvba.h>
#include <gsf/gsf-infile.h>
#include <gsf/gsf-input-memory.h>
#include <gsf/gsf-utils.h>

#include <zlib.h>

#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "unpack/unpack.h"
#include "util/le.h"

namespace vigil::unpack {
namespace {

struct Unref {
  void operator()(void* p) const { if (p) g_object_unref(p); }
};
template <typename T>
using GPtr = std::unique_ptr<T, Unref>;

constexpr int kMaxEntries = 10000;  // storages and streams looked at per file


}  // namespace

// An OLE "Package" object: u16 2, label\0, file path\0, u16 0, u16 type,
// u32 n, n bytes (the path it was dropped from), u32 size, the data.
bool ParsePackage(std::string_view s, std::string* name, std::string_view* data) {
  size_t p = 2;
  auto cstr = [&](std::string* out) {
    size_t e = s.find('\0', p);
    if (e == std::string_view::npos) return false;
    if (out) *out = std::string(s.substr(p, e - p));
    p = e + 1;
    return true;
  };
  std::string label;
  if (s.size() < 2 || !cstr(&label) || !cstr(name)) return false;
  size_t slash = name->find_last_of("\\/");
  if (slash != std::string::npos) name->erase(0, slash + 1);
  if (name->empty()) *name = label;
  p += 4;
  if (p + 4 > s.size()) return false;
  uint32_t n = Le32(s, p);
  p += 4;
  if (n > s.size() - p) return false;
  p += n;
  if (p + 4 > s.size()) return false;
  uint32_t size = Le32(s, p);
  p += 4;
  *data = s.substr(p, std::min<size_t>(size, s.size() - p));
  return true;
}

namespace {

struct Walk {
  Context& ctx;
  int entries = 0;
  bool stop = false;
};

void Emit(Walk& w, const std::string& name, std::string_view data) {
  if (w.stop) return;
  if (!w.ctx.Admit(data.size())) { w.stop = w.ctx.budget.exhausted(); return; }
  if (!w.ctx.sink.Member(name, data, MemberKind::kFile)) w.stop = true;
}

// PowerPoint keeps embedded OLE objects in ExOleObjStg records (type
// 0x1011) of its "PowerPoint Document" stream; instance 1 means compressed:
// a u32 decompressed size, then a zlib stream. Each is a member.
void PowerPointObjects(Walk& w, std::string_view s, const std::string& path) {
  int index = 0;
  for (size_t p = 0; p + 12 <= s.size() && !w.stop; ++p) {
    p = s.find(std::string_view("\x10\x00\x11\x10", 4), p);
    if (p == std::string_view::npos || p + 12 > s.size()) return;
    uint32_t len = Le32(s, p + 4);
    if (len < 4 || len > s.size() - p - 8) continue;
    std::string_view z = s.substr(p + 12, len - 4);
    MemberBuffer buf(w.ctx.budget);
    LimitHit hit = LimitHit::kNone;
    z_stream zs{};
    if (inflateInit(&zs) != Z_OK) return;
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(z.data()));
    zs.avail_in = static_cast<uInt>(z.size());
    int r = Z_OK;
    while (r == Z_OK) {
      size_t got = 0;
      char* dst = buf.Extend(size_t{1} << 16, &got, &hit);
      if (!dst) break;
      zs.next_out = reinterpret_cast<Bytef*>(dst);
      zs.avail_out = static_cast<uInt>(got);
      r = inflate(&zs, Z_NO_FLUSH);
      buf.Shrink(zs.avail_out);
      if (r == Z_BUF_ERROR) break;
    }
    inflateEnd(&zs);
    if (hit != LimitHit::kNone) { w.ctx.sink.LimitExceeded(hit); continue; }
    if (buf.size() == 0) continue;
    Emit(w, path + "//ExOleObjStg-" + std::to_string(++index), buf.view());
    p += 11 + len - 4;
  }
}

void ReadStream(Walk& w, GsfInput* in, const std::string& path) {
  gsf_off_t size = gsf_input_size(in);
  if (size <= 0) return;
  uint64_t cap = w.ctx.budget.MemberCap();
  if (static_cast<uint64_t>(size) > cap) {
    w.ctx.sink.LimitExceeded(w.ctx.budget.Grow(static_cast<uint64_t>(size)));
    return;
  }
  std::string buf(static_cast<size_t>(size), '\0');
  if (!gsf_input_read(in, static_cast<size_t>(size), reinterpret_cast<guint8*>(buf.data()))) {
    w.ctx.sink.Warn("ole2: " + path + ": unreadable stream");
    return;
  }
  Emit(w, path, buf);
  std::string base = path.substr(path.rfind('/') + 1);
  std::string name;
  std::string_view inner;
  // An Ole10Native stream is a u32 size and a Package object.
  if (base == "\x01Ole10Native" && buf.size() > 4 && ParsePackage(std::string_view(buf).substr(4), &name, &inner) &&
      !inner.empty())
    Emit(w, path + "//" + (name.empty() ? "native" : name), inner);
}

// A presentation's embedded objects, before any stream: clamscan reports
// what they hold before what the streams do (tests/e2e/ole2_targets_test.py).
void ReadPowerPointObjects(Walk& w, GsfInfile* root) {
  GPtr<GsfInput> in(gsf_infile_child_by_name(root, "PowerPoint Document"));
  if (!in || (GSF_IS_INFILE(in.get()) && gsf_infile_num_children(GSF_INFILE(in.get())) >= 0)) return;
  gsf_off_t size = gsf_input_size(in.get());
  if (size <= 0 || static_cast<uint64_t>(size) > w.ctx.budget.MemberCap()) return;  // the stream itself reports it
  std::string buf(static_cast<size_t>(size), '\0');
  if (!gsf_input_read(in.get(), static_cast<size_t>(size), reinterpret_cast<guint8*>(buf.data()))) return;
  PowerPointObjects(w, buf, "PowerPoint Document");
}

void ReadStorage(Walk& w, GsfInfile* dir, const std::string& prefix) {
  int n = gsf_infile_num_children(dir);
  for (int i = 0; i < n && !w.stop && !w.ctx.Stopped(); ++i) {
    if (++w.entries > kMaxEntries) { w.stop = true; return; }
    GPtr<GsfInput> child(gsf_infile_child_by_index(dir, i));
    if (!child) continue;
    const char* nm = gsf_input_name(child.get());
    std::string path = prefix + (nm ? nm : "?");
    if (GSF_IS_INFILE(child.get()) && gsf_infile_num_children(GSF_INFILE(child.get())) >= 0) {
      // A VBA project: its modules, decompressed.
      if (nm && std::strcmp(nm, "VBA") == 0) {
        GPtr<GsfInfile> vba(gsf_infile_msvba_new(GSF_INFILE(child.get()), nullptr));
        if (vba) {
          int m = gsf_infile_num_children(vba.get());
          for (int k = 0; k < m && !w.stop; ++k) {
            GPtr<GsfInput> mod(gsf_infile_child_by_index(vba.get(), k));
            if (!mod) continue;
            const char* mn = gsf_input_name(mod.get());
            ReadStream(w, mod.get(), path + "/" + (mn ? mn : "?") + "(source)");
          }
        }
      }
      ReadStorage(w, GSF_INFILE(child.get()), path + "/");
    } else {
      ReadStream(w, child.get(), path);
    }
  }
}

}  // namespace

Status ReadOle2(std::string_view data, Context& ctx) {
  static std::once_flag once;
  std::call_once(once, [] { gsf_init(); });
  GPtr<GsfInput> in(gsf_input_memory_new(reinterpret_cast<const guint8*>(data.data()),
                                         static_cast<gsf_off_t>(data.size()), FALSE));
  if (!in) return Status::Internal("libgsf: no memory input");
  GError* err = nullptr;
  GPtr<GsfInfile> ole(gsf_infile_msole_new(in.get(), &err));
  if (!ole) {
    ctx.sink.Warn(std::string("ole2: not readable: ") + (err && err->message ? err->message : "?"));
    if (err) g_error_free(err);
    return Status::Ok();
  }
  Walk w{ctx};
  ReadPowerPointObjects(w, ole.get());
  ReadStorage(w, ole.get(), "");
  return Status::Ok();
}

}  // namespace vigil::unpack
