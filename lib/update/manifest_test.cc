#include "update/manifest.h"

#include <gtest/gtest.h>

namespace vigil::update {
namespace {

Manifest Sample() {
  Manifest m;
  m.channel = "stable";
  m.version = 7;
  m.created = 1727582400;
  m.expires = m.created + 7 * 86400;
  m.engine_min = "0.1.0";
  m.signatures = 12345;
  m.bundle = {"bundle.vgb.zst", 1000, Sha256("b"), 5000};
  m.deltas.push_back({5, {"delta-from-5.vgd.zst", 300, Sha256("d5"), 900}});
  m.deltas.push_back({6, {"delta-from-6.vgd.zst", 100, Sha256("d6"), 400}});
  m.files.push_back({"daily.hdb", 4000, Sha256("x"), 100});
  m.files.push_back({"main.ndb", 1000, Sha256("y"), 20});
  return m;
}

TEST(ManifestTest, FormatIsCanonicalAndRoundTrips) {
  std::string text = FormatManifest(Sample());
  EXPECT_EQ(text.substr(0, 52), "vigil-manifest 1\nchannel stable\nversion 7\ncreated 20");
  auto m = ParseManifest(text);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(FormatManifest(*m), text);
  EXPECT_EQ(m->deltas.size(), 2u);
  EXPECT_EQ(m->deltas[1].from_version, 6u);
  EXPECT_EQ(m->files[0].name, "daily.hdb");
  EXPECT_EQ(m->expires - m->created, 7 * 86400);
}

TEST(ManifestTest, RejectsEverythingNotCanonical) {
  std::string good = FormatManifest(Sample());
  auto replace = [&](const std::string& from, const std::string& to) {
    std::string s = good;
    size_t p = s.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    s.replace(p, from.size(), to);
    return s;
  };
  std::vector<std::string> bad = {
      "",
      good.substr(0, good.size() - 1),                 // no final newline
      replace("vigil-manifest 1", "vigil-manifest 2"),  // unknown format
      replace("version 7", "version 07"),
      replace("version 7", "version 0"),
      replace("channel stable", "channel ../x"),
      replace("channel stable\n", ""),                 // missing field
      replace("created 2024", "created 1924"),
      replace("engine-min 0.1.0", "engine-min 0.1"),
      replace("daily.hdb", "zz.hdb"),                  // files out of order
      replace("delta 5", "delta 8"),                   // delta not below version
      replace("signatures 12345", "signatures  12345"),
      good + "extra 1\n",
      replace("bundle.vgb.zst", "bundle/x"),
  };
  for (const auto& s : bad) EXPECT_FALSE(ParseManifest(s).ok()) << s;
}

TEST(ManifestTest, ComparesEngineVersions) {
  int c;
  ASSERT_TRUE(CompareVersions("0.1.0", "0.10.0", &c));
  EXPECT_LT(c, 0);
  ASSERT_TRUE(CompareVersions("1.0.0", "0.99.99", &c));
  EXPECT_GT(c, 0);
  EXPECT_FALSE(CompareVersions("1.0", "1.0.0", &c));
  EXPECT_TRUE(ValidName("daily.hdb"));
  EXPECT_FALSE(ValidName(".hidden"));
  EXPECT_FALSE(ValidName("a/b"));
}

}  // namespace
}  // namespace vigil::update
