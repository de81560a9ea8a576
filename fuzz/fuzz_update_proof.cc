// libFuzzer target: inclusion and consistency proofs (lib/update/merkle.h).
// Parsing and verifying arbitrary proofs against a real tree never crashes,
// and a proof only verifies when it is the tree's own proof.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "update/merkle.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil::update;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  static const MerkleTree tree = [] {
    MerkleTree t;
    for (int i = 0; i < 70; ++i) t.Append(LeafHash(std::to_string(i)));
    return t;
  }();
  if (auto p = ParseInclusionProof(in); p.ok()) {
    const auto& ip = p.value();
    if (ip.tree_size <= tree.size()) {
      vigil::Status st = VerifyInclusion(ip.index, ip.tree_size, tree.leaf(ip.index), ip.path, tree.Root(ip.tree_size).value());
      if (st.ok() && ip.path != tree.InclusionProof(ip.index, ip.tree_size).value()) std::abort();
    }
  }
  if (auto p = ParseConsistencyProof(in); p.ok()) {
    const auto& cp = p.value();
    if (cp.new_size <= tree.size() && cp.old_size > 0) {
      vigil::Status st = VerifyConsistency(cp.old_size, cp.new_size, tree.Root(cp.old_size).value(),
                                    tree.Root(cp.new_size).value(), cp.path);
      if (st.ok() && cp.path != tree.ConsistencyProof(cp.old_size, cp.new_size).value()) std::abort();
    }
  }
  return 0;
}
