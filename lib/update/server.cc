#include "update/server.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <thread>

// A backlog of 5 (the library's default) drops connections under load.
#define CPPHTTPLIB_LISTEN_BACKLOG 1024
#include <httplib.h>

#include "update/merkle.h"
#include "update/repo.h"
#include "update/util.h"

namespace vigil::update {

const char* EndpointName(Endpoint e) {
  switch (e) {
    case Endpoint::kCheckpoint: return "checkpoint";
    case Endpoint::kLogEntry: return "log-entry";
    case Endpoint::kInclusionProof: return "inclusion-proof";
    case Endpoint::kConsistencyProof: return "consistency-proof";
    case Endpoint::kChannelManifest: return "channel-manifest";
    case Endpoint::kReleaseManifest: return "release-manifest";
    case Endpoint::kBundle: return "bundle";
    case Endpoint::kDelta: return "delta";
    case Endpoint::kOther: return "other";
  }
  return "other";
}

std::string HttpRequest::Header(const std::string& name) const {
  std::string key = name;
  std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
  auto it = headers.find(key);
  return it == headers.end() ? std::string() : it->second;
}

HttpResponse HttpResponse::Text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse HttpResponse::Json(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = std::move(body);
  return r;
}

struct HttpService::Impl {
  httplib::Server server;
  std::mutex mu;
  RequestGate gate;  // guarded by mu (read under lock, called outside)
  uint64_t max_rate = 0;

  void Send(const HttpResponse& in, httplib::Response& out) {
    out.status = in.status;
    for (const auto& [k, v] : in.headers) out.set_header(k, v);
    if (in.file.empty()) {
      out.set_content(in.body, in.content_type);
      return;
    }
    int fd = open(in.file.c_str(), O_RDONLY | O_CLOEXEC);
    struct stat st {};
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      if (fd >= 0) close(fd);
      out.status = 404;
      out.set_content("not found\n", "text/plain; charset=utf-8");
      return;
    }
    uint64_t rate = max_rate;
    auto holder = std::make_shared<int>(fd);
    out.set_content_provider(
        static_cast<size_t>(st.st_size), in.content_type,
        [holder, rate](size_t offset, size_t length, httplib::DataSink& sink) {
          char buf[1 << 16];
          size_t want = std::min(length, sizeof buf);
          if (rate) want = std::min<size_t>(want, std::max<uint64_t>(1, rate / 10));
          ssize_t n = pread(*holder, buf, want, static_cast<off_t>(offset));
          if (n <= 0) return false;
          if (rate)
            std::this_thread::sleep_for(std::chrono::microseconds(static_cast<uint64_t>(n) * 1000000 / rate));
          return sink.write(buf, static_cast<size_t>(n));
        },
        [holder](bool) { close(*holder); });
  }
};

HttpService::HttpService() : impl_(std::make_unique<Impl>()) {
  impl_->server.set_payload_max_length(1 << 20);
  impl_->server.set_read_timeout(10, 0);
  impl_->server.set_write_timeout(30, 0);
  // Headers and body go out in separate writes: without TCP_NODELAY, Nagle's
  // algorithm and the client's delayed ACK hold every keep-alive response
  // for tens of milliseconds.
  impl_->server.set_tcp_nodelay(true);
  impl_->server.set_keep_alive_max_count(1000);
  SetThreads(64);
}

HttpService::~HttpService() = default;

void HttpService::SetGate(RequestGate gate) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->gate = std::move(gate);
}

void HttpService::SetMaxRate(uint64_t bytes_per_second) { impl_->max_rate = bytes_per_second; }

void HttpService::SetThreads(size_t n) {
  n = std::max<size_t>(1, n);
  impl_->server.new_task_queue = [n] { return new httplib::ThreadPool(n); };
}

void HttpService::Route(const std::string& method, const std::string& pattern, Endpoint endpoint,
                        Handler handler) {
  Impl* impl = impl_.get();
  auto wrapped = [impl, endpoint, handler = std::move(handler)](const httplib::Request& req,
                                                                  httplib::Response& res) {
    HttpRequest r;
    r.method = req.method;
    r.path = req.path;
    for (size_t i = 1; i < req.matches.size(); ++i) r.params.push_back(req.matches[i]);
    for (const auto& [k, v] : req.params) r.query.emplace(k, v);
    for (const auto& [k, v] : req.headers) {
      std::string key = k;
      std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
      r.headers.emplace(key, v);
    }
    r.body = req.body;
    r.remote_addr = req.remote_addr;
    r.remote_port = req.remote_port;
    RequestGate gate;
    {
      std::lock_guard<std::mutex> l(impl->mu);
      gate = impl->gate;
    }
    if (gate) {
      if (auto refused = gate(r, endpoint)) {
        impl->Send(*refused, res);
        return;
      }
    }
    impl->Send(handler(r), res);
  };
  if (method == "GET") impl_->server.Get(pattern, wrapped);
  else if (method == "POST") impl_->server.Post(pattern, wrapped);
  else if (method == "PUT") impl_->server.Put(pattern, wrapped);
  else if (method == "DELETE") impl_->server.Delete(pattern, wrapped);
}

Result<int> HttpService::Bind(const std::string& listen) {
  size_t colon = listen.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("listen address must be HOST:PORT");
  std::string host = listen.substr(0, colon);
  uint64_t port;
  if (!ParseU64(listen.substr(colon + 1), &port) || port > 65535)
    return Status::InvalidArgument("bad port in '" + listen + "'");
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) return Status::InvalidArgument("listen address needs a host");
  int bound;
  if (port == 0) {
    bound = impl_->server.bind_to_any_port(host);
  } else {
    bound = impl_->server.bind_to_port(host, static_cast<int>(port)) ? static_cast<int>(port) : -1;
  }
  if (bound < 0) return Status::IoError("cannot listen on " + listen);
  return bound;
}

Status HttpService::Run() {
  if (!impl_->server.listen_after_bind()) return Status::IoError("server stopped with an error");
  return Status::Ok();
}

void HttpService::Stop() { impl_->server.stop(); }

Result<std::unique_ptr<RepoService>> RepoService::Open(const std::string& repo) {
  auto log = LogStore::Open(repo, /*create=*/false);
  if (!log.ok()) return Status::NotFound("not an update repository (" + log.status().message() + ")");
  std::unique_ptr<RepoService> s(new RepoService(repo));
  s->log_ = std::move(log.value());
  return s;
}

HttpResponse RepoService::StaticFile(const std::string& rel, const std::string& content_type) const {
  HttpResponse r;
  r.file = repo_ + "/" + rel;
  r.content_type = content_type;
  // Immutable artifacts may be cached for long; pointers must be revalidated.
  bool pointer = rel == paths::Checkpoint() || rel.rfind("channels/", 0) == 0;
  r.headers.emplace_back("Cache-Control", pointer ? "no-cache" : "public, max-age=31536000, immutable");
  return r;
}

HttpResponse RepoService::InclusionProof(const HttpRequest& req) {
  std::string rel = "log/proof/inclusion/" + req.params[0] + "/" + req.params[1];
  if (PathExists(repo_ + "/" + rel)) return StaticFile(rel, "text/plain; charset=utf-8");
  uint64_t n;
  Hash leaf;
  if (!ParseU64(req.params[0], &n) || !ParseHexHash(req.params[1], &leaf)) return HttpResponse::NotFound();
  std::lock_guard<std::mutex> l(mu_);
  if (!log_->Refresh().ok()) return HttpResponse::Text(500, "log unreadable\n");
  auto index = log_->IndexOf(leaf);
  if (!index || *index >= n || n > log_->size()) return HttpResponse::NotFound();
  auto path = log_->tree().InclusionProof(*index, n);
  if (!path.ok()) return HttpResponse::NotFound();
  return HttpResponse::Text(200, FormatInclusionProof({*index, n, std::move(path.value())}));
}

HttpResponse RepoService::ConsistencyProof(const HttpRequest& req) {
  std::string rel = "log/proof/consistency/" + req.params[0] + "/" + req.params[1];
  if (PathExists(repo_ + "/" + rel)) return StaticFile(rel, "text/plain; charset=utf-8");
  uint64_t m, n;
  if (!ParseU64(req.params[0], &m) || !ParseU64(req.params[1], &n)) return HttpResponse::NotFound();
  std::lock_guard<std::mutex> l(mu_);
  if (!log_->Refresh().ok()) return HttpResponse::Text(500, "log unreadable\n");
  auto path = log_->tree().ConsistencyProof(m, n);
  if (!path.ok()) return HttpResponse::NotFound();
  return HttpResponse::Text(200, FormatConsistencyProof({m, n, std::move(path.value())}));
}

void RepoService::Register(HttpService& svc) {
  const std::string text = "text/plain; charset=utf-8";
  const std::string zstd = "application/zstd";
  const std::string ch = "([A-Za-z0-9_-][A-Za-z0-9._-]{0,127})";
  const std::string num = "(0|[1-9][0-9]{0,19})";
  auto file = [this](std::string content_type) {
    return [this, content_type](const HttpRequest& r) { return StaticFile(r.path.substr(1), content_type); };
  };
  svc.Route("GET", "/log/checkpoint", Endpoint::kCheckpoint, file(text));
  svc.Route("GET", "/log/checkpoints/" + num, Endpoint::kCheckpoint, file(text));
  svc.Route("GET", "/log/entries/" + num, Endpoint::kLogEntry, file(text));
  svc.Route("GET", "/log/proof/inclusion/" + num + "/([0-9a-f]{64})", Endpoint::kInclusionProof,
            [this](const HttpRequest& r) { return InclusionProof(r); });
  svc.Route("GET", "/log/proof/consistency/" + num + "/" + num, Endpoint::kConsistencyProof,
            [this](const HttpRequest& r) { return ConsistencyProof(r); });
  svc.Route("GET", "/channels/" + ch + "/manifest", Endpoint::kChannelManifest, file(text));
  svc.Route("GET", "/releases/" + ch + "/" + num + "/manifest", Endpoint::kReleaseManifest, file(text));
  svc.Route("GET", "/releases/" + ch + "/" + num + "/bundle\\.vgb\\.zst", Endpoint::kBundle, file(zstd));
  svc.Route("GET", "/releases/" + ch + "/" + num + "/delta-from-" + num + "\\.vgd\\.zst", Endpoint::kDelta,
            file(zstd));
}

}  // namespace vigil::update
