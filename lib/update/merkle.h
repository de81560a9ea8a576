// The transparency log's Merkle tree, hashed as in RFC 6962 / RFC 9162
// section 2.1: leaf hash = SHA-256(0x00 || data), interior node =
// SHA-256(0x01 || left || right), the empty tree's hash = SHA-256("").
// A tree of n leaves splits at k, the largest power of two below n.
//
// Inclusion proofs (RFC 9162 2.1.3) and consistency proofs (2.1.4) are made
// from the stored tree and verified by the algorithms of 2.1.3.2 and 2.1.4.2,
// which need only the proof, the sizes and the root hashes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "update/util.h"
#include "vigil/status.h"

namespace vigil::update {

Hash LeafHash(std::string_view leaf_data);
Hash NodeHash(const Hash& left, const Hash& right);
Hash EmptyTreeHash();

// An append-only tree held in memory. It keeps the hash of every complete,
// aligned subtree (2n hashes for n leaves), so the root of any prefix and
// any proof costs O(log^2 n) hash operations.
class MerkleTree {
 public:
  void Append(const Hash& leaf_hash);
  uint64_t size() const { return levels_.empty() ? 0 : levels_[0].size(); }
  const Hash& leaf(uint64_t i) const { return levels_[0][i]; }

  // Root of the tree made of the first n leaves (n <= size()).
  Result<Hash> Root(uint64_t n) const;
  Result<std::vector<Hash>> InclusionProof(uint64_t index, uint64_t n) const;
  Result<std::vector<Hash>> ConsistencyProof(uint64_t m, uint64_t n) const;

 private:
  Hash Subtree(uint64_t lo, uint64_t hi) const;  // MTH(D[lo:hi])
  void Path(uint64_t m, uint64_t lo, uint64_t hi, std::vector<Hash>* out) const;
  void SubProof(uint64_t m, uint64_t lo, uint64_t hi, bool whole, std::vector<Hash>* out) const;
  std::vector<std::vector<Hash>> levels_;  // levels_[k][i] = MTH(D[i*2^k : (i+1)*2^k])
};

// RFC 9162 2.1.3.2. OK when `proof` shows the leaf at `index` is in the tree
// of `tree_size` leaves whose root is `root`.
Status VerifyInclusion(uint64_t index, uint64_t tree_size, const Hash& leaf_hash,
                       const std::vector<Hash>& proof, const Hash& root);
// RFC 9162 2.1.4.2. OK when the tree of `new_size` leaves with root `new_root`
// extends the tree of `old_size` leaves with root `old_root`.
Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                         const Hash& new_root, const std::vector<Hash>& proof);

// Proofs on the wire (docs/formats/update-manifest.md):
//   vigil-inclusion-proof 1\n index N\n tree-size N\n then one base64 hash per line
//   vigil-consistency-proof 1\n old-size N\n new-size N\n then one base64 hash per line
struct InclusionProofMsg {
  uint64_t index = 0;
  uint64_t tree_size = 0;
  std::vector<Hash> path;
};
struct ConsistencyProofMsg {
  uint64_t old_size = 0;
  uint64_t new_size = 0;
  std::vector<Hash> path;
};
std::string FormatInclusionProof(const InclusionProofMsg& p);
std::string FormatConsistencyProof(const ConsistencyProofMsg& p);
Result<InclusionProofMsg> ParseInclusionProof(std::string_view text);
Result<ConsistencyProofMsg> ParseConsistencyProof(std::string_view text);

// A checkpoint's text (C2SP tlog-checkpoint): origin line, decimal tree
// size, base64 root hash, then optional extension lines. It is signed as a
// note by the log key.
struct Checkpoint {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;
};
std::string FormatCheckpoint(const Checkpoint& c);
Result<Checkpoint> ParseCheckpoint(std::string_view text);

}  // namespace vigil::update
