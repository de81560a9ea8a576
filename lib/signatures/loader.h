// Loading ClamAV-format signature databases into a SignatureSet.
//
// One parser per format (signatures/clamav/*.cc), chosen by file extension
// from one table (kFormats in loader.cc). A malformed line fails the whole
// load with "FILE:LINE: reason"; the output set is left untouched on error.
#pragma once

#include <string>
#include <string_view>

#include "signatures/signature_set.h"
#include "vigil/status.h"

namespace vigil::sig {

// ClamAV's functionality level that this engine matches (that of ClamAV
// 1.4.x). Signatures whose FLEVEL range excludes it are skipped, uncounted.
inline constexpr int kFunctionalityLevel = 216;

// Context for parsing one database file's text.
struct DbSource {
  std::string name;     // file name for messages ("daily.ndb", "x.cvd:daily.ndb")
  bool official = false;  // from a CVD/CLD container: names get no ".UNOFFICIAL"
};

// Per-format parsers. Each appends to *out only after the whole text parsed.
Status ParseHashDb(std::string_view text, const DbSource& src, bool allow_list, SignatureSet* out);
Status ParseNdb(std::string_view text, const DbSource& src, SignatureSet* out);
Status ParseIgn2(std::string_view text, const DbSource& src, SignatureSet* out);

// Appended to the names of signatures that do not come from a signed
// container, as clamscan does (even to a name that already ends in it).
inline constexpr std::string_view kUnofficialSuffix = ".UNOFFICIAL";

// The name printed for a signature, following clamscan's rule.
std::string DisplayName(std::string_view name, bool official);

// Loads a database file (by extension; .cvd/.cld containers included) or
// every database file in a directory (not recursive, in name order).
Status LoadDatabase(const std::string& path, SignatureSet* out);

// Loads from text already in memory, dispatching on `file_name`'s extension.
Status LoadDatabaseText(std::string_view file_name, std::string_view text, bool official,
                        SignatureSet* out);

// Applies the .ign2 lists after all files are loaded (ClamAV applies them at
// load time regardless of file order). Updates `known`.
void ApplyIgnores(SignatureSet* set);

// Whether `file_name` has an extension this loader knows (supported or not).
bool IsDatabaseFile(std::string_view file_name);

}  // namespace vigil::sig
