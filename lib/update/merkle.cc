#include "update/merkle.h"

#include <bit>
#include <cstring>

namespace vigil::update {
namespace {

// Largest power of two strictly less than n (n >= 2).
uint64_t SplitPoint(uint64_t n) { return std::bit_floor(n - 1); }

constexpr size_t kMaxProofHashes = 130;  // > 2 * 64: no valid proof is longer

std::vector<std::string_view> Lines(std::string_view text, bool* ok) {
  std::vector<std::string_view> lines;
  *ok = !text.empty() && text.back() == '\n';
  while (!text.empty()) {
    size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      *ok = false;
      break;
    }
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  return lines;
}

bool KeyValue(std::string_view line, std::string_view key, uint64_t* v) {
  if (line.size() <= key.size() + 1 || line.substr(0, key.size()) != key || line[key.size()] != ' ')
    return false;
  return ParseU64(line.substr(key.size() + 1), v);
}

bool ParseB64Hash(std::string_view s, Hash* h) {
  std::string raw;
  if (s.size() != 44 || !Base64Decode(s, &raw) || raw.size() != 32) return false;
  std::memcpy(h->data(), raw.data(), 32);
  return true;
}

std::string B64(const Hash& h) {
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(h.data()), h.size()));
}

Status ParseProofHashes(const std::vector<std::string_view>& lines, size_t first,
                        std::vector<Hash>* out) {
  if (lines.size() - first > kMaxProofHashes) return Status::Corruption("proof too long");
  for (size_t i = first; i < lines.size(); ++i) {
    Hash h;
    if (!ParseB64Hash(lines[i], &h)) return Status::Corruption("proof: malformed hash line");
    out->push_back(h);
  }
  return Status::Ok();
}

}  // namespace

Hash LeafHash(std::string_view data) {
  Sha256Stream s;
  const uint8_t prefix = 0x00;
  s.Update(&prefix, 1);
  s.Update(data.data(), data.size());
  return s.Final();
}

Hash NodeHash(const Hash& l, const Hash& r) {
  Sha256Stream s;
  const uint8_t prefix = 0x01;
  s.Update(&prefix, 1);
  s.Update(l.data(), l.size());
  s.Update(r.data(), r.size());
  return s.Final();
}

Hash EmptyTreeHash() { return Sha256(""); }

void MerkleTree::Append(const Hash& leaf) {
  if (levels_.empty()) levels_.emplace_back();
  levels_[0].push_back(leaf);
  for (size_t k = 0; levels_[k].size() % 2 == 0; ++k) {
    if (levels_.size() == k + 1) levels_.emplace_back();
    const auto& lv = levels_[k];
    levels_[k + 1].push_back(NodeHash(lv[lv.size() - 2], lv[lv.size() - 1]));
  }
}

Hash MerkleTree::Subtree(uint64_t lo, uint64_t hi) const {
  uint64_t n = hi - lo;
  if (std::has_single_bit(n) && lo % n == 0) {
    int k = std::countr_zero(n);
    return levels_[k][lo >> k];
  }
  uint64_t k = SplitPoint(n);
  return NodeHash(Subtree(lo, lo + k), Subtree(lo + k, hi));
}

Result<Hash> MerkleTree::Root(uint64_t n) const {
  if (n > size()) return Status::InvalidArgument("tree size " + std::to_string(n) + " beyond the log");
  if (n == 0) return EmptyTreeHash();
  return Subtree(0, n);
}

// PATH(m, D[lo:hi]) of RFC 9162 2.1.3.1, with m relative to lo.
void MerkleTree::Path(uint64_t m, uint64_t lo, uint64_t hi, std::vector<Hash>* out) const {
  uint64_t n = hi - lo;
  if (n <= 1) return;
  uint64_t k = SplitPoint(n);
  if (m < k) {
    Path(m, lo, lo + k, out);
    out->push_back(Subtree(lo + k, hi));
  } else {
    Path(m - k, lo + k, hi, out);
    out->push_back(Subtree(lo, lo + k));
  }
}

Result<std::vector<Hash>> MerkleTree::InclusionProof(uint64_t index, uint64_t n) const {
  if (n > size() || index >= n)
    return Status::InvalidArgument("no leaf " + std::to_string(index) + " in a tree of " + std::to_string(n));
  std::vector<Hash> out;
  Path(index, 0, n, &out);
  return out;
}

// SUBPROOF(m, D[lo:hi], whole) of RFC 9162 2.1.4.1.
void MerkleTree::SubProof(uint64_t m, uint64_t lo, uint64_t hi, bool whole, std::vector<Hash>* out) const {
  uint64_t n = hi - lo;
  if (m == n) {
    if (!whole) out->push_back(Subtree(lo, hi));
    return;
  }
  uint64_t k = SplitPoint(n);
  if (m <= k) {
    SubProof(m, lo, lo + k, whole, out);
    out->push_back(Subtree(lo + k, hi));
  } else {
    SubProof(m - k, lo + k, hi, false, out);
    out->push_back(Subtree(lo, lo + k));
  }
}

Result<std::vector<Hash>> MerkleTree::ConsistencyProof(uint64_t m, uint64_t n) const {
  if (n > size() || m > n || m == 0)
    return Status::InvalidArgument("no consistency proof from " + std::to_string(m) + " to " + std::to_string(n));
  std::vector<Hash> out;
  SubProof(m, 0, n, true, &out);
  return out;
}

Status VerifyInclusion(uint64_t index, uint64_t tree_size, const Hash& leaf_hash,
                       const std::vector<Hash>& proof, const Hash& root) {
  if (index >= tree_size) return Status::Corruption("inclusion proof: leaf index beyond the tree");
  uint64_t fn = index, sn = tree_size - 1;
  Hash r = leaf_hash;
  for (const Hash& p : proof) {
    if (sn == 0) return Status::Corruption("inclusion proof: too long");
    if ((fn & 1) || fn == sn) {
      r = NodeHash(p, r);
      if (!(fn & 1)) {
        while (fn != 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::Corruption("inclusion proof: too short");
  if (r != root) return Status::Corruption("inclusion proof: root hash mismatch");
  return Status::Ok();
}

Status VerifyConsistency(uint64_t old_size, uint64_t new_size, const Hash& old_root,
                         const Hash& new_root, const std::vector<Hash>& proof) {
  if (old_size > new_size) return Status::Corruption("consistency proof: old tree larger than new");
  if (old_size == new_size) {
    if (!proof.empty()) return Status::Corruption("consistency proof: must be empty for equal sizes");
    if (old_root != new_root) return Status::Corruption("consistency proof: same size, different roots");
    return Status::Ok();
  }
  if (old_size == 0) {
    // Every tree extends the empty tree; RFC 9162 defines no proof for it.
    if (!proof.empty()) return Status::Corruption("consistency proof: must be empty from size 0");
    return Status::Ok();
  }
  if (proof.empty()) return Status::Corruption("consistency proof: empty");
  std::vector<Hash> path;
  if (std::has_single_bit(old_size)) path.push_back(old_root);
  path.insert(path.end(), proof.begin(), proof.end());
  uint64_t fn = old_size - 1, sn = new_size - 1;
  while (fn & 1) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = path[0], sr = path[0];
  for (size_t i = 1; i < path.size(); ++i) {
    const Hash& c = path[i];
    if (sn == 0) return Status::Corruption("consistency proof: too long");
    if ((fn & 1) || fn == sn) {
      fr = NodeHash(c, fr);
      sr = NodeHash(c, sr);
      if (!(fn & 1)) {
        while (fn != 0 && !(fn & 1)) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      sr = NodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Status::Corruption("consistency proof: too short");
  if (fr != old_root) return Status::Corruption("consistency proof: old root mismatch");
  if (sr != new_root) return Status::Corruption("consistency proof: new root mismatch");
  return Status::Ok();
}

std::string FormatInclusionProof(const InclusionProofMsg& p) {
  std::string s = "vigil-inclusion-proof 1\nindex " + std::to_string(p.index) + "\ntree-size " +
                  std::to_string(p.tree_size) + "\n";
  for (const Hash& h : p.path) s += B64(h) + "\n";
  return s;
}

std::string FormatConsistencyProof(const ConsistencyProofMsg& p) {
  std::string s = "vigil-consistency-proof 1\nold-size " + std::to_string(p.old_size) + "\nnew-size " +
                  std::to_string(p.new_size) + "\n";
  for (const Hash& h : p.path) s += B64(h) + "\n";
  return s;
}

Result<InclusionProofMsg> ParseInclusionProof(std::string_view text) {
  bool ok;
  auto lines = Lines(text, &ok);
  InclusionProofMsg p;
  if (!ok || lines.size() < 3 || lines[0] != "vigil-inclusion-proof 1" ||
      !KeyValue(lines[1], "index", &p.index) || !KeyValue(lines[2], "tree-size", &p.tree_size))
    return Status::Corruption("malformed inclusion proof");
  if (p.index >= p.tree_size) return Status::Corruption("inclusion proof: index beyond tree size");
  VIGIL_RETURN_IF_ERROR(ParseProofHashes(lines, 3, &p.path));
  return p;
}

Result<ConsistencyProofMsg> ParseConsistencyProof(std::string_view text) {
  bool ok;
  auto lines = Lines(text, &ok);
  ConsistencyProofMsg p;
  if (!ok || lines.size() < 3 || lines[0] != "vigil-consistency-proof 1" ||
      !KeyValue(lines[1], "old-size", &p.old_size) || !KeyValue(lines[2], "new-size", &p.new_size))
    return Status::Corruption("malformed consistency proof");
  if (p.old_size > p.new_size) return Status::Corruption("consistency proof: old size above new size");
  VIGIL_RETURN_IF_ERROR(ParseProofHashes(lines, 3, &p.path));
  return p;
}

std::string FormatCheckpoint(const Checkpoint& c) {
  std::string s = c.origin + "\n" + std::to_string(c.size) + "\n" + B64(c.root) + "\n";
  for (const auto& e : c.extensions) s += e + "\n";
  return s;
}

Result<Checkpoint> ParseCheckpoint(std::string_view text) {
  bool ok;
  auto lines = Lines(text, &ok);
  Checkpoint c;
  if (!ok || lines.size() < 3) return Status::Corruption("malformed checkpoint: fewer than 3 lines");
  if (lines[0].empty()) return Status::Corruption("malformed checkpoint: empty origin");
  for (unsigned char ch : lines[0])
    if (ch < 0x20) return Status::Corruption("malformed checkpoint: control character in origin");
  c.origin = std::string(lines[0]);
  if (!ParseU64(lines[1], &c.size)) return Status::Corruption("malformed checkpoint: tree size");
  if (!ParseB64Hash(lines[2], &c.root)) return Status::Corruption("malformed checkpoint: root hash");
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return Status::Corruption("malformed checkpoint: empty extension line");
    c.extensions.emplace_back(lines[i]);
  }
  return c;
}

}  // namespace vigil::update
