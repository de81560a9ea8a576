// An update repository: the publisher's side (vigil-server publish) and the
// layout every server and mirror serves (docs/formats/update-manifest.md):
//
//   log/checkpoint                          latest signed checkpoint
//   log/checkpoints/<N>                     the checkpoint of every tree size
//   log/entries/<i>                         leaf data: signed manifests
//   log/proof/inclusion/<N>/<leaf hex>      inclusion of each entry in tree N
//   log/proof/consistency/<M>/<N>           consistency of tree M with tree N
//   channels/<channel>/manifest             the channel's latest signed manifest
//   releases/<channel>/<version>/manifest   each release's signed manifest
//   releases/<channel>/<version>/bundle.vgb.zst
//   releases/<channel>/<version>/delta-from-<V>.vgd.zst
//   private/                                publisher state, not served
//
// Proof files are written for the latest tree size (and kept for the two
// before it) so that a plain static web server can serve everything a client
// needs; `vigil-server serve` also computes any proof on request.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "update/archive.h"
#include "update/log_store.h"
#include "update/manifest.h"
#include "update/note.h"
#include "vigil/status.h"

namespace vigil::update {

namespace paths {
inline std::string Checkpoint() { return "log/checkpoint"; }
inline std::string CheckpointAt(uint64_t n) { return "log/checkpoints/" + std::to_string(n); }
inline std::string Entry(uint64_t i) { return "log/entries/" + std::to_string(i); }
inline std::string Inclusion(uint64_t n, const Hash& leaf) {
  return "log/proof/inclusion/" + std::to_string(n) + "/" + Hex(leaf);
}
inline std::string Consistency(uint64_t m, uint64_t n) {
  return "log/proof/consistency/" + std::to_string(m) + "/" + std::to_string(n);
}
inline std::string ChannelManifest(const std::string& ch) { return "channels/" + ch + "/manifest"; }
inline std::string ReleaseDir(const std::string& ch, uint64_t v) {
  return "releases/" + ch + "/" + std::to_string(v);
}
inline std::string ReleaseFile(const std::string& ch, uint64_t v, const std::string& name) {
  return ReleaseDir(ch, v) + "/" + name;
}
inline std::string BundleName() { return "bundle.vgb.zst"; }
inline std::string DeltaName(uint64_t from) { return "delta-from-" + std::to_string(from) + ".vgd.zst"; }
}  // namespace paths

struct PublishOptions {
  std::string repo;
  std::string db_dir;
  std::string channel = "stable";
  NoteSigner release_key;
  NoteSigner log_key;
  int64_t now = 0;                  // creation time (seconds since the epoch)
  int64_t expires_in = 7 * 86400;   // validity of the manifest
  std::string engine_min;           // "MAJOR.MINOR.PATCH"
  int max_deltas = 3;               // deltas from this many previous releases
  int zstd_level = 19;
  // Loads the database directory with the engine and returns its signature
  // count; an error stops the publication (a database that does not load is
  // never published).
  std::function<Result<uint64_t>(const std::string& dir)> validate;
};

struct PublishResult {
  Manifest manifest;
  uint64_t log_index = 0;
  uint64_t tree_size = 0;
  uint64_t bundle_bytes = 0;
  uint64_t delta_bytes = 0;  // of the delta from the previous release, 0 if none
};

Result<PublishResult> Publish(const PublishOptions& options);

// Re-signs the checkpoint and rewrites the static view (checkpoint, proofs,
// channel pointers) for the log's current size. Publish calls it; it also
// repairs a repository after a publisher crash.
Status WriteStaticView(const std::string& repo, LogStore& log, const NoteSigner& log_key);

// Reads the files of a database directory (regular files with valid names,
// not hidden), in name order.
Result<FileSet> ReadDbDir(const std::string& dir);

}  // namespace vigil::update
