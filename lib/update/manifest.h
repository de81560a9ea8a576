// Release manifests (docs/formats/update-manifest.md).
//
// A manifest is canonical text: a fixed sequence of lines, each "key value",
// in a fixed order; the same Manifest always formats to the same bytes and a
// text parses only if formatting the result gives the text back. It is
// signed as a note by the release key, and that signed note is the leaf data
// the transparency log records.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "update/util.h"
#include "vigil/status.h"

namespace vigil::update {

inline constexpr int kManifestFormat = 1;

// A compressed artifact of a release (bundle or delta), a file beside the
// manifest: releases/<channel>/<version>/<name>.
struct Artifact {
  std::string name;
  uint64_t size = 0;       // bytes on the wire
  Hash sha256{};           // of those bytes
  uint64_t raw_size = 0;   // bytes after zstd decompression (a bound for the client)
};

struct DeltaArtifact {
  uint64_t from_version = 0;
  Artifact artifact;
};

// One database file of the release.
struct ReleaseFile {
  std::string name;
  uint64_t size = 0;
  Hash sha256{};
  uint64_t signatures = 0;  // signature lines in the file (0 for binary containers)
};

struct Manifest {
  std::string channel;
  uint64_t version = 0;
  int64_t created = 0;      // seconds since the epoch, UTC
  int64_t expires = 0;
  std::string engine_min;   // lowest engine version that can load it, "MAJOR.MINOR.PATCH"
  uint64_t signatures = 0;  // signatures the engine counts in the whole release
  Artifact bundle;
  std::vector<DeltaArtifact> deltas;  // ascending from_version
  std::vector<ReleaseFile> files;     // ascending name
};

// A channel, artifact or file name: 1-128 of [A-Za-z0-9._-], not starting
// with '.', so it is always a safe single path component.
bool ValidName(std::string_view name);

std::string FormatManifest(const Manifest& m);
Result<Manifest> ParseManifest(std::string_view text);

// Compares "A.B.C" versions; false if either is malformed.
bool CompareVersions(std::string_view a, std::string_view b, int* cmp);

}  // namespace vigil::update
