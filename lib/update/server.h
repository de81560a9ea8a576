// vigil-server's HTTP side: a small event-driven HTTP/1.1 server
// (HttpService) and the update repository's endpoints on it (RepoService).
//
// Every request goes through the same steps: route (method + path pattern,
// which names the Endpoint) -> gate -> handler. The gate is where a policy
// decides per endpoint and per request (issue 7: jurisdiction rules answer
// HTTP 451 there); handlers never see a request the gate refused.
//
// Every URL of RepoService is also a static file of the repository
// (repo.h), so any web server can mirror the repository; RepoService adds
// proofs for tree sizes the static files do not cover.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "update/log_store.h"
#include "vigil/status.h"

namespace vigil::update {

// What a request asks for, so that a gate can decide per endpoint.
enum class Endpoint {
  kCheckpoint,        // log/checkpoint, log/checkpoints/<N>
  kLogEntry,          // log/entries/<i>
  kInclusionProof,
  kConsistencyProof,
  kChannelManifest,   // the latest release of a channel: the "is there an update" check
  kReleaseManifest,
  kBundle,
  kDelta,
  kOther,             // endpoints added by later layers (activation, check-ins)
};
const char* EndpointName(Endpoint e);

struct HttpRequest {
  std::string method;
  std::string path;                  // without the query string
  std::vector<std::string> params;   // the route pattern's capture groups
  std::map<std::string, std::string> query;
  std::multimap<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string remote_addr;
  int remote_port = 0;
  // The first value of a header (name in any case), or "".
  std::string Header(const std::string& name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
  std::string file;  // when set, the body is this file's content, streamed
  std::vector<std::pair<std::string, std::string>> headers;

  static HttpResponse Text(int status, std::string body);
  static HttpResponse Json(int status, std::string body);
  static HttpResponse NotFound() { return Text(404, "not found\n"); }
};

using Handler = std::function<HttpResponse(const HttpRequest&)>;
// Returns a response to send instead of running the handler, or nullopt to
// let the request through. Called concurrently from the server's threads.
using RequestGate = std::function<std::optional<HttpResponse>(const HttpRequest&, Endpoint)>;

class HttpService {
 public:
  HttpService();
  ~HttpService();
  HttpService(const HttpService&) = delete;
  HttpService& operator=(const HttpService&) = delete;

  // `pattern` is a regular expression matched against the whole path.
  void Route(const std::string& method, const std::string& pattern, Endpoint endpoint, Handler handler);
  void SetGate(RequestGate gate);
  // Limits each response body to `bytes_per_second` (0: no limit). For
  // demonstrations and tests of slow and interrupted downloads.
  void SetMaxRate(uint64_t bytes_per_second);
  // Requests handled at once (default 64): handlers may wait on a group
  // commit, so more threads than cores keeps the cores busy.
  void SetThreads(size_t n);
  // Binds "HOST:PORT" ("[::1]:PORT" for IPv6; port 0 picks a free one) and
  // returns the bound port.
  Result<int> Bind(const std::string& listen);
  Status Run();  // serves until Stop()
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class RepoService {
 public:
  static Result<std::unique_ptr<RepoService>> Open(const std::string& repo);
  void Register(HttpService& service);

 private:
  explicit RepoService(std::string repo) : repo_(std::move(repo)) {}
  HttpResponse StaticFile(const std::string& rel, const std::string& content_type) const;
  HttpResponse InclusionProof(const HttpRequest& r);
  HttpResponse ConsistencyProof(const HttpRequest& r);
  std::string repo_;
  std::mutex mu_;
  std::unique_ptr<LogStore> log_;  // guarded by mu_
};

}  // namespace vigil::update
