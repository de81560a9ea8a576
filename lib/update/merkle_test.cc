#include "update/merkle.h"

#include <gtest/gtest.h>

#include <functional>


namespace vigil::update {
namespace {

std::string Data(int i) { return "leaf-" + std::to_string(i); }

// The 7-leaf example tree of RFC 6962 section 2.1.3, node by node:
//   root = H(k, l); k = H(g, h); l = H(i, j); g = H(a, b); h = H(c, d);
//   i = H(e, f); a..f and j are the leaf hashes of d0..d6.
struct Rfc6962Example {
  Hash a = LeafHash(Data(0)), b = LeafHash(Data(1)), c = LeafHash(Data(2)), d = LeafHash(Data(3)),
       e = LeafHash(Data(4)), f = LeafHash(Data(5)), j = LeafHash(Data(6));
  Hash g = NodeHash(a, b), h = NodeHash(c, d), i = NodeHash(e, f);
  Hash k = NodeHash(g, h), l = NodeHash(i, j);
  Hash root = NodeHash(k, l);
  MerkleTree tree;
  Rfc6962Example() {
    for (int n = 0; n < 7; ++n) tree.Append(LeafHash(Data(n)));
  }
};

TEST(MerkleTest, LeafAndNodeHashesArePrefixed) {
  // SHA-256 of the empty string, of 0x00, and of 0x01||x||y by definition.
  EXPECT_EQ(Hex(EmptyTreeHash()), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(LeafHash("")), "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d");
  Hash x = LeafHash("x"), y = LeafHash("y");
  std::string cat = std::string(1, '\x01') + std::string(x.begin(), x.end()) + std::string(y.begin(), y.end());
  EXPECT_EQ(NodeHash(x, y), Sha256(cat));
  EXPECT_NE(LeafHash("x"), Sha256("x"));
}

TEST(MerkleTest, RootsOfSmallTreesByHand) {
  Rfc6962Example t;
  EXPECT_EQ(t.tree.Root(0).value(), EmptyTreeHash());
  EXPECT_EQ(t.tree.Root(1).value(), t.a);
  EXPECT_EQ(t.tree.Root(2).value(), t.g);
  EXPECT_EQ(t.tree.Root(3).value(), NodeHash(t.g, t.c));
  EXPECT_EQ(t.tree.Root(4).value(), t.k);
  EXPECT_EQ(t.tree.Root(5).value(), NodeHash(t.k, t.e));
  EXPECT_EQ(t.tree.Root(6).value(), NodeHash(t.k, t.i));
  EXPECT_EQ(t.tree.Root(7).value(), t.root);
  EXPECT_FALSE(t.tree.Root(8).ok());
}

TEST(MerkleTest, InclusionProofsOfTheRfcExample) {
  Rfc6962Example t;
  EXPECT_EQ(t.tree.InclusionProof(0, 7).value(), (std::vector<Hash>{t.b, t.h, t.l}));
  EXPECT_EQ(t.tree.InclusionProof(3, 7).value(), (std::vector<Hash>{t.c, t.g, t.l}));
  EXPECT_EQ(t.tree.InclusionProof(4, 7).value(), (std::vector<Hash>{t.f, t.j, t.k}));
  EXPECT_EQ(t.tree.InclusionProof(6, 7).value(), (std::vector<Hash>{t.i, t.k}));
  EXPECT_TRUE(t.tree.InclusionProof(0, 1)->empty());
  EXPECT_TRUE(VerifyInclusion(0, 7, t.a, {t.b, t.h, t.l}, t.root).ok());
  EXPECT_TRUE(VerifyInclusion(4, 7, t.e, {t.f, t.j, t.k}, t.root).ok());
  EXPECT_TRUE(VerifyInclusion(6, 7, t.j, {t.i, t.k}, t.root).ok());
  EXPECT_FALSE(VerifyInclusion(4, 7, t.f, {t.f, t.j, t.k}, t.root).ok());      // wrong leaf
  EXPECT_FALSE(VerifyInclusion(5, 7, t.e, {t.f, t.j, t.k}, t.root).ok());      // wrong index
  EXPECT_FALSE(VerifyInclusion(4, 7, t.e, {t.f, t.j}, t.root).ok());           // too short
  EXPECT_FALSE(VerifyInclusion(4, 7, t.e, {t.f, t.j, t.k, t.a}, t.root).ok()); // too long
  EXPECT_FALSE(VerifyInclusion(7, 7, t.e, {}, t.root).ok());                   // beyond the tree
}

TEST(MerkleTest, ConsistencyProofsOfTheRfcExample) {
  Rfc6962Example t;
  EXPECT_EQ(t.tree.ConsistencyProof(3, 7).value(), (std::vector<Hash>{t.c, t.d, t.g, t.l}));
  EXPECT_EQ(t.tree.ConsistencyProof(4, 7).value(), (std::vector<Hash>{t.l}));
  EXPECT_EQ(t.tree.ConsistencyProof(6, 7).value(), (std::vector<Hash>{t.i, t.j, t.k}));
  EXPECT_TRUE(t.tree.ConsistencyProof(7, 7)->empty());
  Hash r3 = NodeHash(t.g, t.c), r6 = NodeHash(t.k, t.i);
  EXPECT_TRUE(VerifyConsistency(3, 7, r3, t.root, {t.c, t.d, t.g, t.l}).ok());
  EXPECT_TRUE(VerifyConsistency(4, 7, t.k, t.root, {t.l}).ok());
  EXPECT_TRUE(VerifyConsistency(6, 7, r6, t.root, {t.i, t.j, t.k}).ok());
  EXPECT_TRUE(VerifyConsistency(7, 7, t.root, t.root, {}).ok());
  EXPECT_TRUE(VerifyConsistency(0, 7, EmptyTreeHash(), t.root, {}).ok());
  // A forked history: same size 4, other content.
  EXPECT_FALSE(VerifyConsistency(4, 7, t.h, t.root, {t.l}).ok());
  EXPECT_FALSE(VerifyConsistency(3, 7, r3, t.root, {t.c, t.d, t.g}).ok());
  EXPECT_FALSE(VerifyConsistency(7, 7, t.root, t.k, {}).ok());
  EXPECT_FALSE(VerifyConsistency(6, 7, r6, t.root, {}).ok());
  EXPECT_FALSE(VerifyConsistency(7, 6, t.root, r6, {t.i}).ok());
}

// The RFC's definitions, written directly, as the oracle for all small trees.
Hash NaiveRoot(const std::vector<Hash>& d, size_t lo, size_t hi) {
  if (hi - lo == 1) return d[lo];
  size_t k = 1;
  while (k * 2 < hi - lo) k *= 2;
  return NodeHash(NaiveRoot(d, lo, lo + k), NaiveRoot(d, lo + k, hi));
}

TEST(MerkleTest, EveryProofOfEveryTreeUpTo40Verifies) {
  MerkleTree tree;
  std::vector<Hash> leaves;
  for (int i = 0; i < 40; ++i) {
    leaves.push_back(LeafHash(Data(i)));
    tree.Append(leaves.back());
  }
  for (uint64_t n = 1; n <= 40; ++n) {
    Hash root = tree.Root(n).value();
    ASSERT_EQ(root, NaiveRoot(leaves, 0, n)) << n;
    for (uint64_t i = 0; i < n; ++i) {
      auto p = tree.InclusionProof(i, n).value();
      ASSERT_TRUE(VerifyInclusion(i, n, leaves[i], p, root).ok()) << i << "/" << n;
      if (!p.empty()) {
        p[p.size() / 2][0] ^= 1;
        EXPECT_FALSE(VerifyInclusion(i, n, leaves[i], p, root).ok());
      }
    }
    for (uint64_t m = 1; m <= n; ++m) {
      auto p = tree.ConsistencyProof(m, n).value();
      Hash old_root = tree.Root(m).value();
      ASSERT_TRUE(VerifyConsistency(m, n, old_root, root, p).ok()) << m << "->" << n;
      if (m < n) {
        Hash other = old_root;
        other[0] ^= 1;
        EXPECT_FALSE(VerifyConsistency(m, n, other, root, p).ok()) << m << "->" << n;
        p.back()[5] ^= 1;
        EXPECT_FALSE(VerifyConsistency(m, n, old_root, root, p).ok()) << m << "->" << n;
      }
    }
  }
}

TEST(MerkleTest, ProofMessagesRoundTrip) {
  Rfc6962Example t;
  InclusionProofMsg ip{4, 7, t.tree.InclusionProof(4, 7).value()};
  auto ip2 = ParseInclusionProof(FormatInclusionProof(ip));
  ASSERT_TRUE(ip2.ok()) << ip2.status().message();
  EXPECT_EQ(ip2->index, 4u);
  EXPECT_EQ(ip2->tree_size, 7u);
  EXPECT_EQ(ip2->path, ip.path);
  ConsistencyProofMsg cp{3, 7, t.tree.ConsistencyProof(3, 7).value()};
  auto cp2 = ParseConsistencyProof(FormatConsistencyProof(cp));
  ASSERT_TRUE(cp2.ok());
  EXPECT_EQ(cp2->path, cp.path);
  for (const char* bad : {"", "vigil-inclusion-proof 1\nindex 7\ntree-size 7\n",
                          "vigil-inclusion-proof 1\nindex 1\ntree-size 7",
                          "vigil-inclusion-proof 2\nindex 1\ntree-size 7\n",
                          "vigil-inclusion-proof 1\nindex 01\ntree-size 7\n",
                          "vigil-inclusion-proof 1\nindex 1\ntree-size 7\nAAAA\n"})
    EXPECT_FALSE(ParseInclusionProof(bad).ok()) << bad;
}

TEST(MerkleTest, CheckpointTextRoundTripsAndRejectsMalformed) {
  Checkpoint c{"example.com/log", 20852163, LeafHash("x"), {"ext one"}};
  std::string text = FormatCheckpoint(c);
  auto p = ParseCheckpoint(text);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->origin, c.origin);
  EXPECT_EQ(p->size, c.size);
  EXPECT_EQ(p->root, c.root);
  EXPECT_EQ(p->extensions, c.extensions);
  // The C2SP tlog-checkpoint example's body.
  auto ex = ParseCheckpoint("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n");
  ASSERT_TRUE(ex.ok());
  EXPECT_EQ(ex->size, 20852163u);
  for (const char* bad : {"", "o\n1\n", "o\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
                          "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
                          "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2=\n",
                          "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"})
    EXPECT_FALSE(ParseCheckpoint(bad).ok()) << bad;
}

}  // namespace
}  // namespace vigil::update
