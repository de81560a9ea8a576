#include <gtest/gtest.h>

#include <string>

#include "unpack/unpack.h"
#include "unpack/unpack_test_util.h"

namespace vigil::unpack {
namespace {

// A KWAJ header cut short: libmspack's reader used to free a pointer it had
// not set yet (found by fuzz_unpack; a crash under AddressSanitizer).
TEST(Mspack, TruncatedKwajHeaderIsAWarning) {
  const std::string kwaj("KWAJ\x88\xF0\x27\xD1\x90\x08", 10);
  ASSERT_EQ(DetectType(kwaj), FileType::kKwaj);
  auto r = testing::UnpackAll(kwaj);
  EXPECT_TRUE(r.members.empty());
  EXPECT_FALSE(r.warnings.empty());
  for (size_t n = 8; n < 24; ++n) {
    std::string cut = kwaj + std::string(16, '\x01');
    (void)testing::UnpackAll(cut.substr(0, n));
  }
}

}  // namespace
}  // namespace vigil::unpack
