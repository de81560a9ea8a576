// Known answers from FIPS 180-4's examples and the CRC-32C check value.
#include "compile/digest.h"

#include <gtest/gtest.h>

#include <openssl/evp.h>

#include <cstring>

#include <random>
#include <string>

namespace vigil::compile {
namespace {

std::string Sha(std::string_view s, size_t chunk = 0) {
  Sha256Small h;
  if (chunk == 0) {
    h.Update(s.data(), s.size());
  } else {
    for (size_t i = 0; i < s.size(); i += chunk) h.Update(s.data() + i, std::min(chunk, s.size() - i));
  }
  return h.HexFinal();
}

TEST(Sha256Small, KnownAnswers) {
  EXPECT_EQ(Sha(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const std::string two_blocks = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  EXPECT_EQ(Sha(two_blocks), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Sha(two_blocks, 1), Sha(two_blocks));
  EXPECT_EQ(Sha(two_blocks, 7), Sha(two_blocks));
  EXPECT_EQ(Sha(std::string(1000000, 'a'), 4096),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Crc32c, KnownAnswers) {
  EXPECT_EQ(Crc32c(0, "123456789", 9), 0xe3069283u);
  EXPECT_EQ(Crc32c(0, "", 0), 0u);
  // Continuing a CRC gives the CRC of the concatenation, at any split.
  std::string s = "The quick brown fox jumps over the lazy dog, twice over.";
  uint32_t whole = Crc32c(0, s.data(), s.size());
  for (size_t cut = 0; cut <= s.size(); ++cut)
    EXPECT_EQ(Crc32c(Crc32c(0, s.data(), cut), s.data() + cut, s.size() - cut), whole) << cut;
}

std::string Hex(const uint8_t* p, size_t n) {
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) { s += kHex[p[i] >> 4]; s += kHex[p[i] & 15]; }
  return s;
}

TEST(Md5Small, KnownAnswers) {
  // RFC 1321's test suite.
  const std::pair<const char*, const char*> cases[] = {
      {"", "d41d8cd98f00b204e9800998ecf8427e"},
      {"a", "0cc175b9c0f1b6a831c399e269772661"},
      {"abc", "900150983cd24fb0d6963f7d28e17f72"},
      {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
      {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
      {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
       "57edf4a22be3c955ac49da2e2107b67a"}};
  for (auto [in, want] : cases) {
    uint8_t out[16];
    Md5Small(in, std::strlen(in), out);
    EXPECT_EQ(Hex(out, 16), want) << in;
  }
}

TEST(Sha1Small, KnownAnswers) {
  uint8_t out[20];
  Sha1Small("abc", 3, out);
  EXPECT_EQ(Hex(out, 20), "a9993e364706816aba3e25717850c26c9cd0d89d");
  const char* two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  Sha1Small(two, std::strlen(two), out);
  EXPECT_EQ(Hex(out, 20), "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

// The engine hashes small files with these and large ones with OpenSSL: both
// must give the same digests at every length around the block boundaries.
TEST(SmallDigests, AgreeWithOpenSsl) {
  std::mt19937 rng(7);
  std::string data(3000, '\0');
  for (char& c : data) c = static_cast<char>(rng());
  for (size_t n = 0; n <= data.size(); n += (n < 200 ? 1 : 97)) {
    uint8_t mine[32], theirs[32];
    unsigned len = 0;
    Md5Small(data.data(), n, mine);
    EVP_Digest(data.data(), n, theirs, &len, EVP_md5(), nullptr);
    ASSERT_EQ(Hex(mine, 16), Hex(theirs, 16)) << "md5 " << n;
    Sha1Small(data.data(), n, mine);
    EVP_Digest(data.data(), n, theirs, &len, EVP_sha1(), nullptr);
    ASSERT_EQ(Hex(mine, 20), Hex(theirs, 20)) << "sha1 " << n;
    Sha256SmallOnce(data.data(), n, mine);
    EVP_Digest(data.data(), n, theirs, &len, EVP_sha256(), nullptr);
    ASSERT_EQ(Hex(mine, 32), Hex(theirs, 32)) << "sha256 " << n;
  }
}

}  // namespace
}  // namespace vigil::compile
