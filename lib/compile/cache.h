// On-disk cache of compiled engines, so a second start does not recompile.
// File format: docs/formats/engine-cache.md.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "compile/compiled_db.h"
#include "vigil/status.h"

namespace vigil::compile {

// SHA-256 over the database files' names and contents (directories expanded
// as the loader expands them), the cache format version, the Hyperscan
// version, the CPU features Hyperscan compiles for and the engine binary's
// build ID. Hex string.
//
// With `memo_dir`, the key is remembered there under a hash of the files'
// stat (device, inode, size, modification and change times), and a later
// call whose files have exactly that stat returns it without reading them. A
// file changed less than two seconds before is not remembered: a second
// change within the same timestamp would leave its stat unchanged.
Result<std::string> CacheKey(const std::vector<std::string>& db_paths,
                             const std::string& memo_dir = "");

// Writes atomically (temporary file + rename); readers never see a partial file.
Status SaveCache(const std::string& dir, const std::string& key, const CompiledDb& db);

// NotFound when there is no entry; Corruption when it fails its checks
// (wrong magic/version/platform, bad checksum) — callers then recompile.
Result<std::unique_ptr<CompiledDb>> LoadCache(const std::string& dir, const std::string& key);

// Serialisation, exposed for tests and the fuzz target.
Result<std::string> SerializeDb(const CompiledDb& db);
Result<std::unique_ptr<CompiledDb>> DeserializeDb(std::string_view bytes);

}  // namespace vigil::compile
