// libFuzzer target: .cvd/.cld containers (signatures/clamav/cvd.h): a
// 512-byte header and a (gzipped) tar. Any bytes are read or rejected, never
// a crash or an allocation the data does not back. The MD5 check is skipped
// (as for a .cld) so that the fuzzer reaches the archive reader; the members
// are then loaded as databases.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "signatures/clamav/cvd.h"
#include "signatures/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vigil;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)sig::ParseCvdHeader(in);
  size_t total = 0;
  Status st = sig::ReadCvd(in, "fuzz.cvd", /*check_md5=*/false,
                           [&](std::string_view name, std::string_view contents) {
                             total += contents.size();
                             return Status::Ok();
                           });
  (void)st;
  (void)total;
  sig::SignatureSet set;
  Status loaded = sig::LoadDatabaseText("fuzz.cld", in, /*official=*/false, &set);
  if (!loaded.ok() && (set.known != 0 || !set.names.empty())) std::abort();  // nothing half-loaded
  return 0;
}
