#include "update/server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <vector>
#include <thread>

#include "update/archive.h"
#include "update/client.h"
#include "update/repo.h"
#include "update/util.h"

namespace vigil::update {
namespace {

// A published repository served in-process; the gate refuses bundles and
// deltas with HTTP 451, as a jurisdiction policy would.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-server-test-XXXXXX";
    root_ = mkdtemp(tmpl);
    ASSERT_TRUE(MakeDirs(root_ + "/db").ok());
    release_ = GenerateSigner("t/release").value();
    log_key_ = GenerateSigner("t/log").value();
    for (int v = 1; v <= 3; ++v) {
      ASSERT_TRUE(WriteFileAtomic(root_ + "/db/a.hdb", std::string(v * 10, 'x') + ":1:S\n").ok());
      PublishOptions o;
      o.repo = root_ + "/repo";
      o.db_dir = root_ + "/db";
      o.release_key = release_;
      o.log_key = log_key_;
      o.now = 1727582400;
      o.engine_min = "0.1.0";
      o.zstd_level = 1;
      o.validate = [](const std::string&) -> Result<uint64_t> { return uint64_t{1}; };
      ASSERT_TRUE(Publish(o).ok());
    }
    auto repo = RepoService::Open(root_ + "/repo");
    ASSERT_TRUE(repo.ok());
    repo_ = std::move(repo.value());
    repo_->Register(http_);
    // For the HTTP layer's own tests: echoes what the handler was given.
    http_.Route("POST", "/echo/([a-z]+)", Endpoint::kOther, [](const HttpRequest& r) {
      return HttpResponse::Text(200, r.params.at(0) + "|" + r.Header("X-Tag") + "|" + r.body);
    });
    http_.SetGate([](const HttpRequest& r, Endpoint e) -> std::optional<HttpResponse> {
      if (e == Endpoint::kBundle || e == Endpoint::kDelta)
        return HttpResponse::Json(451, R"({"rule":"test-rule","message":"not here"})");
      return std::nullopt;
    });
    auto port = http_.Bind("127.0.0.1:0");
    ASSERT_TRUE(port.ok());
    port_ = *port;
    thread_ = std::thread([this] { (void)http_.Run(); });
  }
  void TearDown() override {
    http_.Stop();
    if (thread_.joinable()) thread_.join();
    (void)RemoveTree(root_);
  }

  std::string root_;
  NoteSigner release_, log_key_;
  std::unique_ptr<RepoService> repo_;
  HttpService http_;
  int port_ = 0;
  std::thread thread_;
};

TEST_F(ServerTest, ServesStaticFilesComputesProofsAndAppliesTheGate) {
  httplib::Client cli("127.0.0.1", port_);
  auto cp = cli.Get("/log/checkpoint");
  ASSERT_TRUE(cp);
  EXPECT_EQ(cp->status, 200);
  EXPECT_EQ(cp->body, ReadFile(root_ + "/repo/log/checkpoint").value());
  EXPECT_EQ(cp->get_header_value("Cache-Control"), "no-cache");

  // A proof the static files no longer hold is computed on request.
  ASSERT_TRUE(RemoveTree(root_ + "/repo/log/proof/consistency/1").ok());
  auto proof = cli.Get("/log/proof/consistency/1/2");
  ASSERT_TRUE(proof);
  ASSERT_EQ(proof->status, 200);
  auto p = ParseConsistencyProof(proof->body);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->old_size, 1u);
  EXPECT_EQ(cli.Get("/log/proof/consistency/2/9")->status, 404);
  EXPECT_EQ(cli.Get("/log/proof/inclusion/3/" + std::string(64, 'a'))->status, 404);
  EXPECT_EQ(cli.Get("/private/leaves")->status, 404);
  EXPECT_EQ(cli.Get("/releases/stable/1/../../private/leaves")->status, 404);

  auto bundle = cli.Get("/releases/stable/3/bundle.vgb.zst");
  ASSERT_TRUE(bundle);
  EXPECT_EQ(bundle->status, 451);
  EXPECT_NE(bundle->body.find("test-rule"), std::string::npos);
}

TEST_F(ServerTest, TheClientReportsA451Plainly) {
  ASSERT_TRUE(WriteFileAtomic(root_ + "/release.pub", FormatVerifierKey(release_.Verifier())).ok());
  ASSERT_TRUE(WriteFileAtomic(root_ + "/log.pub", FormatVerifierKey(log_key_.Verifier())).ok());
  UpdateConfig cfg;
  cfg.servers = {"http://127.0.0.1:" + std::to_string(port_)};
  cfg.release_pubkey = root_ + "/release.pub";
  cfg.log_pubkey = root_ + "/log.pub";
  cfg.db_dir = root_ + "/client/db";
  cfg.now = 1727582400;
  auto check = [](const std::string&) -> Result<uint64_t> { return uint64_t{1}; };
  UpdateReport r = RunUpdate(cfg, check, /*check_only=*/true);
  EXPECT_EQ(r.outcome, Outcome::kAvailable) << r.message;
  r = RunUpdate(cfg, check, /*check_only=*/false);
  EXPECT_EQ(r.outcome, Outcome::kRefused);
  EXPECT_NE(r.message.find("HTTP 451"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("not here"), std::string::npos) << r.message;
  EXPECT_EQ(r.refusal.rule, "test-rule");
  EXPECT_EQ(r.refusal.message, "not here");
  EXPECT_FALSE(PathExists(cfg.db_dir));
  // The refusal is kept for `vigil status`.
  auto last = ReadLastUpdate(root_ + "/client/db.update");
  ASSERT_TRUE(last.ok()) << last.status().message();
  EXPECT_EQ(last->outcome, "refused");
  EXPECT_EQ(last->refusal.rule, "test-rule");
  EXPECT_EQ(last->refusal.message, "not here");
  EXPECT_EQ(last->time, 1727582400);
}

// A raw connection, to send what a library client would not.
class RawConn {
 public:
  explicit RawConn(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~RawConn() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  void Send(const std::string& s) { ASSERT_EQ(send(fd_, s.data(), s.size(), MSG_NOSIGNAL), ssize_t(s.size())); }
  // Reads until `n` complete responses are in, the peer closes, or 5 s pass.
  // `head`: responses to HEAD, which have no body whatever their Content-Length.
  std::string Read(size_t n = 1, bool head = false) {
    std::string out;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (Responses(out, head) < n && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) != 1) continue;
      char buf[4096];
      ssize_t r = recv(fd_, buf, sizeof buf, 0);
      if (r <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<size_t>(r));
    }
    return out;
  }
  // True once the server has closed the connection (within 5 s).
  bool Closed() {
    if (closed_) return true;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, 5000) != 1) return false;
    char c;
    return recv(fd_, &c, 1, 0) <= 0;
  }

 private:
  // Complete responses in s (each has a Content-Length).
  static size_t Responses(const std::string& s, bool head) {
    size_t n = 0, pos = 0;
    while (true) {
      size_t end = s.find("\r\n\r\n", pos);
      if (end == std::string::npos) return n;
      if (s.compare(pos, 12, "HTTP/1.1 100") == 0) {
        pos = end + 4;
        ++n;
        continue;
      }
      size_t cl = s.find("Content-Length: ", pos);
      if (cl == std::string::npos || cl > end) return n;
      size_t len = head ? 0 : std::stoul(s.substr(cl + 16));
      if (s.size() < end + 4 + len) return n;
      pos = end + 4 + len;
      ++n;
    }
  }
  int fd_ = -1;
  bool closed_ = false;
};

TEST_F(ServerTest, KeepAlivePipeliningAndChunkedBodies) {
  RawConn c(port_);
  ASSERT_TRUE(c.ok());
  // Three requests in one write, one of them chunked: answered in order on one connection.
  c.Send("GET /log/checkpoint HTTP/1.1\r\nHost: t\r\n\r\n"
         "POST /echo/abc HTTP/1.1\r\nHost: t\r\nX-Tag: one\r\nTransfer-Encoding: chunked\r\n\r\n"
         "3\r\nxyz\r\n2;e=1\r\n!!\r\n0\r\n\r\n"
         "POST /echo/def HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n\r\nbody");
  std::string out = c.Read(3);
  size_t a = out.find("HTTP/1.1 200 OK"), b = out.find("abc|one|xyz!!"), d = out.find("def||body");
  ASSERT_NE(a, std::string::npos) << out;
  ASSERT_NE(b, std::string::npos) << out;
  ASSERT_NE(d, std::string::npos) << out;
  EXPECT_LT(a, b);
  EXPECT_LT(b, d);
  EXPECT_NE(out.find("Connection: keep-alive"), std::string::npos);
  // A request split across writes is assembled.
  c.Send("POST /echo/gh");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  c.Send("i HTTP/1.1\r\nContent-Length: 2\r\n\r\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  c.Send("ok");
  EXPECT_NE(c.Read().find("ghi||ok"), std::string::npos);
  // Connection: close is honoured.
  c.Send("GET /log/checkpoint HTTP/1.1\r\nConnection: close\r\n\r\n");
  out = c.Read();
  EXPECT_NE(out.find("Connection: close"), std::string::npos) << out;
  EXPECT_TRUE(c.Closed());
}

TEST_F(ServerTest, HeadMethodsAndMalformedRequests) {
  {
    RawConn c(port_);
    c.Send("HEAD /log/checkpoint HTTP/1.1\r\n\r\n");
    std::string out = c.Read(1, /*head=*/true);
    const std::string size = std::to_string(ReadFile(root_ + "/repo/log/checkpoint").value().size());
    EXPECT_NE(out.find("Content-Length: " + size + "\r\n"), std::string::npos) << out;
    EXPECT_EQ(out.substr(out.find("\r\n\r\n") + 4), "");  // no body
    c.Send("DELETE /log/checkpoint HTTP/1.1\r\n\r\n");
    out = c.Read();
    EXPECT_EQ(out.rfind("HTTP/1.1 405 Method Not Allowed\r\n", 0), 0u) << out;
    EXPECT_NE(out.find("Allow: GET, HEAD\r\n"), std::string::npos) << out;
    c.Send("GET /nothing/here HTTP/1.1\r\n\r\n");
    EXPECT_EQ(c.Read().rfind("HTTP/1.1 404", 0), 0u);
  }
  // Each malformed request is answered with its status and the connection closed.
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"GET / HTTP/1.1\nHost: t\n\n", "400"},
      {"POST /echo/a HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", "400"},
      {"GET / HTTP/3.0\r\n\r\n", "505"},
      {"POST /echo/a HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "501"},
      {"POST /echo/a HTTP/1.1\r\nContent-Length: " + std::to_string((1 << 20) + 1) + "\r\n\r\n", "413"},
      {"GET /" + std::string(20000, 'a') + " HTTP/1.1\r\n\r\n", "414"},
      {"GET / HTTP/1.1\r\nX: " + std::string(20000, 'a') + "\r\n\r\n", "431"},
  };
  for (const auto& [request, status] : cases) {
    RawConn c(port_);
    c.Send(request);
    std::string out = c.Read();
    EXPECT_EQ(out.rfind("HTTP/1.1 " + status + " ", 0), 0u) << request.substr(0, 60) << " -> " << out;
    EXPECT_NE(out.find("Connection: close"), std::string::npos);
    EXPECT_TRUE(c.Closed()) << request.substr(0, 60);
  }
  // The server still answers.
  httplib::Client cli("127.0.0.1", port_);
  auto r = cli.Post("/echo/after", "fine", "text/plain");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, "after||fine");
}

TEST_F(ServerTest, ExpectContinueGetsAnInterimResponse) {
  RawConn c(port_);
  c.Send("POST /echo/exp HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
  std::string out = c.Read();
  EXPECT_EQ(out, "HTTP/1.1 100 Continue\r\n\r\n");
  c.Send("hello");
  EXPECT_NE(c.Read().find("exp||hello"), std::string::npos);
}

TEST_F(ServerTest, ManyClientsAtOnce) {
  std::atomic<int> good{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 16; ++t) {
    clients.emplace_back([&, t] {
      httplib::Client cli("127.0.0.1", port_);
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);  // headers and body go out in two writes
      for (int i = 0; i < 50; ++i) {
        std::string body = std::to_string(t) + "-" + std::to_string(i);
        auto r = cli.Post("/echo/m", body, "text/plain");
        if (r && r->status == 200 && r->body == "m||" + body) ++good;
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(good.load(), 16 * 50);
}

TEST(UpdateConfigTest, ReadsKeysAndRejectsUnknownOnes) {
  char tmpl[] = "/tmp/vigil-conf-test-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  ASSERT_TRUE(WriteFileAtomic(dir + "/u.conf",
                              "# comment\nserver http://a\nserver = http://b\nchannel beta\nread-timeout 5\n").ok());
  UpdateConfig c;
  ASSERT_TRUE(LoadUpdateConfig(dir + "/u.conf", &c).ok());
  EXPECT_EQ(c.servers, (std::vector<std::string>{"http://a", "http://b"}));
  EXPECT_EQ(c.channel, "beta");
  EXPECT_EQ(c.read_timeout, 5);
  ASSERT_TRUE(WriteFileAtomic(dir + "/u.conf", "server http://a\nfrobnicate 1\n").ok());
  Status st = LoadUpdateConfig(dir + "/u.conf", &c);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("u.conf:2:"), std::string::npos) << st.message();
  (void)RemoveTree(dir);
}

}  // namespace
}  // namespace vigil::update
