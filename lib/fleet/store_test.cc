#include "fleet/store.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

namespace vigil::fleet {
namespace {

std::string Run(const std::string& cmd, int* rc) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) {
    *rc = -1;
    return "";
  }
  std::string out;
  char buf[512];
  while (fgets(buf, sizeof buf, p)) out += buf;
  int st = pclose(p);
  *rc = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

// SQLite: a fresh file per test.
struct SqliteBackend {
  static inline std::string dir;
  static inline int n = 0;
  static constexpr const char* kName = "sqlite";
  static void Start() {
    char tmpl[] = "/tmp/vigil-fleet-sqlite-XXXXXX";
    dir = mkdtemp(tmpl) ? tmpl : "";
  }
  static void Stop() { std::system(("rm -rf '" + dir + "'").c_str()); }
  static std::string skip() { return dir.empty() ? "cannot create a temporary directory" : ""; }
  static std::string NewUrl() { return "sqlite:" + dir + "/fleet" + std::to_string(++n) + ".db"; }
};

// PostgreSQL: one throwaway server for the suite (scripts/pg-test-server.sh),
// a fresh schema per test selected through search_path.
struct PgBackend {
  static inline std::string dir, url, skip_reason, error;
  static inline int n = 0;
  static constexpr const char* kName = "postgresql";
  static void Start() {
    if (access("/usr/lib/postgresql/15/bin/postgres", X_OK) != 0 ||
        access("/usr/lib/postgresql/15/bin/initdb", X_OK) != 0) {
      skip_reason = "PostgreSQL 15 binaries not in /usr/lib/postgresql/15/bin (Debian: postgresql)";
      return;
    }
    char tmpl[] = "/tmp/vigil-pg-XXXXXX";
    if (!mkdtemp(tmpl)) {
      error = "mkdtemp failed";
      return;
    }
    dir = tmpl;
    int rc;
    std::string out = Run(std::string(VIGIL_SOURCE_DIR) + "/scripts/pg-test-server.sh start " + dir, &rc);
    if (rc != 0 || out.rfind("postgresql://", 0) != 0) {
      error = "scripts/pg-test-server.sh start failed (rc " + std::to_string(rc) + "): " + out;
      return;
    }
    url = out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
  }
  static void Stop() {
    if (dir.empty()) return;
    int rc;
    Run(std::string(VIGIL_SOURCE_DIR) + "/scripts/pg-test-server.sh stop " + dir, &rc);
  }
  static std::string skip() { return skip_reason; }
  static std::string NewUrl() {
    std::string schema = "t" + std::to_string(++n);
    PGconn* c = PQconnectdb(url.c_str());
    PGresult* r = PQexec(c, ("CREATE SCHEMA " + schema).c_str());
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    PQfinish(c);
    if (!ok) return "";
    return url + "?options=-csearch_path%3D" + schema;
  }
};

template <typename B>
class StoreTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { B::Start(); }
  static void TearDownTestSuite() { B::Stop(); }
  void SetUp() override {
    if (!B::skip().empty()) GTEST_SKIP() << B::skip();
    if constexpr (std::is_same_v<B, PgBackend>) {
      ASSERT_EQ(B::error, "");
    }
    url_ = B::NewUrl();
    ASSERT_FALSE(url_.empty());
    auto s = Store::Open(url_);
    ASSERT_TRUE(s.ok()) << s.status().message();
    store_ = std::move(s.value());
  }

  static Checkin Ci(const std::string& id, int i) {
    Checkin c;
    c.endpoint_id = id;
    c.license_key = "LIC-" + std::to_string(i % 10);
    c.engine_version = "1.2." + std::to_string(i);
    c.db_version = "db-" + std::to_string(i);
    c.db_time = 1700000000 + i;
    c.last_scan = 1700001000 + i;
    c.detections = static_cast<uint64_t>(i) * 3;
    c.quarantined = static_cast<uint64_t>(i);
    c.last_update_outcome = i % 2 ? "installed" : "refused";
    c.last_update_rule = i % 2 ? "" : "embargo";
    c.received_at = 1700002000 + i;
    c.ip = "198.51.100." + std::to_string(i % 250);
    c.country = i % 2 ? "DE" : "US";
    return c;
  }

  std::string url_;
  std::unique_ptr<Store> store_;
};

using Backends = ::testing::Types<SqliteBackend, PgBackend>;
struct BackendNames {
  template <typename T>
  static std::string GetName(int) { return T::kName; }
};
TYPED_TEST_SUITE(StoreTest, Backends, BackendNames);

TYPED_TEST(StoreTest, SchemaCreationIsIdempotent) {
  for (int i = 0; i < 3; ++i) {
    auto again = Store::Open(this->url_);
    ASSERT_TRUE(again.ok()) << again.status().message();
  }
  License l{"K-1", "ACME", "DE", 1700000000, "192.0.2.1", "DE"};
  ASSERT_TRUE(this->store_->PutLicense(l).ok());
  // Reopening keeps the data.
  this->store_.reset();
  auto s = Store::Open(this->url_);
  ASSERT_TRUE(s.ok());
  auto got = (*s)->GetLicense("K-1");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  EXPECT_EQ((*got)->customer, "ACME");
}

TYPED_TEST(StoreTest, Describe) {
  std::string d = this->store_->Describe();
  if (std::string(TypeParam::kName) == "sqlite") {
    EXPECT_EQ(d, this->url_);
  } else {
    EXPECT_EQ(d.rfind("postgresql://127.0.0.1:", 0), 0u) << d;
    EXPECT_NE(d.find("/vigil"), std::string::npos) << d;
    EXPECT_EQ(d.find("search_path"), std::string::npos) << d;
  }
}

TYPED_TEST(StoreTest, LicenseInsertAndDuplicate) {
  auto none = this->store_->GetLicense("nope");
  ASSERT_TRUE(none.ok()) << none.status().message();
  EXPECT_FALSE(none->has_value());
  License l{"K-42", "Grüne Äpfel GmbH 'quoted'", "DE", 1700000042, "2001:db8::42", "FR"};
  ASSERT_TRUE(this->store_->PutLicense(l).ok());
  auto got = this->store_->GetLicense("K-42");
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->has_value());
  const License& g = **got;
  EXPECT_EQ(g.key, l.key);
  EXPECT_EQ(g.customer, l.customer);
  EXPECT_EQ(g.country, l.country);
  EXPECT_EQ(g.activated_at, l.activated_at);
  EXPECT_EQ(g.activated_ip, l.activated_ip);
  EXPECT_EQ(g.ip_country, l.ip_country);
  License dup = l;
  dup.customer = "Someone Else";
  Status st = this->store_->PutLicense(dup);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "already activated");
  auto again = this->store_->GetLicense("K-42");
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->customer, l.customer);
}

TYPED_TEST(StoreTest, CheckinUpsertKeepsLatest) {
  ASSERT_TRUE(this->store_->RecordCheckin(this->Ci("ep-1", 1)).ok());
  ASSERT_TRUE(this->store_->RecordCheckin(this->Ci("ep-2", 2)).ok());
  Checkin later = this->Ci("ep-1", 7);
  later.received_at = 5;  // older clock value: the later call still wins
  ASSERT_TRUE(this->store_->RecordCheckin(later).ok());
  auto eps = this->store_->Endpoints();
  ASSERT_TRUE(eps.ok()) << eps.status().message();
  ASSERT_EQ(eps->size(), 2u);
  const Checkin& a = (*eps)[0];
  EXPECT_EQ(a.endpoint_id, "ep-1");
  EXPECT_EQ(a.engine_version, later.engine_version);
  EXPECT_EQ(a.db_version, later.db_version);
  EXPECT_EQ(a.received_at, 5);
  EXPECT_EQ(a.checkin_count, 2u);
  EXPECT_EQ((*eps)[1].checkin_count, 1u);
}

TYPED_TEST(StoreTest, EndpointsContents) {
  Checkin c = this->Ci("ep-x", 3);
  c.detections = (1ull << 40) + 5;
  c.quarantined = 0;
  c.last_scan = 0;
  c.db_time = 0;
  c.last_update_rule = "sanctions/ir";
  ASSERT_TRUE(this->store_->RecordCheckin(c).ok());
  auto eps = this->store_->Endpoints();
  ASSERT_TRUE(eps.ok());
  ASSERT_EQ(eps->size(), 1u);
  const Checkin& g = (*eps)[0];
  EXPECT_EQ(g.endpoint_id, c.endpoint_id);
  EXPECT_EQ(g.license_key, c.license_key);
  EXPECT_EQ(g.engine_version, c.engine_version);
  EXPECT_EQ(g.db_version, c.db_version);
  EXPECT_EQ(g.db_time, 0);
  EXPECT_EQ(g.last_scan, 0);
  EXPECT_EQ(g.detections, c.detections);
  EXPECT_EQ(g.quarantined, 0u);
  EXPECT_EQ(g.last_update_outcome, c.last_update_outcome);
  EXPECT_EQ(g.last_update_rule, c.last_update_rule);
  EXPECT_EQ(g.received_at, c.received_at);
  EXPECT_EQ(g.ip, c.ip);
  EXPECT_EQ(g.country, c.country);
  EXPECT_EQ(g.checkin_count, 1u);
  EXPECT_EQ(this->store_->RecordCheckin(Checkin{}).code(), StatusCode::kInvalidArgument);
}

TYPED_TEST(StoreTest, ConcurrentCheckinsFrom16Threads) {
  constexpr int kThreads = 16, kEach = 200, kEndpoints = 50;
  std::vector<std::thread> ts;
  std::atomic<int> failed{0};
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        // Each endpoint is shared by several threads; the last call per
        // thread for endpoint e carries i >= kEach - kEndpoints.
        Checkin c = this->Ci("ep-" + std::to_string((t * 7 + i) % kEndpoints), t * kEach + i);
        if (!this->store_->RecordCheckin(c).ok()) ++failed;
      }
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(failed.load(), 0);
  auto eps = this->store_->Endpoints();
  ASSERT_TRUE(eps.ok()) << eps.status().message();
  ASSERT_EQ(eps->size(), static_cast<size_t>(kEndpoints));
  uint64_t total = 0;
  for (const Checkin& c : *eps) total += c.checkin_count;
  EXPECT_EQ(total, static_cast<uint64_t>(kThreads * kEach));
}

TYPED_TEST(StoreTest, Throughput20kFrom32Threads) {
  constexpr int kThreads = 32, kTotal = 20000, kEach = kTotal / kThreads;
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> ts;
  std::atomic<int> failed{0};
  for (int t = 0; t < kThreads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        if (!this->store_->RecordCheckin(this->Ci("ep-" + std::to_string(t * kEach + i), i)).ok()) ++failed;
    });
  for (auto& t : ts) t.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ perf     ] %s: %d check-ins from %d threads in %.3f s = %.0f check-ins/s\n", TypeParam::kName,
              kThreads * kEach, kThreads, secs, kThreads * kEach / secs);
  EXPECT_EQ(failed.load(), 0);
  auto eps = this->store_->Endpoints();
  ASSERT_TRUE(eps.ok());
  EXPECT_EQ(eps->size(), static_cast<size_t>(kThreads * kEach));
}

TEST(StoreOpen, BadUrls) {
  EXPECT_FALSE(Store::Open("").ok());
  EXPECT_FALSE(Store::Open("sqlite:").ok());
  EXPECT_FALSE(Store::Open("mysql://x/y").ok());
  EXPECT_FALSE(Store::Open("/nonexistent-dir/fleet.db").ok());
  auto pg = Store::Open("postgresql://nobody@127.0.0.1:1/none?connect_timeout=2");
  ASSERT_FALSE(pg.ok());
  EXPECT_EQ(pg.status().code(), StatusCode::kIoError);
}

TEST(StoreOpen, PlainPathIsSqlite) {
  char tmpl[] = "/tmp/vigil-fleet-plain-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string path = std::string(tmpl) + "/f.db";
  {
    auto s = Store::Open(path);
    ASSERT_TRUE(s.ok()) << s.status().message();
    EXPECT_EQ((*s)->Describe(), "sqlite:" + path);
  }
  std::system(("rm -rf '" + std::string(tmpl) + "'").c_str());
}

}  // namespace
}  // namespace vigil::fleet
