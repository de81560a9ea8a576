#include "quarantine/vault_file.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "quarantine/fs.h"

namespace vigil::quarantine {
namespace {

class VaultFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(SodiumReady());
    key_ = NewKey();
    path_ = std::filesystem::temp_directory_path() /
            ("vigil-vault-file-test-" + std::to_string(getpid()) + ".vlt");
  }
  void TearDown() override { std::filesystem::remove(path_); }

  std::string Encrypt(const std::string& plain, const std::string& id) {
    UniqueFd fd(open(path_.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    EXPECT_TRUE(fd.valid());
    ContentWriter w(fd.get(), key_, id, plain.size());
    EXPECT_TRUE(w.Begin().ok());
    // Uneven pieces exercise the chunking.
    size_t i = 0, step = 1;
    while (i < plain.size()) {
      size_t n = std::min(step, plain.size() - i);
      EXPECT_TRUE(w.Update(std::string_view(plain).substr(i, n)).ok());
      i += n;
      step = step * 3 + 7;
    }
    EXPECT_TRUE(w.Finish().ok());
    return Slurp();
  }

  std::string Slurp() {
    std::string out;
    UniqueFd fd(open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    ReadAllAt(fd.get(), [&](std::string_view d) { out.append(d); return Status::Ok(); }, "read").ok();
    return out;
  }

  void Overwrite(const std::string& bytes) {
    UniqueFd fd(open(path_.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    ASSERT_TRUE(WriteAll(fd.get(), bytes, "write").ok());
  }

  Result<std::string> Decrypt(const std::string& id, const VaultKey& key) {
    UniqueFd fd(open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    std::string out;
    auto n = ReadContent(fd.get(), key, id, [&](std::string_view d) { out.append(d); return Status::Ok(); });
    if (!n.ok()) return n.status();
    EXPECT_EQ(*n, out.size());
    return out;
  }

  VaultKey key_;
  std::filesystem::path path_;
};

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  return s;
}

TEST_F(VaultFileTest, RoundTripsManySizes) {
  for (size_t n : {size_t{0}, size_t{1}, kChunkBytes - 1, kChunkBytes, kChunkBytes + 1, 3 * kChunkBytes + 5}) {
    std::string plain = Pattern(n);
    std::string enc = Encrypt(plain, "0123456789ab");
    ASSERT_GE(enc.size(), kFileHeaderSize);
    EXPECT_EQ(enc.compare(0, 7, "VIGILQV"), 0);
    auto dec = Decrypt("0123456789ab", key_);
    ASSERT_TRUE(dec.ok()) << n << ": " << dec.status().message();
    EXPECT_EQ(*dec, plain) << n;
  }
}

TEST_F(VaultFileTest, ContentIsNotStoredInTheClear) {
  std::string plain = "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*";
  std::string enc = Encrypt(plain, "aa");
  EXPECT_EQ(enc.find("EICAR"), std::string::npos);
}

TEST_F(VaultFileTest, HeaderParses) {
  std::string enc = Encrypt(Pattern(1000), "abcdef");
  auto h = ParseContentHeader(enc);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->version, kFileVersion);
  EXPECT_EQ(h->id, "abcdef");
  EXPECT_EQ(h->size, 1000u);
}

TEST_F(VaultFileTest, WrongKeyFails) {
  Encrypt(Pattern(5000), "abc");
  auto dec = Decrypt("abc", NewKey());
  ASSERT_FALSE(dec.ok());
  EXPECT_EQ(dec.status().code(), StatusCode::kCorruption);
}

TEST_F(VaultFileTest, WrongIdFails) {
  Encrypt(Pattern(5000), "abc");
  EXPECT_FALSE(Decrypt("abd", key_).ok());
}

TEST_F(VaultFileTest, EveryFlippedByteIsDetected) {
  std::string enc = Encrypt(Pattern(300), "abc");
  for (size_t i = 0; i < enc.size(); i += 7) {
    std::string bad = enc;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    Overwrite(bad);
    EXPECT_FALSE(Decrypt("abc", key_).ok()) << "flipped byte " << i;
  }
}

TEST_F(VaultFileTest, TruncationAndTrailingBytesAreDetected) {
  std::string enc = Encrypt(Pattern(2 * kChunkBytes + 10), "abc");
  for (size_t cut : {enc.size() - 1, enc.size() - 17, size_t{kFileHeaderSize + 4 + kChunkBytes + 17}, kFileHeaderSize}) {
    Overwrite(enc.substr(0, cut));
    EXPECT_FALSE(Decrypt("abc", key_).ok()) << "cut at " << cut;
  }
  Overwrite(enc + "x");
  EXPECT_FALSE(Decrypt("abc", key_).ok());
}

TEST_F(VaultFileTest, OtherVersionsAreRefused) {
  std::string enc = Encrypt(Pattern(10), "abc");
  enc[8] = 2;
  auto h = ParseContentHeader(enc);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("version 2"), std::string::npos);
}

TEST(VaultKeyFile, RoundTripAndChecks) {
  ASSERT_TRUE(SodiumReady());
  VaultKey k = NewKey();
  std::string enc = EncodeKeyFile(k);
  EXPECT_EQ(enc.size(), kKeyFileSize);
  auto d = DecodeKeyFile(enc);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(*d, k);
  std::string bad = enc;
  bad[0] = 'X';
  EXPECT_FALSE(DecodeKeyFile(bad).ok());
  bad = enc;
  bad[8] = 9;
  EXPECT_FALSE(DecodeKeyFile(bad).ok());
  EXPECT_FALSE(DecodeKeyFile(enc.substr(0, 20)).ok());
}

}  // namespace
}  // namespace vigil::quarantine
