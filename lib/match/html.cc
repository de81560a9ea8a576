#include "match/html.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <string_view>

namespace vigil::match {
namespace {

using namespace std::string_view_literals;

// The named character references of HTML 4 (case-sensitive), as clamscan
// decodes them; others ("&apos;", "&AMP;") stay as written.
struct Entity {
  std::string_view name;
  uint32_t code;
};
constexpr Entity kEntities[] = {
#include "match/html_entities.inc"
};

bool IsSpace(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f'; }
char Lower(unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c); }

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (Lower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// A character reference at `in[i]` ('&'): its decoded form (a byte for code
// points below 256, "&#xNNNN;" above, nothing from 0x10000 up) and its length.
// Returns false when it is not one (then '&' is an ordinary character).
bool CharacterReference(std::string_view in, size_t i, std::string* decoded, size_t* length) {
  size_t j = i + 1;
  uint32_t code = 0;
  if (j < in.size() && in[j] == '#') {
    ++j;
    bool hex = j < in.size() && (in[j] == 'x' || in[j] == 'X');
    if (hex) ++j;
    size_t digits = 0;
    while (j < in.size() && digits < 8) {
      unsigned char c = static_cast<unsigned char>(in[j]);
      int v = c >= '0' && c <= '9' ? c - '0'
              : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
              : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (v < 0) break;
      code = code * (hex ? 16 : 10) + static_cast<uint32_t>(v);
      ++j;
      ++digits;
    }
    if (j >= in.size() || in[j] != ';') return false;
  } else {
    size_t start = j;
    while (j < in.size() && j - start < 10 && std::isalnum(static_cast<unsigned char>(in[j]))) ++j;
    if (j >= in.size() || in[j] != ';' || j == start) return false;
    std::string_view name = in.substr(start, j - start);
    auto it = std::find_if(std::begin(kEntities), std::end(kEntities), [&](const Entity& e) { return e.name == name; });
    if (it == std::end(kEntities)) return false;
    code = it->code;
  }
  *length = j + 1 - i;
  decoded->clear();
  if (code < 0x100) {
    decoded->push_back(Lower(static_cast<unsigned char>(code)));
  } else if (code < 0x10000) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "&#x%04x;", code);
    decoded->append(buf);
  }
  return true;
}

bool IsCSpace(unsigned char c) { return IsSpace(c) || c == '\r'; }

// clamscan reads the file in chunks of up to 8191 bytes (NUL bytes left
// out), each cut back to end just after its last white space when the next
// byte is not white space; white space at the start of a chunk is lost.
// Returns the bytes its normaliser actually sees.
std::string AsChunked(std::string_view in) {
  std::string d;
  d.reserve(in.size());
  for (char c : in)
    if (c != 0) d.push_back(c);
  constexpr size_t kChunk = 8191;
  std::string out;
  out.reserve(d.size());
  for (size_t pos = 0; pos < d.size();) {
    size_t len = std::min(kChunk, d.size() - pos);
    if (pos + len < d.size() && !IsCSpace(static_cast<unsigned char>(d[pos + len]))) {
      size_t k = len;
      while (k > 1 && !IsCSpace(static_cast<unsigned char>(d[pos + k - 1]))) --k;
      if (k > 1) len = k;
    }
    size_t start = pos;
    if (pos > 0)
      while (start < pos + len && IsCSpace(static_cast<unsigned char>(d[start]))) ++start;
    out.append(d, start, pos + len - start);
    pos += len;
  }
  return out;
}

class Normalizer {
 public:
  Normalizer(std::string_view in, NormalizedHtml* out) : in_(in), nc_(out->nocomment), nt_(out->notags) {}

  void Run() {
    nc_.clear();
    nt_.clear();
    while (i_ < in_.size()) {
      unsigned char c = static_cast<unsigned char>(in_[i_]);
      if (c == '<') {
        Tag();
      } else if (c == '&') {
        Reference();
      } else if (c == '\r' || c == 0) {
        ++i_;
      } else if (IsSpace(c)) {
        if (!skip_space_) space_ = true;
        NotagsSpace();
        ++i_;
      } else if (c >= 0x80) {
        HighRun();
      } else {
        Text(static_cast<char>(c));
        NotagsChar(Lower(c));
        ++i_;
      }
    }
  }

  // A run of bytes from 0x80 up: as they are in the nocomment form. In the
  // notags form clamscan writes the last byte of the run as a copy of the
  // one before it (a NUL for a run of one) and swallows one white-space
  // byte after the run.
  void HighRun() {
    size_t start = i_;
    while (i_ < in_.size() && static_cast<unsigned char>(in_[i_]) >= 0x80) Text(in_[i_++]);
    for (size_t k = start; k + 1 < i_; ++k) NotagsChar(in_[k]);
    NotagsChar(i_ - start >= 2 ? in_[i_ - 2] : '\0');
    if (i_ < in_.size() && IsCSpace(static_cast<unsigned char>(in_[i_]))) {
      if (in_[i_] != '\r' && !skip_space_) space_ = true;
      ++i_;
    }
  }

 private:
  // One character of text (or of a script) for the nocomment form.
  void Text(char c) {
    if (space_) nc_.push_back(' ');
    space_ = skip_space_ = false;
    nc_.push_back(Lower(static_cast<unsigned char>(c)));
  }
  void TextString(std::string_view s) {
    for (char c : s) {
      if (space_) nc_.push_back(' ');
      space_ = skip_space_ = false;
      nc_.push_back(c);
    }
  }
  void NotagsSpace() {
    if (nt_.empty() || nt_.back() != ' ') nt_.push_back(' ');
  }
  void NotagsChar(char c) { nt_.push_back(c); }

  void Reference() {
    std::string decoded;
    size_t len = 0;
    // The notags form has a space for a reference or anything like one.
    size_t j = i_ + 1;
    while (j < in_.size() && (std::isalnum(static_cast<unsigned char>(in_[j])) || in_[j] == '#' || in_[j] == ';')) ++j;
    NotagsSpace();
    if (!CharacterReference(in_, i_, &decoded, &len)) {
      for (; i_ < j; ++i_) Text(in_[i_]);
      return;
    }
    i_ += len;
    TextString(decoded);
  }

  // "<!...>": dropped up to the first '>'.
  void Comment() {
    size_t end = in_.find('>', i_);
    i_ = end == std::string_view::npos ? in_.size() : end + 1;
    NotagsSpace();
    // White space before a comment is written; white space after it is not.
    if (space_) nc_.push_back(' ');
    space_ = false;
    skip_space_ = true;
  }

  void SkipSpaces() {
    while (i_ < in_.size() && (IsSpace(static_cast<unsigned char>(in_[i_])) || in_[i_] == '\r')) ++i_;
  }

  // A tag from '<': its name, then attributes (name, optional '=' and value,
  // quoted or not), rewritten in one canonical form.
  void Tag() {
    ++i_;
    if (i_ < in_.size() && in_[i_] == '!') return Comment();
    SkipSpaces();
    std::string tag = "<";
    std::string name;
    while (i_ < in_.size() && in_[i_] != '>' && !IsSpace(static_cast<unsigned char>(in_[i_])) && in_[i_] != '\r') {
      if (in_[i_] != 0) name.push_back(Lower(static_cast<unsigned char>(in_[i_])));
      ++i_;
    }
    tag += name;
    std::string href;
    bool closed = false;
    bool no_space = false;  // after a data: URI clamscan writes the next attribute without a space
    bool spaced_value = false;
    while (i_ < in_.size()) {
      SkipSpaces();
      if (i_ >= in_.size()) break;
      if (in_[i_] == '>') {
        ++i_;
        closed = true;
        break;
      }
      bool had_space = i_ > 0 && IsCSpace(static_cast<unsigned char>(in_[i_ - 1]));
      std::string attr;
      while (i_ < in_.size() && in_[i_] != '>' && in_[i_] != '=' && !IsSpace(static_cast<unsigned char>(in_[i_])) &&
             in_[i_] != '\r') {
        if (in_[i_] != 0) attr.push_back(Lower(static_cast<unsigned char>(in_[i_])));
        ++i_;
      }
      // A '/' straight after a quoted value with white space in it stays
      // attached to it; after any other value it is an attribute of its own.
      if (!attr.empty() && !no_space && (had_space || attr[0] != '/' || !spaced_value)) tag.push_back(' ');
      spaced_value = false;
      no_space = false;
      tag += attr;
      SkipSpaces();
      if (i_ >= in_.size() || in_[i_] != '=') continue;
      ++i_;
      tag.push_back('=');
      SkipSpaces();
      if (i_ >= in_.size()) break;
      char quote = in_[i_] == '"' || in_[i_] == '\'' ? in_[i_] : 0;
      std::string raw;
      if (quote) {
        ++i_;
        size_t end = in_.find(quote, i_);
        if (end == std::string_view::npos) {
          raw = std::string(in_.substr(i_));
          i_ = in_.size();
          tag.push_back('"');
          tag += DecodeValue(raw, true);
          break;
        }
        raw = std::string(in_.substr(i_, end - i_));
        i_ = end + 1;
      } else {
        while (i_ < in_.size() && in_[i_] != '>' && !IsSpace(static_cast<unsigned char>(in_[i_])) && in_[i_] != '\r')
          raw.push_back(in_[i_++]);
      }
      // A quoted value of three words or more is written as it was, but
      // for case and white space: references stay, and a closing single
      // quote too.
      bool verbatim = quote && Gaps(raw) >= 2;
      std::string value = DecodeValue(raw, !verbatim);
      bool data_uri = StartsWithNoCase(value, "data:") && value.find(";base64,") != std::string::npos;
      if (data_uri) {
        value = "data";
        no_space = true;
      }
      if (quote) {
        tag += '"' + value + (verbatim ? quote : '"');
        spaced_value = value.find_first_of(" \t") != std::string::npos;
      } else {
        tag += value;
      }
      if (!data_uri && ((name == "a" && attr == "href") || (name == "img" && attr == "src"))) href = raw;
    }
    if (space_) nc_.push_back(' ');
    nc_ += tag;
    if (closed) nc_.push_back('>');
    space_ = false;
    skip_space_ = true;
    NotagsSpace();
    if (!href.empty()) {
      nt_ += href;
      NotagsSpace();
    }
    if (closed && (name == "script" || name == "style")) Script(name);
  }

  // The runs of white space between the words of a value.
  static int Gaps(std::string_view v) {
    int gaps = 0;
    bool word = false, space = false;
    for (char c : v) {
      if (c == ' ' || c == '\n' || c == '\r') {
        space = word;
      } else {
        if (space) ++gaps;
        space = false;
        word = true;
      }
    }
    return gaps;
  }

  // An attribute value: character references decoded, lower-cased.
  static std::string DecodeValue(std::string_view raw, bool references) {
    std::string v;
    std::string decoded;
    for (size_t k = 0; k < raw.size();) {
      size_t len = 0;
      if (references && raw[k] == '&' && CharacterReference(raw, k, &decoded, &len)) {
        v += decoded;
        k += len;
      } else if (raw[k] == '\r' || raw[k] == '\n' || raw[k] == ' ') {
        // Line breaks read as spaces; a run of them is one.
        if (v.empty() || v.back() != ' ') v.push_back(' ');
        ++k;
      } else {
        if (raw[k] != 0) v.push_back(Lower(static_cast<unsigned char>(raw[k])));
        ++k;
      }
    }
    return v;
  }

  // The content of a script or style element: white space dropped, single
  // quotes written as double ones, references decoded; up to "</script"
  // ("</style"), whose tag is then read as any other.
  void Script(const std::string& name) {
    std::string end = "</" + name;
    while (i_ < in_.size()) {
      if (in_[i_] == '<' && StartsWithNoCase(in_.substr(i_), end)) return;
      unsigned char c = static_cast<unsigned char>(in_[i_]);
      if (c == '&') {
        std::string decoded;
        size_t len = 0;
        if (CharacterReference(in_, i_, &decoded, &len)) {
          nc_ += decoded;
          i_ += len;
          continue;
        }
      }
      ++i_;
      if (IsSpace(c) || c == '\r' || c == 0) continue;
      nc_.push_back(c == '\'' ? '"' : Lower(c));
    }
  }

  std::string_view in_;
  std::string& nc_;
  std::string& nt_;
  size_t i_ = 0;
  bool space_ = false;      // white space to write before the next output
  bool skip_space_ = true;  // white space after a tag or comment (and at the start) is dropped
};

}  // namespace

bool ContainsHtmlMarker(std::string_view d) {
  if (d.starts_with("<%@ LANGUAGE ="sv)) return true;
  static constexpr std::string_view kTags[] = {
      "<HEAD>", "<HTML>", "<Head>", "<Html>", "<head>", "<html>", "<IFRAME", "<iframe", "<IMG", "<Img",
      "<img", "<OBJECT", "<Object", "<object", "<SCRIPT", "<Script", "<script", "<TABLE", "<table"};
  bool href_searched = false;
  for (size_t p = d.find('<'); p != std::string_view::npos; p = d.find('<', p + 1)) {
    std::string_view rest = d.substr(p);
    for (std::string_view t : kTags)
      if (rest.starts_with(t)) return true;
    if (!href_searched && rest.size() >= 3 && (rest[1] == 'a' || rest[1] == 'A') && rest[2] == ' ') {
      href_searched = true;
      // "<a " ... then h/H r/R and "EF" or "ef", anywhere after.
      for (size_t q = p + 3; q + 4 <= d.size(); ++q) {
        q = d.find_first_of("hH", q);
        if (q == std::string_view::npos || q + 4 > d.size()) break;
        char r = d[q + 1];
        if ((r == 'r' || r == 'R') && ((d[q + 2] == 'E' && d[q + 3] == 'F') || (d[q + 2] == 'e' && d[q + 3] == 'f')))
          return true;
      }
      // No href after this "<a ": none after a later one either.
    }
  }
  return false;
}

void NormalizeHtml(std::string_view in, NormalizedHtml* out) {
  std::string seen = AsChunked(in);
  Normalizer(seen, out).Run();
}

}  // namespace vigil::match
