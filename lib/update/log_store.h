// The transparency log's durable storage in a repository directory.
//
//   log/entries/<i>   leaf data of entry i (a signed release manifest), static
//   private/leaves    32-byte leaf hashes, one per entry, appended in order
//
// Append writes and fsyncs the entry file first, then appends its leaf hash
// and fsyncs the leaves file: the log's size is the number of complete leaf
// hashes, so a crash at any point leaves a log of n or n+1 entries, never a
// torn one (a partial trailing hash is dropped on open). One process appends
// at a time (the publisher holds private/lock); readers (the server) pick up
// appended leaves with Refresh().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "update/merkle.h"
#include "vigil/status.h"

namespace vigil::update {

class LogStore {
 public:
  // Opens (and creates when `create`) the log of the repository `repo`.
  static Result<std::unique_ptr<LogStore>> Open(const std::string& repo, bool create);

  uint64_t size() const { return tree_.size(); }
  const MerkleTree& tree() const { return tree_; }
  std::optional<uint64_t> IndexOf(const Hash& leaf_hash) const;

  Result<std::string> ReadEntry(uint64_t index) const;
  // Checks every stored entry against its leaf hash.
  Status VerifyEntries() const;
  // Appends an entry durably; returns its index.
  Result<uint64_t> Append(std::string_view entry);
  // Reads leaf hashes appended by another process since the last call.
  Status Refresh();

  std::string EntryPath(uint64_t index) const;

 private:
  explicit LogStore(std::string repo) : repo_(std::move(repo)) {}
  void AddLeaf(const Hash& h);
  std::string repo_;
  MerkleTree tree_;
  std::unordered_map<std::string, uint64_t> index_;  // leaf hash bytes -> first index
};

}  // namespace vigil::update
