// Release content: bundles (every database file of a release) and deltas
// (what changed between two releases, line by line), both compressed with
// zstd on the wire. Byte formats: docs/formats/update-manifest.md.
//
// A release is a flat set of files (a ClamAV database directory): name ->
// bytes, names as ValidName() in manifest.h.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil::update {

using FileSet = std::map<std::string, std::string>;

// Bundle: "vigil-bundle 1\n", then per file (ascending name)
// "file <name> <size>\n<size bytes>\n", then "end\n".
std::string EncodeBundle(const FileSet& files);
Result<FileSet> DecodeBundle(std::string_view data);

// Delta from release `from` to release `to` (docs/formats/update-manifest.md).
// Applying it to the files of `from` gives the files of `to` byte for byte.
std::string MakeDelta(uint64_t from_version, uint64_t to_version, const FileSet& from, const FileSet& to);
Result<FileSet> ApplyDelta(std::string_view delta, const FileSet& base, uint64_t* from_version = nullptr,
                           uint64_t* to_version = nullptr);

// zstd, one frame. Decompression refuses output larger than max_output.
std::string ZstdCompress(std::string_view data, int level = 19);
Result<std::string> ZstdDecompress(std::string_view data, uint64_t max_output);

// Signature lines in a database file's text (non-empty, not '#' comments);
// 0 for binary content (CVD/CLD containers).
uint64_t CountSignatureLines(std::string_view content);

}  // namespace vigil::update
