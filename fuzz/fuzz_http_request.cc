// libFuzzer target: vigil-server's HTTP/1.1 request parser
// (lib/update/http_wire.h). Any input is a request, an error or a need for
// more bytes, never a crash; and the answer for a complete request does not
// depend on what follows it, nor on how its bytes arrived.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "update/http_wire.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::update;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  HttpLimits limits;
  limits.max_header_bytes = 2048;  // small limits reach the limit paths
  limits.max_body_bytes = 4096;
  ParsedRequest req;
  ParseResult r = ParseHttpRequest(in, limits, &req);
  switch (r.outcome) {
    case ParseOutcome::kIncomplete:
      if (r.need <= size) std::abort();
      break;
    case ParseOutcome::kError:
      if (r.status < 400 || r.status > 599) std::abort();
      break;
    case ParseOutcome::kComplete: {
      if (r.consumed == 0 || r.consumed > size) std::abort();
      if (req.body.size() > limits.max_body_bytes) std::abort();
      if (req.path.empty() || req.path[0] != '/') std::abort();
      // The request alone parses the same.
      ParsedRequest alone;
      ParseResult again = ParseHttpRequest(in.substr(0, r.consumed), limits, &alone);
      if (again.outcome != ParseOutcome::kComplete || again.consumed != r.consumed || alone.body != req.body ||
          alone.path != req.path || alone.headers != req.headers)
        std::abort();
      // Any shorter prefix is not yet a request.
      for (size_t cut : {r.consumed - 1, r.consumed / 2}) {
        ParsedRequest part;
        ParseResult p = ParseHttpRequest(in.substr(0, cut), limits, &part);
        if (p.outcome == ParseOutcome::kComplete) std::abort();
        if (p.outcome == ParseOutcome::kIncomplete && p.need > r.consumed) std::abort();
      }
      break;
    }
  }
  return 0;
}
