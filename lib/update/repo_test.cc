#include "update/repo.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>

#include "update/archive.h"
#include "update/util.h"

namespace vigil::update {
namespace {

class RepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/vigil-repo-test-XXXXXX";
    root_ = mkdtemp(tmpl);
    repo_ = root_ + "/repo";
    db_ = root_ + "/db";
    ASSERT_TRUE(MakeDirs(db_).ok());
    release_ = GenerateSigner("test/release").value();
    log_key_ = GenerateSigner("test/log").value();
  }
  void TearDown() override { (void)RemoveTree(root_); }

  void WriteDb(int lines, const std::string& extra = "") {
    std::string s;
    for (int i = 0; i < lines; ++i)
      s += "0123456789abcdef0123456789abcd" + std::to_string(10 + i) + ":" + std::to_string(i) + ":S" +
           std::to_string(i) + "\n";
    ASSERT_TRUE(WriteFileAtomic(db_ + "/daily.hdb", s + extra).ok());
    ASSERT_TRUE(WriteFileAtomic(db_ + "/main.ndb", "A:0:*:41424344\n").ok());
  }

  Result<PublishResult> Publish(int64_t now = 1727582400) {
    PublishOptions o;
    o.repo = repo_;
    o.db_dir = db_;
    o.release_key = release_;
    o.log_key = log_key_;
    o.now = now;
    o.engine_min = "0.1.0";
    o.zstd_level = 3;
    o.validate = [](const std::string& dir) -> Result<uint64_t> {
      auto files = ReadDbDir(dir);
      if (!files.ok()) return files.status();
      uint64_t n = 0;
      for (auto& [name, c] : *files) n += CountSignatureLines(c);
      return n;
    };
    return update::Publish(o);
  }

  std::string Read(const std::string& rel) { return ReadFile(repo_ + "/" + rel).value(); }

  std::string root_, repo_, db_;
  NoteSigner release_, log_key_;
};

TEST_F(RepoTest, PublishesSignedLoggedReleasesWithDeltas) {
  WriteDb(1000);
  auto r1 = Publish();
  ASSERT_TRUE(r1.ok()) << r1.status().message();
  EXPECT_EQ(r1->manifest.version, 1u);
  EXPECT_EQ(r1->tree_size, 1u);
  EXPECT_EQ(r1->manifest.signatures, 1001u);
  EXPECT_TRUE(r1->manifest.deltas.empty());

  WriteDb(1050, "extra:1:X\n");
  auto r2 = Publish();
  ASSERT_TRUE(r2.ok()) << r2.status().message();
  WriteDb(1100);
  auto r3 = Publish();
  ASSERT_TRUE(r3.ok());
  EXPECT_EQ(r3->manifest.version, 3u);
  ASSERT_EQ(r3->manifest.deltas.size(), 2u);
  EXPECT_LT(r3->delta_bytes, r3->bundle_bytes);

  // The checkpoint is signed by the log key and covers all three entries.
  auto cp_text = OpenNote(Read("log/checkpoint"), log_key_.Verifier());
  ASSERT_TRUE(cp_text.ok()) << cp_text.status().message();
  auto cp = ParseCheckpoint(*cp_text);
  ASSERT_TRUE(cp.ok());
  EXPECT_EQ(cp->origin, "test/log");
  EXPECT_EQ(cp->size, 3u);

  // The channel's manifest is the latest, signed by the release key, and in the log.
  std::string note = Read(paths::ChannelManifest("stable"));
  auto text = OpenNote(note, release_.Verifier());
  ASSERT_TRUE(text.ok());
  auto m = ParseManifest(*text);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->version, 3u);
  Hash leaf = LeafHash(note);
  auto ip = ParseInclusionProof(Read(paths::Inclusion(3, leaf)));
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->index, 2u);
  EXPECT_TRUE(VerifyInclusion(ip->index, 3, leaf, ip->path, cp->root).ok());

  // Older checkpoints are consistent with the latest.
  for (uint64_t old = 1; old < 3; ++old) {
    auto old_cp = ParseCheckpoint(OpenNote(Read(paths::CheckpointAt(old)), log_key_.Verifier()).value());
    auto proof = ParseConsistencyProof(Read(paths::Consistency(old, 3)));
    ASSERT_TRUE(proof.ok());
    EXPECT_TRUE(VerifyConsistency(old, 3, old_cp->root, cp->root, proof->path).ok());
  }

  // Delta 2 -> 3 applied to release 2 reproduces release 3 byte for byte.
  auto files_of = [&](uint64_t v) {
    auto z = Read(paths::ReleaseFile("stable", v, paths::BundleName()));
    return DecodeBundle(ZstdDecompress(z, 1 << 30).value()).value();
  };
  const DeltaArtifact& d = r3->manifest.deltas[1];
  EXPECT_EQ(d.from_version, 2u);
  std::string dz = Read(paths::ReleaseFile("stable", 3, d.artifact.name));
  EXPECT_EQ(Sha256(dz), d.artifact.sha256);
  auto applied = ApplyDelta(ZstdDecompress(dz, d.artifact.raw_size).value(), files_of(2));
  ASSERT_TRUE(applied.ok());
  EXPECT_EQ(EncodeBundle(*applied), EncodeBundle(files_of(3)));
  for (const auto& f : r3->manifest.files) EXPECT_EQ(Sha256((*applied)[f.name]), f.sha256);
}

TEST_F(RepoTest, RecoversFromATornLeafAppendAndRefusesBadDatabases) {
  WriteDb(10);
  ASSERT_TRUE(Publish().ok());
  // A crash in the middle of appending a leaf hash leaves a partial hash.
  std::string leaves = Read("private/leaves");
  ASSERT_TRUE(WriteFileAtomic(repo_ + "/private/leaves", leaves + "partial", 0600).ok());
  WriteDb(20);
  auto r = Publish();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->tree_size, 2u);
  EXPECT_EQ(Read("private/leaves").size(), 64u);

  ASSERT_TRUE(WriteFileAtomic(db_ + "/bad name.hdb", "x\n").ok());
  EXPECT_FALSE(Publish().ok());
  ASSERT_EQ(unlink((db_ + "/bad name.hdb").c_str()), 0);
  // A tampered log entry is detected before anything is appended.
  ASSERT_TRUE(WriteFileAtomic(repo_ + "/log/entries/0", "tampered\n").ok());
  EXPECT_FALSE(Publish().ok());
}

}  // namespace
}  // namespace vigil::update
