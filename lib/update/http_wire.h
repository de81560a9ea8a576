// HTTP/1.1 request parsing for vigil-server's own event-driven server
// (server.cc). Pure functions over a byte buffer, so that the parser can be
// fuzzed (fuzz/fuzz_http_request.cc) and tested without sockets.
//
// Follows RFC 9112 and takes the strict reading wherever a lax one would let
// two parsers disagree about where a request ends (request smuggling): a
// request with both Content-Length and Transfer-Encoding, with two different
// Content-Length values, with a transfer coding other than "chunked", with
// obsolete header line folding, or with a bare LF inside the header block is
// refused with 400; a request line longer than the header limit gets 414, a
// header block over the limit 431, a body over the limit 413.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vigil::update {

struct HttpLimits {
  size_t max_header_bytes = 16 << 10;  // request line + header fields
  size_t max_body_bytes = 1 << 20;     // after chunked decoding
};

struct ParsedRequest {
  std::string method;
  std::string target;  // the request target as sent (origin form: /path?query)
  std::string path;    // percent-decoded path, without the query
  std::map<std::string, std::string> query;  // decoded; the first of repeated names
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case, values trimmed
  std::string body;    // chunked bodies are decoded
  int version_minor = 1;  // HTTP/1.x
  bool keep_alive = true;
  bool expect_continue = false;  // "Expect: 100-continue"
};

enum class ParseOutcome {
  kIncomplete,  // need more bytes (nothing is consumed)
  kComplete,    // a whole request: `consumed` bytes of the buffer
  kError,       // refuse with `status` and close the connection
};

struct ParseResult {
  ParseOutcome outcome = ParseOutcome::kIncomplete;
  size_t consumed = 0;
  int status = 0;       // kError: 400, 413, 414, 431, 501 or 505
  std::string reason;   // kError: what was wrong, for the response body
  // kIncomplete: the buffer size at which parsing again can make progress
  // (a caller may wait for that much before calling again), and whether the
  // header block is complete (then out->expect_continue is set: the client
  // waits for "100 Continue" before sending the body).
  size_t need = 0;
  bool head_complete = false;
};

// Parses one request from the start of `in`. A caller reading from a socket
// appends what it receives and calls again until the outcome is not
// kIncomplete; pipelined requests follow at in.substr(consumed).
// A Content-Length over the body limit is refused (413) as soon as the
// header block is in, before the body is read.
ParseResult ParseHttpRequest(std::string_view in, const HttpLimits& limits, ParsedRequest* out);

// Percent-decoding ('+' is a space when `plus_is_space`). False on a bad
// escape or an encoded NUL.
bool PercentDecode(std::string_view in, bool plus_is_space, std::string* out);

// The reason phrase of a status code ("OK", "Not Found", ...).
const char* HttpReason(int status);

}  // namespace vigil::update
