#include "update/server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <regex>
#include <thread>
#include <unordered_map>

#include "update/http_wire.h"
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

// The server: a listening socket and every connection in one epoll set,
// shared by `threads` worker threads. A connection is registered
// EPOLLONESHOT, so exactly one worker owns it from the moment it becomes
// readable until it is re-armed: that worker reads, parses, runs the
// handler (which may block, on a group commit say) and writes the response,
// with no hand-off between threads. Under load a worker that has finished a
// request usually finds another connection ready in epoll_wait without
// sleeping, which is what a thread per connection cannot do.
namespace {

constexpr uint64_t kListenTag = 0, kWakeTag = 1;
constexpr auto kIdleTimeout = std::chrono::seconds(10);   // keep-alive, and a request arriving slowly
constexpr auto kWriteTimeout = std::chrono::seconds(30);  // a client not reading its response

struct Conn {
  int fd = -1;
  std::string in;  // received, not yet parsed
  size_t need = 0; // parse again once `in` holds this much
  bool continue_sent = false;
  std::string remote_addr;
  int remote_port = 0;
  // Guarded by Impl::conns_mu.
  bool busy = false;
  std::chrono::steady_clock::time_point last_active;
};

struct RouteEntry {
  std::string method;
  std::string prefix;  // the pattern's literal start: a cheap test before the regex
  std::regex re;
  Endpoint endpoint;
  Handler handler;
};

std::string LiteralPrefix(const std::string& pattern) {
  std::string out;
  for (char c : pattern) {
    if (std::strchr("()[]{}.*+?|\\^$", c)) break;
    out.push_back(c);
  }
  return out;
}

bool SafeHeaderText(const std::string& s) {
  return s.find_first_of("\r\n") == std::string::npos && s.find('\0') == std::string::npos;
}

std::string AddressText(const sockaddr_storage& ss, int* port) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (ss.ss_family == AF_INET) {
    const auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    *port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    *port = ntohs(a->sin6_port);
  }
  return buf;
}

}  // namespace

struct HttpService::Impl {
  std::mutex mu;
  RequestGate gate;  // guarded by mu (read under lock, called outside)
  uint64_t max_rate = 0;
  size_t threads = 64;
  HttpLimits limits;
  std::vector<RouteEntry> routes;  // set before Run

  int listen_fd = -1, epfd = -1, wake_fd = -1;
  std::atomic<bool> stopping{false};
  std::mutex conns_mu;
  std::unordered_map<Conn*, std::unique_ptr<Conn>> conns;  // guarded by conns_mu

  ~Impl() {
    for (auto& [c, owned] : conns) close(c->fd);
    for (int fd : {listen_fd, epfd, wake_fd})
      if (fd >= 0) close(fd);
  }

  void WorkerLoop(bool reaper) {
    auto last_reap = std::chrono::steady_clock::now();
    while (!stopping.load(std::memory_order_relaxed)) {
      epoll_event ev;
      int n = epoll_wait(epfd, &ev, 1, reaper ? 1000 : -1);
      if (n < 0) {
        if (errno == EINTR) continue;
        break;
      }
      if (n == 1) {
        if (ev.data.u64 == kWakeTag) break;
        if (ev.data.u64 == kListenTag) Accept();
        else Serve(static_cast<Conn*>(ev.data.ptr));
      }
      if (reaper && std::chrono::steady_clock::now() - last_reap >= std::chrono::seconds(1)) {
        Reap();
        last_reap = std::chrono::steady_clock::now();
      }
    }
  }

  void Accept() {
    for (int i = 0; i < 64; ++i) {
      sockaddr_storage ss{};
      socklen_t len = sizeof ss;
      int fd = accept4(listen_fd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
          std::this_thread::sleep_for(std::chrono::milliseconds(10));  // out of descriptors: let some close
        return;  // EAGAIN: another worker took it, or none left
      }
      int one = 1;
      // Without TCP_NODELAY, Nagle's algorithm and the client's delayed ACK
      // would hold a response written in two parts for tens of milliseconds.
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      c->remote_addr = AddressText(ss, &c->remote_port);
      c->last_active = std::chrono::steady_clock::now();
      Conn* raw = c.get();
      {
        std::lock_guard<std::mutex> l(conns_mu);
        conns.emplace(raw, std::move(c));
      }
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
      ev.data.ptr = raw;
      if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) Close(raw);
    }
  }

  void Close(Conn* c) {
    std::unique_ptr<Conn> owned;
    {
      std::lock_guard<std::mutex> l(conns_mu);
      auto it = conns.find(c);
      if (it == conns.end()) return;
      owned = std::move(it->second);
      conns.erase(it);
    }
    close(owned->fd);  // also leaves the epoll set
  }

  // Connections idle past kIdleTimeout (between requests, or in the middle
  // of one) are shut down; the worker that sees the hang-up closes them.
  void Reap() {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> l(conns_mu);
    for (auto& [c, owned] : conns)
      if (!c->busy && now - c->last_active > kIdleTimeout) shutdown(c->fd, SHUT_RDWR);
  }

  void Serve(Conn* c) {
    {
      std::lock_guard<std::mutex> l(conns_mu);
      c->busy = true;
    }
    char buf[1 << 16];
    bool open = true;
    while (open) {
      ssize_t n = recv(c->fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n <= 0) {
        open = false;
        break;
      }
      c->in.append(buf, static_cast<size_t>(n));
      open = Process(c);
      if (static_cast<size_t>(n) < sizeof buf) break;  // drained; level-triggered re-arm catches the rest
    }
    if (!open || stopping.load(std::memory_order_relaxed)) {
      Close(c);
      return;
    }
    {
      std::lock_guard<std::mutex> l(conns_mu);
      c->busy = false;
      c->last_active = std::chrono::steady_clock::now();
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.ptr = c;
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) != 0) Close(c);
  }

  // Answers every complete request in c->in. False: close the connection.
  bool Process(Conn* c) {
    size_t off = 0;
    bool keep = true;
    while (keep && off < c->in.size() && c->in.size() - off >= c->need) {
      ParsedRequest req;
      ParseResult r = ParseHttpRequest(std::string_view(c->in).substr(off), limits, &req);
      if (r.outcome == ParseOutcome::kIncomplete) {
        c->need = r.need;
        // Chunk framing may inflate what arrives; no request needs more than this.
        if (c->in.size() - off > limits.max_header_bytes + 2 * limits.max_body_bytes + (64 << 10)) {
          SendResponse(c, HttpResponse::Text(413, "request too large\n"), false, false);
          return false;
        }
        if (r.head_complete && req.expect_continue && !c->continue_sent) {
          static const char kContinue[] = "HTTP/1.1 100 Continue\r\n\r\n";
          if (!SendAll(c->fd, kContinue, sizeof kContinue - 1)) return false;
          c->continue_sent = true;
        }
        break;
      }
      if (r.outcome == ParseOutcome::kError) {
        SendResponse(c, HttpResponse::Text(r.status, r.reason + "\n"), false, false);
        return false;
      }
      off += r.consumed;
      c->need = 0;
      c->continue_sent = false;
      keep = req.keep_alive && !stopping.load(std::memory_order_relaxed);
      const bool head = req.method == "HEAD";
      HttpResponse resp = Dispatch(std::move(req), c);
      if (!SendResponse(c, resp, head, keep)) return false;
    }
    c->in.erase(0, off);
    if (c->in.empty() && c->in.capacity() > (256 << 10)) std::string().swap(c->in);
    return keep;
  }

  HttpResponse Dispatch(ParsedRequest req, Conn* c) {
    HttpRequest r;
    r.method = req.method == "HEAD" ? "GET" : std::move(req.method);
    r.path = std::move(req.path);
    r.query = std::move(req.query);
    for (auto& [k, v] : req.headers) r.headers.emplace(std::move(k), std::move(v));
    r.body = std::move(req.body);
    r.remote_addr = c->remote_addr;
    r.remote_port = c->remote_port;
    std::string allowed;
    for (const RouteEntry& route : routes) {
      if (r.path.compare(0, route.prefix.size(), route.prefix) != 0) continue;
      std::smatch m;
      if (!std::regex_match(r.path, m, route.re)) continue;
      if (route.method != r.method) {
        if (allowed.find(route.method) == std::string::npos) allowed += (allowed.empty() ? "" : ", ") + route.method;
        continue;
      }
      for (size_t i = 1; i < m.size(); ++i) r.params.push_back(m[i]);
      try {
        RequestGate g;
        {
          std::lock_guard<std::mutex> l(mu);
          g = gate;
        }
        if (g) {
          if (auto refused = g(r, route.endpoint)) return std::move(*refused);
        }
        return route.handler(r);
      } catch (const std::exception& e) {
        return HttpResponse::Text(500, std::string("internal error: ") + e.what() + "\n");
      }
    }
    if (!allowed.empty()) {
      HttpResponse resp = HttpResponse::Text(405, "method not allowed\n");
      if (allowed.find("GET") != std::string::npos) allowed += ", HEAD";
      resp.headers.emplace_back("Allow", allowed);
      return resp;
    }
    return HttpResponse::NotFound();
  }

  // Writes all of it, waiting for the socket up to kWriteTimeout at a time.
  static bool SendAll(int fd, const char* p, size_t n) {
    while (n > 0) {
      ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
      if (w > 0) {
        p += w;
        n -= static_cast<size_t>(w);
        continue;
      }
      if (w < 0 && errno == EINTR) continue;
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!WaitWritable(fd)) return false;
        continue;
      }
      return false;
    }
    return true;
  }

  static bool WaitWritable(int fd) {
    pollfd p{fd, POLLOUT, 0};
    int rc;
    do rc = poll(&p, 1, static_cast<int>(std::chrono::milliseconds(kWriteTimeout).count()));
    while (rc < 0 && errno == EINTR);
    return rc == 1 && (p.revents & POLLOUT);
  }

  bool SendResponse(Conn* c, const HttpResponse& in, bool head, bool keep) {
    int file = -1;
    uint64_t length = in.body.size();
    const HttpResponse* resp = &in;
    HttpResponse missing;
    if (!in.file.empty()) {
      file = open(in.file.c_str(), O_RDONLY | O_CLOEXEC);
      struct stat st {};
      if (file < 0 || fstat(file, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (file >= 0) close(file);
        file = -1;
        missing = HttpResponse::NotFound();
        resp = &missing;
        length = missing.body.size();
      } else {
        length = static_cast<uint64_t>(st.st_size);
      }
    }
    std::string out;
    out.reserve(256 + (head || file >= 0 ? 0 : resp->body.size()));
    out.append("HTTP/1.1 ").append(std::to_string(resp->status)).append(" ").append(HttpReason(resp->status));
    out.append("\r\nContent-Type: ").append(SafeHeaderText(resp->content_type) ? resp->content_type : "text/plain");
    out.append("\r\nContent-Length: ").append(std::to_string(length));
    out.append(keep ? "\r\nConnection: keep-alive" : "\r\nConnection: close");
    for (const auto& [k, v] : resp->headers)
      if (!k.empty() && SafeHeaderText(k) && SafeHeaderText(v)) out.append("\r\n").append(k).append(": ").append(v);
    out.append("\r\n\r\n");
    if (!head && file < 0) out.append(resp->body);
    bool ok = SendAll(c->fd, out.data(), out.size());
    if (file >= 0) {
      if (ok && !head) ok = SendFile(c->fd, file, length);
      close(file);
    }
    return ok;
  }

  bool SendFile(int sock, int file, uint64_t length) {
    const uint64_t rate = max_rate;
    off_t offset = 0;
    if (rate == 0) {
      while (static_cast<uint64_t>(offset) < length) {
        ssize_t n = sendfile(sock, file, &offset, static_cast<size_t>(std::min<uint64_t>(length - offset, 1 << 30)));
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          if (!WaitWritable(sock)) return false;
          continue;
        }
        return false;  // an error, or the file shrank under us
      }
      return true;
    }
    char buf[1 << 16];
    while (static_cast<uint64_t>(offset) < length) {
      size_t want = static_cast<size_t>(std::min<uint64_t>({length - offset, sizeof buf, std::max<uint64_t>(1, rate / 10)}));
      ssize_t n = pread(file, buf, want, offset);
      if (n <= 0) return false;
      if (!SendAll(sock, buf, static_cast<size_t>(n))) return false;
      offset += n;
      std::this_thread::sleep_for(std::chrono::microseconds(static_cast<uint64_t>(n) * 1000000 / rate));
      if (stopping.load(std::memory_order_relaxed)) return false;
    }
    return true;
  }
};

HttpService::HttpService() : impl_(std::make_unique<Impl>()) {}

HttpService::~HttpService() = default;

void HttpService::SetGate(RequestGate gate) {
  std::lock_guard<std::mutex> l(impl_->mu);
  impl_->gate = std::move(gate);
}

void HttpService::SetMaxRate(uint64_t bytes_per_second) { impl_->max_rate = bytes_per_second; }

void HttpService::SetThreads(size_t n) { impl_->threads = std::max<size_t>(1, n); }

void HttpService::Route(const std::string& method, const std::string& pattern, Endpoint endpoint,
                        Handler handler) {
  impl_->routes.push_back(RouteEntry{method, LiteralPrefix(pattern),
                                     std::regex(pattern, std::regex::ECMAScript | std::regex::optimize), endpoint,
                                     std::move(handler)});
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
  if (impl_->listen_fd >= 0) return Status::InvalidArgument("already listening");

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &res); rc != 0)
    return Status::IoError("cannot listen on " + listen + ": " + gai_strerror(rc));
  int fd = -1, err = 0;
  for (addrinfo* a = res; a; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      err = errno;
      continue;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 1024) == 0) break;
    err = errno;
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0) return Status::IoError("cannot listen on " + listen + ": " + std::strerror(err));
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  int bound = -1;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0) AddressText(ss, &bound);

  int epfd = epoll_create1(EPOLL_CLOEXEC);
  int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  epoll_event lev{}, wev{};
  lev.events = EPOLLIN;  // level-triggered: every waiting worker may take a turn accepting
  lev.data.u64 = kListenTag;
  wev.events = EPOLLIN;  // never read: once signalled, every worker sees it
  wev.data.u64 = kWakeTag;
  if (epfd < 0 || wake < 0 || epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &lev) != 0 ||
      epoll_ctl(epfd, EPOLL_CTL_ADD, wake, &wev) != 0) {
    err = errno;
    for (int x : {fd, epfd, wake})
      if (x >= 0) close(x);
    return Status::IoError(std::string("cannot set up the server: ") + std::strerror(err));
  }
  impl_->listen_fd = fd;
  impl_->epfd = epfd;
  impl_->wake_fd = wake;
  return bound;
}

Status HttpService::Run() {
  if (impl_->listen_fd < 0) return Status::InvalidArgument("Run before Bind");
  std::vector<std::thread> workers;
  for (size_t i = 1; i < impl_->threads; ++i) workers.emplace_back([this] { impl_->WorkerLoop(false); });
  impl_->WorkerLoop(true);
  for (auto& t : workers) t.join();
  // Stopped: the connections left are idle or were being answered.
  std::lock_guard<std::mutex> l(impl_->conns_mu);
  for (auto& [c, owned] : impl_->conns) close(c->fd);
  impl_->conns.clear();
  return Status::Ok();
}

void HttpService::Stop() {
  impl_->stopping.store(true);
  if (impl_->wake_fd >= 0) {
    uint64_t one = 1;
    ssize_t w = write(impl_->wake_fd, &one, sizeof one);
    (void)w;
  }
}

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
