// .cvd/.cld containers: a 512-byte text header followed by a (gzipped) tar
// of database files. See docs/formats/cvd.md.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "vigil/status.h"

namespace vigil::sig {

struct CvdHeader {
  std::string build_time;
  uint32_t version = 0;
  uint64_t signatures = 0;
  uint32_t flevel = 0;
  std::string md5;        // hex MD5 of everything after the header
  std::string dsig;       // the publisher's digital signature (not verified here)
  std::string builder;
  uint64_t build_stime = 0;
};

Result<CvdHeader> ParseCvdHeader(std::string_view data);

// Checks the header and, when `check_md5`, the MD5 of the payload, then
// calls member(name, contents) for each regular file in the archive.
// `check_md5` is for .cvd files; a .cld is a CVD that freshclam unpacked and
// patched in place, whose header MD5 no longer describes the contents
// (clamscan does not check it either).
Status ReadCvd(std::string_view data, const std::string& display_name, bool check_md5,
               const std::function<Status(std::string_view, std::string_view)>& member);

}  // namespace vigil::sig
