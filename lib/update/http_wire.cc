#include "update/http_wire.h"

#include <algorithm>
#include <cstdint>

namespace vigil::update {
namespace {

bool IsTchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-': case '.':
    case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

bool IsToken(std::string_view s) {
  if (s.empty()) return false;
  for (unsigned char c : s)
    if (!IsTchar(c)) return false;
  return true;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (Lower(a[i]) != Lower(b[i])) return false;
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Calls f on each trimmed, non-empty element of a comma-separated list.
template <typename F>
void ForEachListItem(std::string_view v, F f) {
  while (true) {
    size_t comma = v.find(',');
    std::string_view item = Trim(v.substr(0, comma));
    if (!item.empty()) f(item);
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

ParseResult Error(int status, std::string reason) {
  ParseResult r;
  r.outcome = ParseOutcome::kError;
  r.status = status;
  r.reason = std::move(reason);
  return r;
}

ParseResult Incomplete(size_t need, bool head_complete) {
  ParseResult r;
  r.need = need;
  r.head_complete = head_complete;
  return r;
}

// Decodes a chunked body starting at in[pos]. On success sets *end to the
// offset after the trailer section.
ParseResult DecodeChunked(std::string_view in, size_t pos, const HttpLimits& limits, std::string* body,
                          size_t* end) {
  body->clear();
  while (true) {
    // chunk-size [ chunk-ext ] CRLF
    size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      if (in.size() - pos > 1024) return Error(400, "chunk size line too long");
      return Incomplete(in.size() + 1, true);
    }
    std::string_view line = in.substr(pos, eol - pos);
    if (line.size() > 1024) return Error(400, "chunk size line too long");
    uint64_t size = 0;
    size_t digits = 0;
    while (digits < line.size() && HexValue(line[digits]) >= 0) {
      if (digits == 15) return Error(400, "chunk size too large");
      size = size * 16 + static_cast<uint64_t>(HexValue(line[digits]));
      ++digits;
    }
    if (digits == 0) return Error(400, "bad chunk size");
    std::string_view ext = line.substr(digits);
    // Extensions are ignored, but must not smuggle line breaks or controls.
    for (unsigned char c : ext)
      if ((c < 0x20 && c != '\t') || c == 0x7f) return Error(400, "bad chunk extension");
    std::string_view trimmed = Trim(ext);
    if (!trimmed.empty() && trimmed.front() != ';') return Error(400, "bad chunk size");
    pos = eol + 2;
    if (size == 0) break;
    if (size > limits.max_body_bytes || body->size() + size > limits.max_body_bytes)
      return Error(413, "request body larger than " + std::to_string(limits.max_body_bytes) + " bytes");
    if (in.size() - pos < size + 2) return Incomplete(pos + size + 2, true);
    if (in.substr(pos + size, 2) != "\r\n") return Error(400, "chunk data not followed by CRLF");
    body->append(in.substr(pos, size));
    pos += size + 2;
  }
  // trailer-section CRLF: fields are read past, not kept.
  size_t trailer_start = pos;
  while (true) {
    size_t eol = in.find("\r\n", pos);
    if (eol == std::string_view::npos) {
      if (in.size() - trailer_start > limits.max_header_bytes) return Error(431, "trailer section too large");
      return Incomplete(in.size() + 1, true);
    }
    std::string_view line = in.substr(pos, eol - pos);
    pos = eol + 2;
    if (line.empty()) break;
    if (pos - trailer_start > limits.max_header_bytes) return Error(431, "trailer section too large");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !IsToken(line.substr(0, colon))) return Error(400, "bad trailer field");
    for (unsigned char c : line)
      if ((c < 0x20 && c != '\t') || c == 0x7f) return Error(400, "bad trailer field");
  }
  *end = pos;
  ParseResult r;
  r.outcome = ParseOutcome::kComplete;
  r.consumed = pos;
  r.head_complete = true;
  return r;
}

}  // namespace

bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      char d = static_cast<char>(hi * 16 + lo);
      if (d == '\0') return false;
      out->push_back(d);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

ParseResult ParseHttpRequest(std::string_view in, const HttpLimits& limits, ParsedRequest* out) {
  out->expect_continue = false;
  // RFC 9112 2.2: a server should ignore empty lines before the request line.
  size_t start = 0;
  while (in.size() - start >= 2 && in[start] == '\r' && in[start + 1] == '\n' && start < 64) start += 2;

  // The header block ends at the first empty line. Every line ends in CRLF:
  // a bare LF or CR is refused rather than guessed at.
  size_t head_end = std::string_view::npos;  // offset of the CRLFCRLF
  size_t first_eol = std::string_view::npos;
  const size_t scan_limit = std::min(in.size(), start + limits.max_header_bytes + 4);
  for (size_t i = start; i < scan_limit; ++i) {
    const char c = in[i];
    if (c == '\r') {
      if (i + 1 < in.size() && in[i + 1] != '\n') return Error(400, "bare CR in the request head");
    } else if (c == '\n') {
      if (i == start || in[i - 1] != '\r') return Error(400, "bare LF in the request head");
      if (first_eol == std::string_view::npos) first_eol = i - 1;
      if (i >= start + 3 && in[i - 3] == '\r' && in[i - 2] == '\n') {
        head_end = i - 3;
        break;
      }
    }
  }
  if (head_end == std::string_view::npos) {
    if (in.size() - start > limits.max_header_bytes) {
      if (first_eol == std::string_view::npos) return Error(414, "request line too long");
      return Error(431, "request header fields too large");
    }
    return Incomplete(in.size() + 1, false);
  }
  const size_t body_start = head_end + 4;
  std::string_view head = in.substr(start, head_end - start);

  // request-line = method SP request-target SP HTTP-version
  size_t eol = head.find("\r\n");
  std::string_view line = head.substr(0, eol);
  head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
  size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return Error(400, "malformed request line");
  size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return Error(400, "malformed request line");
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!IsToken(method)) return Error(400, "malformed method");
  if (target.empty()) return Error(400, "empty request target");
  for (unsigned char c : target)
    if (c <= 0x20 || c >= 0x7f) return Error(400, "malformed request target");
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || version[6] != '.' ||
      !(version[5] >= '0' && version[5] <= '9') || !(version[7] >= '0' && version[7] <= '9'))
    return Error(400, "malformed HTTP version");
  if (version[5] != '1') return Error(505, "only HTTP/1.0 and HTTP/1.1 are served");
  ParsedRequest req;
  req.method = std::string(method);
  req.target = std::string(target);
  req.version_minor = version[7] - '0';
  req.keep_alive = req.version_minor >= 1;

  // Absolute form (RFC 9112 3.2.2): the authority is ignored, the path kept.
  std::string_view origin = target;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (origin.size() >= scheme.size() && EqualsNoCase(origin.substr(0, scheme.size()), scheme)) {
      size_t slash = origin.find('/', scheme.size());
      origin = slash == std::string_view::npos ? std::string_view("/") : origin.substr(slash);
      break;
    }
  }
  if (origin.front() != '/') return Error(400, "request target must be an absolute path");
  size_t qmark = origin.find('?');
  if (!PercentDecode(origin.substr(0, qmark), false, &req.path)) return Error(400, "bad percent-encoding in path");
  if (qmark != std::string_view::npos) {
    std::string_view q = origin.substr(qmark + 1);
    while (!q.empty()) {
      size_t amp = q.find('&');
      std::string_view pair = q.substr(0, amp);
      q = amp == std::string_view::npos ? std::string_view() : q.substr(amp + 1);
      if (pair.empty()) continue;
      size_t eq = pair.find('=');
      std::string k, v;
      if (!PercentDecode(pair.substr(0, eq), true, &k) ||
          (eq != std::string_view::npos && !PercentDecode(pair.substr(eq + 1), true, &v)))
        return Error(400, "bad percent-encoding in query");
      req.query.emplace(std::move(k), std::move(v));
    }
  }

  // field-line = field-name ":" OWS field-value OWS
  bool has_length = false, chunked = false, has_te = false;
  uint64_t length = 0;
  while (!head.empty()) {
    eol = head.find("\r\n");
    line = head.substr(0, eol);
    head = eol == std::string_view::npos ? std::string_view() : head.substr(eol + 2);
    if (line.front() == ' ' || line.front() == '\t') return Error(400, "obsolete header line folding");
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) return Error(400, "header line without a colon");
    std::string_view name = line.substr(0, colon);
    if (!IsToken(name)) return Error(400, "malformed header name");
    std::string_view value = Trim(line.substr(colon + 1));
    for (unsigned char c : value)
      if ((c < 0x20 && c != '\t') || c == 0x7f) return Error(400, "control character in a header value");
    std::string lname(name);
    for (char& c : lname) c = Lower(c);
    if (lname == "content-length") {
      bool bad = false;
      size_t items = 0;
      ForEachListItem(value, [&](std::string_view item) {
        ++items;
        uint64_t n = 0;
        if (item.size() > 18) bad = true;
        for (char c : item) {
          if (c < '0' || c > '9') bad = true;
          else n = n * 10 + static_cast<uint64_t>(c - '0');
        }
        if (bad) return;
        if (has_length && n != length) bad = true;
        has_length = true;
        length = n;
      });
      if (bad || items == 0) return Error(400, "bad Content-Length");
    } else if (lname == "transfer-encoding") {
      has_te = true;
      bool other = false;
      ForEachListItem(value, [&](std::string_view item) {
        if (EqualsNoCase(item, "chunked") && !chunked) chunked = true;
        else other = true;
      });
      if (other) return Error(501, "only the chunked transfer coding is accepted");
    } else if (lname == "connection") {
      ForEachListItem(value, [&](std::string_view item) {
        if (EqualsNoCase(item, "close")) req.keep_alive = false;
        else if (EqualsNoCase(item, "keep-alive") && req.version_minor == 0) req.keep_alive = true;
      });
    } else if (lname == "expect") {
      if (EqualsNoCase(value, "100-continue")) req.expect_continue = true;
    }
    req.headers.emplace_back(std::move(lname), std::string(value));
  }
  if (has_te) {
    if (has_length) return Error(400, "both Content-Length and Transfer-Encoding");
    if (req.version_minor == 0) return Error(400, "Transfer-Encoding in an HTTP/1.0 request");
    if (!chunked) return Error(400, "bad Transfer-Encoding");
  }
  if (has_length && length > limits.max_body_bytes)
    return Error(413, "request body larger than " + std::to_string(limits.max_body_bytes) + " bytes");

  ParseResult r;
  r.head_complete = true;
  if (chunked) {
    size_t end = 0;
    r = DecodeChunked(in, body_start, limits, &req.body, &end);
    if (r.outcome != ParseOutcome::kComplete) {
      if (r.outcome == ParseOutcome::kIncomplete) out->expect_continue = req.expect_continue;
      return r;
    }
  } else {
    if (in.size() - body_start < length) {
      out->expect_continue = req.expect_continue;
      return Incomplete(body_start + static_cast<size_t>(length), true);
    }
    req.body = std::string(in.substr(body_start, static_cast<size_t>(length)));
    r.outcome = ParseOutcome::kComplete;
    r.consumed = body_start + static_cast<size_t>(length);
  }
  *out = std::move(req);
  return r;
}

const char* HttpReason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default: return status < 300 ? "OK" : status < 400 ? "Redirect" : status < 500 ? "Client Error" : "Server Error";
  }
}

}  // namespace vigil::update
