// Mail through GMime: a single RFC 822 message or an mbox of them; MIME
// multiparts (nested), base64, quoted-printable and uuencode transfer
// encodings, RFC 2231 parameters (GMime decodes them all). Each leaf part is
// a member, decoded, named by its file name when it has one; an attached
// message (message/rfc822) is a member too and is read as mail in turn.
// Text parts are also searched for inline uuencoded files ("begin 644 x").
#include <gmime/gmime.h>

#include <memory>
#include <mutex>
#include <string>

#include "unpack/unpack.h"

namespace vigil::unpack {
namespace {

template <typename T>
struct GUnref {
  void operator()(T* p) const { if (p) g_object_unref(p); }
};
template <typename T>
using GPtr = std::unique_ptr<T, GUnref<T>>;

struct Walk {
  Context& ctx;
  int index = 0;
  bool stop = false;
};

// Decodes inline uuencoded files in a text part ("begin MODE NAME" ...
// "end"), bounded by the member limit.
void InlineUuencode(std::string_view text, Walk& w) {
  size_t pos = 0;
  while (!w.stop && (pos = text.find("begin ", pos)) != std::string_view::npos) {
    if (pos > 0 && text[pos - 1] != '\n') { pos += 6; continue; }
    size_t eol = text.find('\n', pos);
    if (eol == std::string_view::npos) return;
    std::string_view head = text.substr(pos + 6, eol - pos - 6);
    size_t sp = head.find(' ');
    if (sp == std::string_view::npos || sp == 0 || head.find_first_not_of("01234567") < sp) { pos = eol; continue; }
    std::string name(head.substr(sp + 1));
    while (!name.empty() && (name.back() == '\r' || name.back() == ' ')) name.pop_back();
    MemberBuffer buf(w.ctx.budget);
    LimitHit hit = LimitHit::kNone;
    size_t p = eol + 1;
    bool over = false;
    while (p < text.size()) {
      size_t e = text.find('\n', p);
      std::string_view line = text.substr(p, (e == std::string_view::npos ? text.size() : e) - p);
      p = e == std::string_view::npos ? text.size() : e + 1;
      if (line.starts_with("end")) break;
      if (line.empty()) continue;
      int n = (line[0] - ' ') & 63;
      uint8_t out[64];
      int k = 0;
      for (size_t i = 1; i + 3 < line.size() + 3 && k < n; i += 4) {
        auto c = [&](size_t j) { return j < line.size() ? ((line[j] - ' ') & 63) : 0; };
        uint32_t v = c(i) << 18 | c(i + 1) << 12 | c(i + 2) << 6 | c(i + 3);
        for (int b = 2; b >= 0 && k < n; --b) out[k++] = static_cast<uint8_t>(v >> (8 * b));
      }
      if (!buf.Append(out, static_cast<size_t>(k), &hit)) { over = true; break; }
    }
    pos = p;
    if (over) { w.ctx.sink.LimitExceeded(hit); continue; }
    if (buf.size() && w.ctx.Admit(buf.size()) &&
        !w.ctx.sink.Member(name.empty() ? "uuencoded" : name, buf.view(), MemberKind::kFile))
      w.stop = true;
  }
}

void OnPart(GMimeObject* /*parent*/, GMimeObject* part, gpointer user) {
  auto& w = *static_cast<Walk*>(user);
  if (w.stop || w.ctx.Stopped()) { w.stop = true; return; }
  ++w.index;
  GPtr<GMimeStream> out(g_mime_stream_mem_new());
  std::string name;
  if (GMIME_IS_MESSAGE_PART(part)) {
    GMimeMessage* m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(part));
    if (!m) return;
    g_mime_object_write_to_stream(GMIME_OBJECT(m), nullptr, out.get());
    name = "message-" + std::to_string(w.index);
  } else if (GMIME_IS_PART(part)) {
    GMimeDataWrapper* content = g_mime_part_get_content(GMIME_PART(part));
    if (!content) return;
    g_mime_data_wrapper_write_to_stream(content, out.get());
    const char* fn = g_mime_part_get_filename(GMIME_PART(part));
    name = fn && *fn ? fn : "part-" + std::to_string(w.index);
  } else {
    return;  // multiparts: their children come in their own calls
  }
  GByteArray* bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out.get()));
  if (!bytes || bytes->len == 0) return;
  std::string_view data(reinterpret_cast<const char*>(bytes->data), bytes->len);
  if (!w.ctx.Admit(data.size())) return;
  if (!w.ctx.sink.Member(name, data, MemberKind::kFile)) { w.stop = true; return; }
  GMimeContentType* ct = g_mime_object_get_content_type(part);
  if (ct && g_mime_content_type_is_type(ct, "text", "*")) InlineUuencode(data, w);
}

}  // namespace

Status ReadMail(std::string_view data, Context& ctx) {
  static std::once_flag once;
  std::call_once(once, [] { g_mime_init(); });
  // GMime reads from its own copy of the bytes (bounded by max-filesize).
  GPtr<GMimeStream> stream(g_mime_stream_mem_new_with_buffer(data.data(), data.size()));
  GPtr<GMimeParser> parser(g_mime_parser_new_with_stream(stream.get()));
  bool mbox = data.starts_with("From ");
  g_mime_parser_set_format(parser.get(), mbox ? GMIME_FORMAT_MBOX : GMIME_FORMAT_MESSAGE);
  Walk w{ctx};
  int messages = 0;
  while (!w.stop && !g_mime_parser_eos(parser.get()) && !ctx.Stopped()) {
    GPtr<GMimeMessage> msg(g_mime_parser_construct_message(parser.get(), nullptr));
    if (!msg) {
      if (messages == 0) ctx.sink.Warn("mail: no message could be parsed");
      break;
    }
    ++messages;
    GMimeObject* body = g_mime_message_get_mime_part(msg.get());
    if (!body) continue;
    if (GMIME_IS_MULTIPART(body)) {
      g_mime_multipart_foreach(GMIME_MULTIPART(body), OnPart, &w);
    } else {
      OnPart(nullptr, body, &w);
    }
    if (!mbox) break;
  }
  return Status::Ok();
}

}  // namespace vigil::unpack
