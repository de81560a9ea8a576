#include "update/server.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
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
