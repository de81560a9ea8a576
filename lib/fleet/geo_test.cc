#include "fleet/geo.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <thread>

namespace vigil::fleet {
namespace {

const char* kGeoDir = "/usr/share/GeoIP";

bool Exists(const std::string& p) { return access(p.c_str(), R_OK) == 0; }

// What the geoiplookup tools say: "GeoIP Country Edition: DE, Germany" -> "DE";
// "IP Address not found" -> "".
std::string Oracle(const std::string& ip, bool v6) {
  std::string cmd = std::string(v6 ? "geoiplookup6" : "geoiplookup") + " -f " + kGeoDir +
                    (v6 ? "/GeoIPv6.dat " : "/GeoIP.dat ") + ip + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return "?";
  std::string out;
  char buf[256];
  while (fgets(buf, sizeof buf, p)) out += buf;
  pclose(p);
  auto colon = out.find(": ");
  if (colon == std::string::npos) return "?";
  std::string rest = out.substr(colon + 2);
  if (rest.rfind("IP Address not found", 0) == 0) return "";
  auto comma = rest.find(',');
  return comma == 2 ? rest.substr(0, 2) : "?";
}

class GeoDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Exists(std::string(kGeoDir) + "/GeoIP.dat") || !Exists(std::string(kGeoDir) + "/GeoIPv6.dat"))
      GTEST_SKIP() << "GeoIP country databases not in " << kGeoDir << " (Debian: geoip-database)";
    if (!Exists("/usr/bin/geoiplookup") || !Exists("/usr/bin/geoiplookup6"))
      GTEST_SKIP() << "geoiplookup/geoiplookup6 not installed (Debian: geoip-bin); they are the oracle";
    auto db = GeoDb::Open(kGeoDir);
    ASSERT_TRUE(db.ok()) << db.status().message();
    db_ = std::move(db.value());
  }
  std::unique_ptr<GeoDb> db_;
};

TEST_F(GeoDbTest, Ipv4MatchesGeoiplookup) {
  // Google (US), Yandex (RU), heise.de (DE), 114DNS (CN), Cloudflare, AliDNS (CN).
  for (const char* ip : {"8.8.8.8", "77.88.8.8", "193.99.144.80", "114.114.114.114", "1.1.1.1", "223.5.5.5"}) {
    std::string want = Oracle(ip, false);
    ASSERT_NE(want, "?") << "cannot run geoiplookup for " << ip;
    EXPECT_FALSE(want.empty()) << ip << " should be known to the database";
    EXPECT_EQ(db_->Country(ip), want) << ip;
  }
}

TEST_F(GeoDbTest, Ipv6MatchesGeoiplookup6) {
  // Google (US), Yandex (RU), Strato (DE), China Mobile (CN).
  for (const char* ip : {"2001:4860:4860::8888", "2a02:6b8::feed:0ff", "2a01:238::1", "240c::6666"}) {
    std::string want = Oracle(ip, true);
    ASSERT_NE(want, "?") << "cannot run geoiplookup6 for " << ip;
    EXPECT_FALSE(want.empty()) << ip << " should be known to the database";
    EXPECT_EQ(db_->Country(ip), want) << ip;
  }
}

TEST_F(GeoDbTest, Ipv4MappedUsesIpv4Database) {
  std::string want = Oracle("77.88.8.8", false);
  ASSERT_FALSE(want.empty());
  EXPECT_EQ(db_->Country("::ffff:77.88.8.8"), want);
  EXPECT_EQ(db_->Country("::FFFF:8.8.8.8"), Oracle("8.8.8.8", false));
}

TEST_F(GeoDbTest, PrivateAndSpecialRangesAreUnknown) {
  for (const char* ip : {"10.0.0.1", "192.168.1.1", "172.16.5.4", "127.0.0.1", "0.0.0.0", "::1", "fe80::1",
                         "fd00::1", "2001:db8::1", "::ffff:192.168.0.1"}) {
    EXPECT_EQ(db_->Country(ip), "") << ip;
  }
  EXPECT_EQ(Oracle("192.168.1.1", false), "");
  EXPECT_EQ(Oracle("fd00::1", true), "");
}

TEST_F(GeoDbTest, InvalidStringsAreUnknown) {
  for (const char* ip : {"", "8.8.8", "8.8.8.8.8", "256.1.1.1", "8.8.8.8 ", " 8.8.8.8", "8.8.8.8:80", "[::1]",
                         "2001:4860:4860::8888%eth0", "dns.google", "::ffff:999.1.1.1", "1:2:3:4:5:6:7:8:9"}) {
    EXPECT_EQ(db_->Country(ip), "") << "'" << ip << "'";
  }
  EXPECT_EQ(db_->Country(std::string_view("8.8.8.8\0x", 9)), "");
  EXPECT_EQ(db_->Country(std::string(200, '1')), "");
}

TEST_F(GeoDbTest, ConcurrentLookups) {
  std::string us = db_->Country("8.8.8.8"), ru = db_->Country("2a02:6b8::feed:0ff");
  std::vector<std::thread> ts;
  std::atomic<int> bad{0};
  for (int t = 0; t < 8; ++t)
    ts.emplace_back([&] {
      for (int i = 0; i < 20000; ++i)
        if (db_->Country(i % 2 ? "8.8.8.8" : "2a02:6b8::feed:0ff") != (i % 2 ? us : ru)) ++bad;
    });
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
}

TEST(GeoDbOpen, MissingDirectory) {
  auto db = GeoDb::Open("/nonexistent-geoip-dir");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), StatusCode::kNotFound);
}

TEST(ParseIpTest, CanonicalForms) {
  EXPECT_EQ(ParseIp("::ffff:10.1.2.3")->ToString(), "10.1.2.3");
  EXPECT_FALSE(ParseIp("::ffff:10.1.2.3")->v6);
  EXPECT_EQ(ParseIp("2001:DB8:0:0::1")->ToString(), "2001:db8::1");
  EXPECT_FALSE(ParseIp("1.2.3.4/8").has_value());
}

// ClientAddress -----------------------------------------------------------

std::string V(const Result<std::string>& r) { return r.ok() ? r.value() : "error: " + r.status().message(); }

TEST(ClientAddressTest, NoTrustedProxies) {
  auto ca = ClientAddress::Make({});
  ASSERT_TRUE(ca.ok());
  EXPECT_EQ(ca->header(), "X-Forwarded-For");
  auto r = ca->Resolve("203.0.113.7", std::nullopt);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "203.0.113.7");
  EXPECT_EQ(V(ca->Resolve("::ffff:203.0.113.7", std::nullopt)), "203.0.113.7");
  EXPECT_EQ(V(ca->Resolve("2001:DB8::7", std::nullopt)), "2001:db8::7");
  // A header from a direct client is a spoofing attempt.
  auto spoof = ca->Resolve("203.0.113.7", std::string("8.8.8.8"));
  ASSERT_FALSE(spoof.ok());
  EXPECT_EQ(spoof.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(ca->Resolve("203.0.113.7", std::string("")).ok());
  EXPECT_FALSE(ca->Resolve("not-an-ip", std::nullopt).ok());
}

TEST(ClientAddressTest, SpoofedHeaderFromUntrustedPeer) {
  auto ca = ClientAddress::Make({"10.0.0.0/8"});
  ASSERT_TRUE(ca.ok());
  EXPECT_FALSE(ca->Resolve("198.51.100.1", std::string("77.88.8.8")).ok());
  EXPECT_EQ(V(ca->Resolve("198.51.100.1", std::nullopt)), "198.51.100.1");
}

TEST(ClientAddressTest, TrustedIpv4Proxy) {
  auto ca = ClientAddress::Make({"10.0.0.0/8", "192.168.1.10"});
  ASSERT_TRUE(ca.ok());
  EXPECT_EQ(V(ca->Resolve("10.1.2.3", std::string("77.88.8.8"))), "77.88.8.8");
  EXPECT_EQ(V(ca->Resolve("192.168.1.10", std::string(" 77.88.8.8 "))), "77.88.8.8");
  EXPECT_FALSE(ca->Resolve("192.168.1.11", std::string("77.88.8.8")).ok());  // /32 only
  // IPv4-mapped peer address of an IPv4 proxy (dual-stack socket).
  EXPECT_EQ(V(ca->Resolve("::ffff:10.9.9.9", std::string("8.8.8.8"))), "8.8.8.8");
  // Without the header the request comes from the proxy's host itself.
  EXPECT_EQ(V(ca->Resolve("10.1.2.3", std::nullopt)), "10.1.2.3");
}

TEST(ClientAddressTest, TrustedIpv6Proxy) {
  auto ca = ClientAddress::Make({"2001:db8:100::/40", "fd00::/8"});
  ASSERT_TRUE(ca.ok());
  EXPECT_EQ(V(ca->Resolve("2001:db8:1ff::1", std::string("2a02:6b8::feed:0ff"))), "2a02:6b8::feed:ff");
  EXPECT_EQ(V(ca->Resolve("fd12::1", std::string("[2001:4860:4860::8888]"))), "2001:4860:4860::8888");
  EXPECT_FALSE(ca->Resolve("2001:db8:200::1", std::string("8.8.8.8")).ok());  // outside /40
  EXPECT_FALSE(ca->Resolve("10.0.0.1", std::string("8.8.8.8")).ok());        // v4 never in a v6 CIDR
}

TEST(ClientAddressTest, ChainsOfProxies) {
  auto ca = ClientAddress::Make({"10.0.0.0/8", "2001:db8::/32"});
  ASSERT_TRUE(ca.ok());
  // client, then proxies appended right to left: the right-most untrusted wins.
  EXPECT_EQ(V(ca->Resolve("10.0.0.1", std::string("77.88.8.8, 10.0.0.2, 2001:db8::5"))), "77.88.8.8");
  // Whatever the client itself put in front is not believed.
  EXPECT_EQ(V(ca->Resolve("10.0.0.1", std::string("1.2.3.4, 77.88.8.8, 10.0.0.2"))), "77.88.8.8");
  EXPECT_EQ(V(ca->Resolve("10.0.0.1", std::string("1.2.3.4,77.88.8.8"))), "77.88.8.8");
  // Every hop trusted: the left-most is the client (an internal machine).
  EXPECT_EQ(V(ca->Resolve("10.0.0.1", std::string("10.5.5.5, 10.0.0.2"))), "10.5.5.5");
}

TEST(ClientAddressTest, MalformedHeaderIsAnError) {
  auto ca = ClientAddress::Make({"10.0.0.0/8"});
  ASSERT_TRUE(ca.ok());
  for (const char* h : {"", " ", "77.88.8.8,", ",77.88.8.8", "77.88.8.8,,10.0.0.2", "unknown", "77.88.8.8:443",
                        "[77.88.8.8]", "77.88.8.8 10.0.0.2", "2001:db8::1%eth0", "[2001:db8::1"}) {
    auto r = ca->Resolve("10.0.0.1", std::string(h));
    EXPECT_FALSE(r.ok()) << "'" << h << "' -> " << (r.ok() ? *r : "");
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

TEST(ClientAddressTest, CustomHeaderAndBadConfig) {
  auto ca = ClientAddress::Make({"127.0.0.1/32"}, "X-Real-IP");
  ASSERT_TRUE(ca.ok());
  EXPECT_EQ(ca->header(), "X-Real-IP");
  EXPECT_EQ(V(ca->Resolve("127.0.0.1", std::string("8.8.8.8"))), "8.8.8.8");
  EXPECT_FALSE(ClientAddress::Make({"10.0.0.0/33"}).ok());
  EXPECT_FALSE(ClientAddress::Make({"2001:db8::/129"}).ok());
  EXPECT_FALSE(ClientAddress::Make({"10.0.0.0/"}).ok());
  EXPECT_FALSE(ClientAddress::Make({"10.0.0.0/-1"}).ok());
  EXPECT_FALSE(ClientAddress::Make({"example.com/8"}).ok());
  EXPECT_FALSE(ClientAddress::Make({}, "").ok());
  EXPECT_FALSE(ClientAddress::Make({}, "X Forwarded").ok());
  // 0.0.0.0/0 trusts every IPv4 peer.
  auto all = ClientAddress::Make({"0.0.0.0/0"});
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(V(all->Resolve("198.51.100.9", std::string("8.8.8.8"))), "8.8.8.8");
  // An IPv4-mapped CIDR means the IPv4 network.
  auto mapped = ClientAddress::Make({"::ffff:10.0.0.0/104"});
  ASSERT_TRUE(mapped.ok());
  EXPECT_EQ(V(mapped->Resolve("10.3.3.3", std::string("8.8.8.8"))), "8.8.8.8");
  EXPECT_FALSE(mapped->Resolve("11.3.3.3", std::string("8.8.8.8")).ok());
}

}  // namespace
}  // namespace vigil::fleet
