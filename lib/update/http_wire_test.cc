#include "update/http_wire.h"

#include <gtest/gtest.h>

#include <string>

namespace vigil::update {
namespace {

ParseResult Parse(const std::string& in, ParsedRequest* req, HttpLimits limits = {}) {
  return ParseHttpRequest(in, limits, req);
}

int ErrorStatus(const std::string& in, HttpLimits limits = {}) {
  ParsedRequest req;
  ParseResult r = Parse(in, &req, limits);
  return r.outcome == ParseOutcome::kError ? r.status : 0;
}

TEST(HttpWire, ParsesAGetWithHeadersAndQuery) {
  const std::string in =
      "GET /channels/st%61ble/manifest?a=1&b=x+y%21&a=2&flag HTTP/1.1\r\n"
      "Host: example\r\nVigil-License:   KEY-0001 \r\nX-Empty:\r\n\r\n";
  ParsedRequest req;
  ParseResult r = Parse(in, &req);
  ASSERT_EQ(r.outcome, ParseOutcome::kComplete);
  EXPECT_EQ(r.consumed, in.size());
  EXPECT_EQ(req.method, "GET");
  EXPECT_EQ(req.path, "/channels/stable/manifest");
  EXPECT_EQ(req.query.at("a"), "1");  // the first of repeated names
  EXPECT_EQ(req.query.at("b"), "x y!");
  EXPECT_EQ(req.query.at("flag"), "");
  ASSERT_EQ(req.headers.size(), 3u);
  EXPECT_EQ(req.headers[1].first, "vigil-license");
  EXPECT_EQ(req.headers[1].second, "KEY-0001");
  EXPECT_EQ(req.headers[2].second, "");
  EXPECT_TRUE(req.keep_alive);
  EXPECT_TRUE(req.body.empty());
}

TEST(HttpWire, EveryPrefixIsIncompleteAndNeedsMore) {
  const std::string in = "POST /v1/checkin HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
  for (size_t n = 0; n < in.size(); ++n) {
    ParsedRequest req;
    ParseResult r = Parse(in.substr(0, n), &req);
    ASSERT_EQ(r.outcome, ParseOutcome::kIncomplete) << n;
    EXPECT_GT(r.need, n);
    EXPECT_LE(r.need, in.size());
  }
  ParsedRequest req;
  ASSERT_EQ(Parse(in, &req).outcome, ParseOutcome::kComplete);
  EXPECT_EQ(req.body, "hello");
}

TEST(HttpWire, PipelinedRequestsAreConsumedOneAtATime) {
  const std::string a = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n";
  const std::string b = "POST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nConnection: close\r\n\r\nxyz";
  const std::string in = a + b;
  ParsedRequest req;
  ParseResult r = Parse(in, &req);
  ASSERT_EQ(r.outcome, ParseOutcome::kComplete);
  EXPECT_EQ(r.consumed, a.size());
  EXPECT_EQ(req.path, "/a");
  r = ParseHttpRequest(std::string_view(in).substr(a.size()), {}, &req);
  ASSERT_EQ(r.outcome, ParseOutcome::kComplete);
  EXPECT_EQ(req.path, "/b");
  EXPECT_EQ(req.body, "xyz");
  EXPECT_FALSE(req.keep_alive);
}

TEST(HttpWire, DecodesChunkedBodiesWithExtensionsAndTrailers) {
  const std::string in =
      "POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;name=value\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\nNEXT";
  ParsedRequest req;
  ParseResult r = Parse(in, &req);
  ASSERT_EQ(r.outcome, ParseOutcome::kComplete);
  EXPECT_EQ(req.body, "hello 0123456789");
  EXPECT_EQ(in.substr(r.consumed), "NEXT");
  for (size_t n = 0; n < in.size() - 4; ++n)
    ASSERT_EQ(Parse(in.substr(0, n), &req).outcome, ParseOutcome::kIncomplete) << n;
}

TEST(HttpWire, HttpOneZeroClosesUnlessKeepAliveIsAsked) {
  ParsedRequest req;
  ASSERT_EQ(Parse("GET / HTTP/1.0\r\n\r\n", &req).outcome, ParseOutcome::kComplete);
  EXPECT_FALSE(req.keep_alive);
  ASSERT_EQ(Parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &req).outcome, ParseOutcome::kComplete);
  EXPECT_TRUE(req.keep_alive);
  ASSERT_EQ(Parse("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n", &req).outcome, ParseOutcome::kComplete);
  EXPECT_FALSE(req.keep_alive);
}

TEST(HttpWire, AbsoluteFormAndLeadingEmptyLines) {
  ParsedRequest req;
  ParseResult r = Parse("\r\n\r\nGET http://example.org/log/checkpoint?x=1 HTTP/1.1\r\n\r\n", &req);
  ASSERT_EQ(r.outcome, ParseOutcome::kComplete);
  EXPECT_EQ(req.path, "/log/checkpoint");
  EXPECT_EQ(req.query.at("x"), "1");
  ASSERT_EQ(Parse("GET HTTP://example.org HTTP/1.1\r\n\r\n", &req).outcome, ParseOutcome::kComplete);
  EXPECT_EQ(req.path, "/");
}

TEST(HttpWire, ExpectContinueIsReportedOnceTheHeadIsIn) {
  ParsedRequest req;
  ParseResult r = Parse("POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n", &req);
  ASSERT_EQ(r.outcome, ParseOutcome::kIncomplete);
  EXPECT_TRUE(r.head_complete);
  EXPECT_TRUE(req.expect_continue);
  r = Parse("POST /x HTTP/1.1\r\nExpect: 100-continue\r\nContent-Le", &req);
  ASSERT_EQ(r.outcome, ParseOutcome::kIncomplete);
  EXPECT_FALSE(r.head_complete);
  EXPECT_FALSE(req.expect_continue);
}

// Framing ambiguities a proxy and this server could read differently.
TEST(HttpWire, RefusesAmbiguousFraming) {
  EXPECT_EQ(ErrorStatus("POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
  EXPECT_EQ(ErrorStatus("POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"), 400);
  EXPECT_EQ(ErrorStatus("POST / HTTP/1.1\r\nContent-Length: 3, 4\r\n\r\nabcd"), 400);
  EXPECT_EQ(ErrorStatus("POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc"), 400);
  EXPECT_EQ(ErrorStatus("POST / HTTP/1.1\r\nContent-Length: 0x3\r\n\r\nabc"), 400);
  EXPECT_EQ(ErrorStatus("POST / HTTP/1.1\r\nContent-Length:\r\n\r\n"), 400);
  EXPECT_EQ(ErrorStatus("POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"), 501);
  EXPECT_EQ(ErrorStatus("POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n"), 501);
  EXPECT_EQ(ErrorStatus("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 400);
  EXPECT_EQ(ErrorStatus("GET / HTTP/1.1\nHost: h\n\n"), 400);                  // bare LF
  EXPECT_EQ(ErrorStatus("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n"), 400);      // bare CR
  EXPECT_EQ(ErrorStatus("GET / HTTP/1.1\r\nX: a\r\n  folded\r\n\r\n"), 400);   // obs-fold
  EXPECT_EQ(ErrorStatus("GET / HTTP/1.1\r\nX : a\r\n\r\n"), 400);              // space before colon
  EXPECT_EQ(ErrorStatus("GET / HTTP/1.1\r\nNoColon\r\n\r\n"), 400);
  EXPECT_EQ(ErrorStatus("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"), 400);
  EXPECT_EQ(ErrorStatus("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n"), 400);
  EXPECT_EQ(ErrorStatus("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1234567890abcdef0\r\n"), 400);
  // Two identical lengths say the same thing.
  ParsedRequest req;
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nContent-Length: 3\r\ncontent-length: 3\r\n\r\nabc", &req).outcome,
            ParseOutcome::kComplete);
  EXPECT_EQ(req.body, "abc");
}

TEST(HttpWire, RefusesMalformedRequestLines) {
  EXPECT_EQ(ErrorStatus("GET /\r\n\r\n"), 400);
  EXPECT_EQ(ErrorStatus("GET  / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorStatus("GET / HTTP/1.1 x\r\n\r\n"), 400);
  EXPECT_EQ(ErrorStatus("G(T / HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorStatus("GET relative HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorStatus("GET * HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorStatus("GET /\x7f HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorStatus("GET /a%zz HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorStatus("GET /a%00b HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorStatus("GET /a%4 HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorStatus("GET /?q=%G0 HTTP/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorStatus("GET / HTTP/1.x\r\n\r\n"), 400);
  EXPECT_EQ(ErrorStatus("GET / HTTPS/1.1\r\n\r\n"), 400);
  EXPECT_EQ(ErrorStatus("GET / HTTP/2.0\r\n\r\n"), 505);
  EXPECT_EQ(ErrorStatus("GET / HTTP/1.1\r\nX: a\x01z\r\n\r\n"), 400);
}

TEST(HttpWire, EnforcesTheLimits) {
  HttpLimits small;
  small.max_header_bytes = 100;
  small.max_body_bytes = 10;
  EXPECT_EQ(ErrorStatus("GET /" + std::string(200, 'a'), small), 414);
  EXPECT_EQ(ErrorStatus("GET / HTTP/1.1\r\nX: " + std::string(200, 'a'), small), 431);
  EXPECT_EQ(ErrorStatus("GET / HTTP/1.1\r\nX: " + std::string(200, 'a') + "\r\n\r\n", small), 431);
  // An oversized Content-Length is refused before the body is read.
  EXPECT_EQ(ErrorStatus("POST / HTTP/1.1\r\nContent-Length: 11\r\n\r\n", small), 413);
  EXPECT_EQ(ErrorStatus("POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", small), 400);
  EXPECT_EQ(ErrorStatus("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n5\r\nghijk\r\n", small),
            413);
  EXPECT_EQ(ErrorStatus("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: " + std::string(200, 'a'),
                        small),
            431);
  ParsedRequest req;
  ASSERT_EQ(Parse("POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\n0123456789", &req, small).outcome,
            ParseOutcome::kComplete);
  // Just under the header limit is fine.
  std::string head = "GET / HTTP/1.1\r\nX: ";
  head += std::string(small.max_header_bytes - head.size(), 'a');
  ASSERT_EQ(Parse(head + "\r\n\r\n", &req, small).outcome, ParseOutcome::kComplete);
}

TEST(HttpWire, PercentDecodeAndReasons) {
  std::string out;
  ASSERT_TRUE(PercentDecode("a%20b+c%2B", false, &out));
  EXPECT_EQ(out, "a b+c+");
  ASSERT_TRUE(PercentDecode("a%20b+c", true, &out));
  EXPECT_EQ(out, "a b c");
  EXPECT_FALSE(PercentDecode("%", false, &out));
  EXPECT_FALSE(PercentDecode("%a", false, &out));
  EXPECT_STREQ(HttpReason(451), "Unavailable For Legal Reasons");
  EXPECT_STREQ(HttpReason(413), "Content Too Large");
}

}  // namespace
}  // namespace vigil::update
