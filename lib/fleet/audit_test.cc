#include "fleet/audit.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

namespace vigil::fleet {
namespace {

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-audit-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/audit.jsonl";
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  static AuditRecord Rec(int i, const std::string& outcome = "allow") {
    AuditRecord r;
    r.time = 1700000000 + i;
    r.request_id = "req-" + std::to_string(i);
    r.endpoint = i % 2 ? "activate" : "manifest";
    r.action = i % 2 ? "activate" : "update";
    r.outcome = outcome;
    r.rule = outcome == "deny" ? "embargo-" + std::to_string(i % 3) : "";
    r.reason = outcome == "deny" ? "rule" : "default";
    r.inputs = {{"license_key", "LIC-" + std::to_string(i % 4)},
                {"license_country", i % 3 == 0 ? "DE" : "US"},
                {"ip", "192.0.2." + std::to_string(i % 250)},
                {"ip_country", i % 5 == 0 ? "RU" : "FR"},
                {"customer", "Ümlaut \"quoted\" \\ customer"},
                {"screening_score", 0.125 * i}};
    return r;
  }

  void Write(int n) {
    auto log = AuditLog::Open(path_);
    ASSERT_TRUE(log.ok()) << log.status().message();
    for (int i = 1; i <= n; ++i) ASSERT_TRUE((*log)->Append(Rec(i, i % 4 == 0 ? "deny" : "allow")).ok());
  }

  std::vector<std::string> Lines() {
    std::ifstream in(path_);
    std::vector<std::string> out;
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }
  void SetLines(const std::vector<std::string>& lines) {
    std::ofstream out(path_, std::ios::trunc);
    for (const auto& l : lines) out << l << "\n";
  }
  std::string Raw() {
    std::ifstream in(path_, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  void SetRaw(const std::string& s) {
    std::ofstream out(path_, std::ios::binary | std::ios::trunc);
    out << s;
  }

  std::string dir_, path_;
};

TEST_F(AuditTest, AppendAndReadBack) {
  Write(10);
  struct stat st;
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  auto recs = ReadAudit(path_, {});
  ASSERT_TRUE(recs.ok()) << recs.status().message();
  ASSERT_EQ(recs->size(), 10u);
  std::string prev(64, '0');
  for (int i = 0; i < 10; ++i) {
    const AuditRecord& r = (*recs)[static_cast<size_t>(i)];
    AuditRecord want = Rec(i + 1, (i + 1) % 4 == 0 ? "deny" : "allow");
    EXPECT_EQ(r.seq, i + 1);
    EXPECT_EQ(r.time, want.time);
    EXPECT_EQ(r.request_id, want.request_id);
    EXPECT_EQ(r.endpoint, want.endpoint);
    EXPECT_EQ(r.action, want.action);
    EXPECT_EQ(r.outcome, want.outcome);
    EXPECT_EQ(r.rule, want.rule);
    EXPECT_EQ(r.reason, want.reason);
    EXPECT_EQ(r.inputs, want.inputs);
    EXPECT_EQ(r.prev_hash, prev);
    EXPECT_EQ(r.hash.size(), 64u);
    prev = r.hash;
  }
  // One JSON object per line, ASCII only.
  for (const auto& l : Lines()) {
    EXPECT_EQ(l.front(), '{');
    for (char c : l) EXPECT_LT(static_cast<unsigned char>(c), 0x80);
  }
}

TEST_F(AuditTest, ReopenContinuesTheChain) {
  Write(3);
  {
    std::string warning = "x";
    auto log = AuditLog::Open(path_, &warning);
    ASSERT_TRUE(log.ok()) << log.status().message();
    EXPECT_EQ(warning, "");
    EXPECT_EQ((*log)->last_seq(), 3);
    ASSERT_TRUE((*log)->Append(Rec(4)).ok());
    EXPECT_EQ((*log)->last_seq(), 4);
  }
  auto recs = ReadAudit(path_, {});
  ASSERT_TRUE(recs.ok()) << recs.status().message();
  ASSERT_EQ(recs->size(), 4u);
  EXPECT_EQ(recs->back().seq, 4);
  EXPECT_EQ(recs->back().prev_hash, (*recs)[2].hash);
}

TEST_F(AuditTest, EmptyAndMissing) {
  EXPECT_EQ(ReadAudit(path_, {}).status().code(), StatusCode::kNotFound);
  { ASSERT_TRUE(AuditLog::Open(path_).ok()); }
  auto recs = ReadAudit(path_, {});
  ASSERT_TRUE(recs.ok());
  EXPECT_TRUE(recs->empty());
}

TEST_F(AuditTest, RejectsBadOutcome) {
  auto log = AuditLog::Open(path_);
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->Append(Rec(1, "maybe")).code(), StatusCode::kInvalidArgument);
}

TEST_F(AuditTest, RejectsInputsTooDeepToReadBack) {
  auto log = AuditLog::Open(path_);
  ASSERT_TRUE(log.ok());
  AuditRecord r = Rec(1);
  nlohmann::json deep = "leaf";
  for (int i = 0; i < 100; ++i) deep = nlohmann::json::array({deep});
  r.inputs["deep"] = deep;
  EXPECT_EQ((*log)->Append(r).code(), StatusCode::kInvalidArgument);
  r = Rec(2);
  nlohmann::json ok = "leaf";
  for (int i = 0; i < 50; ++i) ok = nlohmann::json::array({ok});
  r.inputs["deep"] = ok;
  ASSERT_TRUE((*log)->Append(r).ok());
  log->reset();
  auto recs = ReadAudit(path_, {});
  ASSERT_TRUE(recs.ok()) << recs.status().message();
  EXPECT_EQ(recs->size(), 1u);
}

TEST_F(AuditTest, InvalidUtf8IsReplacedNotFatal) {
  {
    auto log = AuditLog::Open(path_);
    ASSERT_TRUE(log.ok());
    AuditRecord r = Rec(1);
    r.inputs["customer"] = std::string("bad \xff\xfe utf8");
    r.request_id = "id-\xc3";
    ASSERT_TRUE((*log)->Append(r).ok());
  }
  auto recs = ReadAudit(path_, {});
  ASSERT_TRUE(recs.ok()) << recs.status().message();
  ASSERT_EQ(recs->size(), 1u);
  EXPECT_EQ((*recs)[0].request_id, "id-\xef\xbf\xbd");
}

TEST_F(AuditTest, SecondWriterIsRefused) {
  auto a = AuditLog::Open(path_);
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(AuditLog::Open(path_).ok());
}

// Tampering ------------------------------------------------------------------

void ExpectCorruptAtLine(const std::string& path, int line) {
  auto recs = ReadAudit(path, {});
  ASSERT_FALSE(recs.ok());
  EXPECT_EQ(recs.status().code(), StatusCode::kCorruption);
  EXPECT_NE(recs.status().message().find("line " + std::to_string(line) + ":"), std::string::npos)
      << recs.status().message();
}

TEST_F(AuditTest, EditedFieldIsDetected) {
  Write(6);
  auto lines = Lines();
  auto pos = lines[2].find("\"outcome\":\"allow\"");
  ASSERT_NE(pos, std::string::npos);
  lines[2].replace(pos, 17, "\"outcome\":\"deny\"");
  SetLines(lines);
  ExpectCorruptAtLine(path_, 3);
}

TEST_F(AuditTest, EditedInputIsDetected) {
  Write(6);
  auto lines = Lines();
  auto pos = lines[2].find("\"license_country\":\"DE\"");
  ASSERT_NE(pos, std::string::npos);
  lines[2].replace(pos, 22, "\"license_country\":\"CA\"");
  SetLines(lines);
  ExpectCorruptAtLine(path_, 3);
}

TEST_F(AuditTest, RehashedEditBreaksTheNextLink) {
  // Someone who recomputes the edited record's hash still breaks line 4.
  Write(6);
  auto lines = Lines();
  auto j = nlohmann::json::parse(lines[2]);
  j["outcome"] = "deny";
  j.erase("hash");
  std::string body = j.dump(-1, ' ', true);
  // Recompute with the same construction as the log: SHA-256(prev_hash || body).
  std::string data = j["prev_hash"].get<std::string>() + body;
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  char hex[2 * SHA256_DIGEST_LENGTH + 1];
  for (int i = 0; i < SHA256_DIGEST_LENGTH; ++i) std::snprintf(hex + 2 * i, 3, "%02x", md[i]);
  j["hash"] = std::string(hex, 64);
  lines[2] = j.dump(-1, ' ', true);
  SetLines(lines);
  ExpectCorruptAtLine(path_, 4);
}

TEST_F(AuditTest, DeletedLineIsDetected) {
  Write(6);
  auto lines = Lines();
  lines.erase(lines.begin() + 1);
  SetLines(lines);
  ExpectCorruptAtLine(path_, 2);
}

TEST_F(AuditTest, SwappedLinesAreDetected) {
  Write(6);
  auto lines = Lines();
  std::swap(lines[3], lines[4]);
  SetLines(lines);
  ExpectCorruptAtLine(path_, 4);
}

TEST_F(AuditTest, DeletedFirstLineIsDetected) {
  Write(3);
  auto lines = Lines();
  lines.erase(lines.begin());
  SetLines(lines);
  ExpectCorruptAtLine(path_, 1);
}

TEST_F(AuditTest, NonCanonicalWhitespaceIsDetected) {
  Write(3);
  auto lines = Lines();
  lines[1] = "{ " + lines[1].substr(1);
  SetLines(lines);
  ExpectCorruptAtLine(path_, 2);
}

TEST_F(AuditTest, OpenRefusesACorruptTail) {
  Write(4);
  auto lines = Lines();
  std::swap(lines[2], lines[3]);
  SetLines(lines);
  auto log = AuditLog::Open(path_);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption);
}

TEST_F(AuditTest, OpenRefusesGarbageAfterTheLastRecord) {
  Write(2);
  SetRaw(Raw() + "hello");
  std::string warning;
  auto log = AuditLog::Open(path_, &warning);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), StatusCode::kCorruption);
}

// Torn tail ------------------------------------------------------------------

TEST_F(AuditTest, TornTailIsTruncatedWithAWarning) {
  Write(3);
  std::string good = Raw();
  auto lines = Lines();
  SetRaw(good + lines[2].substr(0, lines[2].size() / 2));  // crash mid-write of a 4th record
  {
    std::string warning;
    auto recs = ReadAudit(path_, {}, &warning);
    ASSERT_TRUE(recs.ok()) << recs.status().message();
    EXPECT_EQ(recs->size(), 3u);
    EXPECT_NE(warning.find("line 4"), std::string::npos) << warning;
  }
  {
    std::string warning;
    auto log = AuditLog::Open(path_, &warning);
    ASSERT_TRUE(log.ok()) << log.status().message();
    EXPECT_NE(warning.find("incomplete"), std::string::npos) << warning;
    EXPECT_EQ(Raw(), good);
    ASSERT_TRUE((*log)->Append(Rec(4)).ok());
  }
  std::string warning = "x";
  auto recs = ReadAudit(path_, {}, &warning);
  ASSERT_TRUE(recs.ok()) << recs.status().message();
  EXPECT_EQ(recs->size(), 4u);
  EXPECT_EQ(warning, "");
}

TEST_F(AuditTest, TornTailOfNulBytesAndTornFirstRecord) {
  Write(2);
  SetRaw(Raw() + std::string(100, '\0'));
  {
    std::string warning;
    auto log = AuditLog::Open(path_, &warning);
    ASSERT_TRUE(log.ok()) << log.status().message();
    EXPECT_FALSE(warning.empty());
    EXPECT_EQ((*log)->last_seq(), 2);
  }
  auto first = Lines()[0];
  SetRaw(first.substr(0, 30));
  std::string warning;
  auto log = AuditLog::Open(path_, &warning);
  ASSERT_TRUE(log.ok()) << log.status().message();
  EXPECT_FALSE(warning.empty());
  EXPECT_EQ((*log)->last_seq(), 0);
  EXPECT_EQ(Raw(), "");
}

TEST_F(AuditTest, LongRecordsNeedALargerTailWindow) {
  {
    auto log = AuditLog::Open(path_);
    ASSERT_TRUE(log.ok());
    for (int i = 1; i <= 3; ++i) {
      AuditRecord r = Rec(i);
      r.inputs["blob"] = std::string(200000, 'a' + static_cast<char>(i));
      ASSERT_TRUE((*log)->Append(r).ok());
    }
  }
  auto log = AuditLog::Open(path_);
  ASSERT_TRUE(log.ok()) << log.status().message();
  EXPECT_EQ((*log)->last_seq(), 3);
}

// Concurrency ----------------------------------------------------------------

TEST_F(AuditTest, ConcurrentAppendsFormOneChain) {
  constexpr int kThreads = 64, kEach = 250;
  auto start = std::chrono::steady_clock::now();
  {
    auto log = AuditLog::Open(path_);
    ASSERT_TRUE(log.ok());
    std::vector<std::thread> ts;
    std::atomic<int> failed{0};
    for (int t = 0; t < kThreads; ++t)
      ts.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          AuditRecord r = Rec(t * kEach + i, i % 7 ? "allow" : "deny");
          r.request_id = std::to_string(t * kEach + i) + "-unique";
          if (!(*log)->Append(std::move(r)).ok()) ++failed;
        }
      });
    for (auto& t : ts) t.join();
    EXPECT_EQ(failed.load(), 0);
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ perf     ] audit: %d records from %d threads in %.3f s = %.0f records/s\n", kThreads * kEach,
              kThreads, secs, kThreads * kEach / secs);
  auto recs = ReadAudit(path_, {});
  ASSERT_TRUE(recs.ok()) << recs.status().message();
  ASSERT_EQ(recs->size(), static_cast<size_t>(kThreads * kEach));
  std::set<std::string> ids;
  for (size_t i = 0; i < recs->size(); ++i) {
    EXPECT_EQ((*recs)[i].seq, static_cast<int64_t>(i + 1));
    ids.insert((*recs)[i].request_id);
  }
  EXPECT_EQ(ids.size(), recs->size());
}

TEST_F(AuditTest, MixedDurabilityFromManyThreadsFormOneChain) {
  constexpr int kThreads = 48, kEach = 150;
  std::atomic<int> failed{0};
  {
    auto log = AuditLog::Open(path_);
    ASSERT_TRUE(log.ok());
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t)
      ts.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          AuditRecord r = Rec(t * kEach + i, i % 5 ? "allow" : "deny");
          r.request_id = std::to_string(t * kEach + i) + "-mixed";
          // Some threads only sync, some only write, the rest alternate.
          Durability d = t % 3 == 0 ? Durability::kSynced
                         : t % 3 == 1 ? Durability::kWritten
                         : (i % 2 ? Durability::kSynced : Durability::kWritten);
          if (!(*log)->Append(std::move(r), d).ok()) ++failed;
        }
      });
    for (auto& t : ts) t.join();
    EXPECT_EQ((*log)->last_seq(), kThreads * kEach);
  }
  EXPECT_EQ(failed.load(), 0);
  auto recs = ReadAudit(path_, {});  // verifies the whole chain
  ASSERT_TRUE(recs.ok()) << recs.status().message();
  ASSERT_EQ(recs->size(), static_cast<size_t>(kThreads * kEach));
  std::set<std::string> ids;
  for (size_t i = 0; i < recs->size(); ++i) {
    EXPECT_EQ((*recs)[i].seq, static_cast<int64_t>(i + 1));
    ids.insert((*recs)[i].request_id);
  }
  EXPECT_EQ(ids.size(), recs->size());
  // The chain continues after a reopen.
  auto log = AuditLog::Open(path_);
  ASSERT_TRUE(log.ok()) << log.status().message();
  EXPECT_EQ((*log)->last_seq(), kThreads * kEach);
  EXPECT_EQ((*log)->last_hash(), recs->back().hash);
}

TEST_F(AuditTest, RecordIsInTheFileWhenAppendReturns) {
  auto log = AuditLog::Open(path_);
  ASSERT_TRUE(log.ok());
  for (int i = 1; i <= 12; ++i) {
    Durability d = i % 3 == 0 ? Durability::kSynced : Durability::kWritten;
    AuditRecord r = Rec(i);
    ASSERT_TRUE((*log)->Append(r, d).ok());
    // Read by another reader while the log stays open and the syncer may lag.
    auto recs = ReadAudit(path_, {});
    ASSERT_TRUE(recs.ok()) << recs.status().message();
    ASSERT_EQ(recs->size(), static_cast<size_t>(i));
    EXPECT_EQ(recs->back().request_id, r.request_id);
    EXPECT_EQ(recs->back().seq, i);
    EXPECT_EQ((*log)->last_seq(), i);
    EXPECT_EQ((*log)->last_hash(), recs->back().hash);
    if (d == Durability::kSynced) {
      EXPECT_EQ((*log)->synced_size(), Raw().size());
    }
  }
}

TEST_F(AuditTest, WrittenRecordIsSyncedWithinTheInterval) {
  auto log = AuditLog::Open(path_);
  ASSERT_TRUE(log.ok());
  for (int i = 1; i <= 5; ++i) {
    ASSERT_TRUE((*log)->Append(Rec(i), Durability::kWritten).ok());
    const uint64_t size = Raw().size();
    auto start = std::chrono::steady_clock::now();
    // kSyncInterval plus an fdatasync; generous bound for a loaded machine.
    while ((*log)->synced_size() < size && std::chrono::steady_clock::now() - start < std::chrono::seconds(5))
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_EQ((*log)->synced_size(), size);
    if (i == 1)
      std::printf("[ perf     ] audit: kWritten record synced after %.1f ms\n",
                  std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
}

TEST_F(AuditTest, DestructorWritesAndSyncsEverything) {
  constexpr int kThreads = 16, kEach = 200;
  {
    auto log = AuditLog::Open(path_);
    ASSERT_TRUE(log.ok());
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t)
      ts.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          AuditRecord r = Rec(t * kEach + i);
          r.request_id = std::to_string(t * kEach + i) + "-d";
          EXPECT_TRUE((*log)->Append(std::move(r), Durability::kWritten).ok());
        }
      });
    for (auto& t : ts) t.join();
    // The last batches are most likely written but not yet synced: the destructor must sync them.
    ASSERT_TRUE((*log)->Append(Rec(0), Durability::kWritten).ok());
  }
  auto recs = ReadAudit(path_, {});
  ASSERT_TRUE(recs.ok()) << recs.status().message();
  ASSERT_EQ(recs->size(), static_cast<size_t>(kThreads * kEach + 1));
  // A reopen finds the same tail and continues it. (That the destructor's
  // fdatasync happened cannot be observed from here without a power cut.)
  auto log = AuditLog::Open(path_);
  ASSERT_TRUE(log.ok()) << log.status().message();
  EXPECT_EQ((*log)->last_seq(), kThreads * kEach + 1);
}

TEST_F(AuditTest, ThroughputWrittenVersusSynced) {
  constexpr int kThreads = 64;
  for (Durability d : {Durability::kWritten, Durability::kSynced}) {
    const int each = d == Durability::kWritten ? 500 : 60;
    std::system(("rm -f '" + path_ + "'").c_str());
    auto log = AuditLog::Open(path_);
    ASSERT_TRUE(log.ok());
    std::atomic<int> failed{0};
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t)
      ts.emplace_back([&, t] {
        for (int i = 0; i < each; ++i) {
          AuditRecord r = Rec(t * each + i);
          if (!(*log)->Append(std::move(r), d).ok()) ++failed;
        }
      });
    for (auto& t : ts) t.join();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_EQ(failed.load(), 0);
    std::printf("[ perf     ] audit %s: %d records from %d threads in %.3f s = %.0f records/s\n",
                d == Durability::kWritten ? "kWritten" : "kSynced ", kThreads * each, kThreads, secs,
                kThreads * each / secs);
    log->reset();
    auto recs = ReadAudit(path_, {});
    ASSERT_TRUE(recs.ok()) << recs.status().message();
    EXPECT_EQ(recs->size(), static_cast<size_t>(kThreads * each));
  }
}

// Queries --------------------------------------------------------------------

TEST_F(AuditTest, QueriesByEachFilter) {
  Write(20);  // records 1..20; deny when i % 4 == 0
  auto count = [&](const AuditQuery& q) -> size_t {
    auto r = ReadAudit(path_, q);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? r->size() : 0;
  };
  AuditQuery q;
  EXPECT_EQ(count(q), 20u);
  q = {};
  q.since = 1700000005;
  EXPECT_EQ(count(q), 16u);  // 5..20
  q.until = 1700000010;
  EXPECT_EQ(count(q), 6u);  // 5..10
  q = {};
  q.outcome = "deny";
  EXPECT_EQ(count(q), 5u);
  q = {};
  q.rule = "embargo-1";  // deny and i % 3 == 1: 4, 16
  EXPECT_EQ(count(q), 2u);
  q = {};
  q.action = "activate";  // odd
  EXPECT_EQ(count(q), 10u);
  q = {};
  q.endpoint = "manifest";  // even
  EXPECT_EQ(count(q), 10u);
  q = {};
  q.country = "DE";  // license_country DE when i % 3 == 0: 3,6,...,18
  EXPECT_EQ(count(q), 6u);
  q.country = "ru";  // ip_country RU when i % 5 == 0, case-insensitive
  EXPECT_EQ(count(q), 4u);
  q.country = "FR";  // the other 16
  EXPECT_EQ(count(q), 16u);
  q = {};
  q.license = "LIC-1";  // i % 4 == 1
  EXPECT_EQ(count(q), 5u);
  q.outcome = "deny";
  EXPECT_EQ(count(q), 0u);
  q = {};
  q.outcome = "allow";
  q.limit = 3;
  auto last = ReadAudit(path_, q);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 3u);
  EXPECT_EQ((*last)[0].seq, 17);  // 17, 18, 19 are allow; 20 is deny
  EXPECT_EQ((*last)[2].seq, 19);
}

}  // namespace
}  // namespace vigil::fleet
