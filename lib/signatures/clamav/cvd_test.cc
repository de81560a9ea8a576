// .cvd/.cld containers built in the test: a 512-byte text header
// "ClamAV-VDB:time:version:sigs:flevel:md5:dsig:builder:stime" padded with
// spaces, then a tar (gzipped for .cvd) written with libarchive.
#include "signatures/clamav/cvd.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "signatures/loader.h"

namespace vigil::sig {
namespace {

using Members = std::vector<std::pair<std::string, std::string>>;

constexpr char kMd5Sig[] = "44d88612fea8a8f36de82e1278abb02f";

std::string Md5Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

la_ssize_t AppendToString(archive*, void* client, const void* buf, size_t n) {
  static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
  return static_cast<la_ssize_t>(n);
}

// A ustar archive of `members` (names ending in '/' become directories).
std::string MakeTar(const Members& members, bool gzip) {
  std::string out;
  archive* a = archive_write_new();
  archive_write_set_format_ustar(a);
  if (gzip) archive_write_add_filter_gzip(a);
  EXPECT_EQ(archive_write_open(a, &out, nullptr, AppendToString, nullptr), ARCHIVE_OK);
  for (const auto& [name, data] : members) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, name.c_str());
    bool dir = !name.empty() && name.back() == '/';
    archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e, dir ? 0755 : 0644);
    archive_entry_set_size(e, dir ? 0 : static_cast<la_int64_t>(data.size()));
    archive_entry_set_mtime(e, 1700000000, 0);
    EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK);
    if (!dir) {
      EXPECT_EQ(archive_write_data(a, data.data(), data.size()), static_cast<la_ssize_t>(data.size()));
    }
    archive_entry_free(e);
  }
  EXPECT_EQ(archive_write_close(a), ARCHIVE_OK);
  archive_write_free(a);
  return out;
}

struct HeaderFields {
  std::string time = "23 Nov 2026 10-00 +0000";
  std::string version = "27371";
  std::string sigs = "3";
  std::string flevel = "90";
  std::string md5;  // empty: the payload's real MD5
  std::string dsig = "c2lnbmF0dXJl";
  std::string builder = "vigil-test";
  std::string stime = "1700000000";
};

std::string MakeHeader(const HeaderFields& h, std::string_view payload) {
  std::string out = "ClamAV-VDB:" + h.time + ":" + h.version + ":" + h.sigs + ":" + h.flevel + ":" +
                    (h.md5.empty() ? Md5Hex(payload) : h.md5) + ":" + h.dsig + ":" + h.builder +
                    ":" + h.stime;
  EXPECT_LE(out.size(), 512u);
  out.resize(512, ' ');
  return out;
}

std::string MakeCvd(const Members& members, const HeaderFields& h = {}, bool gzip = true) {
  std::string payload = MakeTar(members, gzip);
  return MakeHeader(h, payload) + payload;
}

Members DailyMembers() {
  return {
      {"COPYING", "GPLv2 text would be here\n"},
      {"daily.info", "ClamAV-VDB:...\ndaily.hdb:123:abc\n"},
      {"daily.hdb", std::string(kMd5Sig) + ":68:Eicar-Test-Signature\n"},
      {"daily.ndb", "Win.Test.Body-1:0:*:4d5a9000\nTxt.Test-2:7:*:6576616c28\n"},
      {"daily.ign2", "fake_dont_remove_this_line\n"},
  };
}

// Collects the members ReadCvd hands out.
Status Read(std::string_view data, Members* out, bool check_md5 = true) {
  return ReadCvd(data, "test.cvd", check_md5, [&](std::string_view name, std::string_view contents) {
    out->emplace_back(std::string(name), std::string(contents));
    return Status::Ok();
  });
}

TEST(CvdHeader, ParsesEveryField) {
  std::string cvd = MakeCvd(DailyMembers());
  auto h = ParseCvdHeader(cvd);
  ASSERT_TRUE(h.ok()) << h.status().message();
  EXPECT_EQ(h->build_time, "23 Nov 2026 10-00 +0000");
  EXPECT_EQ(h->version, 27371u);
  EXPECT_EQ(h->signatures, 3u);
  EXPECT_EQ(h->flevel, 90u);
  EXPECT_EQ(h->md5, Md5Hex(std::string_view(cvd).substr(512)));
  EXPECT_EQ(h->dsig, "c2lnbmF0dXJl");
  EXPECT_EQ(h->builder, "vigil-test");
  EXPECT_EQ(h->build_stime, 1700000000u);
}

TEST(CvdHeader, RejectsMalformedHeaders) {
  std::string payload = MakeTar(DailyMembers(), true);
  auto message = [&](const HeaderFields& f) {
    auto h = ParseCvdHeader(MakeHeader(f, payload) + payload);
    EXPECT_FALSE(h.ok());
    EXPECT_EQ(h.status().code(), StatusCode::kCorruption);
    return h.status().message();
  };
  HeaderFields f;
  f.version = "x1";
  EXPECT_EQ(message(f), "bad CVD version 'x1'");
  f = {};
  f.sigs = "";
  EXPECT_EQ(message(f), "bad CVD signature count ''");
  f = {};
  f.flevel = "-1";
  EXPECT_EQ(message(f), "bad CVD functionality level '-1'");
  f = {};
  f.md5 = "abc";
  EXPECT_EQ(message(f), "bad CVD MD5 field");

  EXPECT_EQ(ParseCvdHeader("").status().message(), "file shorter than the 512-byte CVD header");
  EXPECT_EQ(ParseCvdHeader(std::string(511, ' ')).status().message(),
            "file shorter than the 512-byte CVD header");
  std::string no_magic = "ClamAV-VDX:a:1:2:3:" + std::string(32, '0') + ":s:b:4";
  no_magic.resize(512, ' ');
  EXPECT_EQ(ParseCvdHeader(no_magic).status().message(), "missing 'ClamAV-VDB:' header magic");
  std::string few = "ClamAV-VDB:a:1:2:3";
  few.resize(512, ' ');
  EXPECT_EQ(ParseCvdHeader(few).status().message(), "CVD header has 5 fields, expected 9");
  std::string zeros(512, '\0');
  EXPECT_FALSE(ParseCvdHeader(zeros).ok());
}

TEST(Cvd, HandsOutRegularMembersInOrder) {
  Members in = DailyMembers();
  in.insert(in.begin() + 1, {"subdir/", ""});
  std::string cvd = MakeCvd(in);
  Members got;
  Status st = Read(cvd, &got);
  ASSERT_TRUE(st.ok()) << st.message();
  in.erase(in.begin() + 1);  // directories are not members
  EXPECT_EQ(got, in);
}

TEST(Cvd, EmptyMembersAndEmptyArchive) {
  Members got;
  ASSERT_TRUE(Read(MakeCvd({{"empty.hdb", ""}}), &got).ok());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].second, "");
  got.clear();
  ASSERT_TRUE(Read(MakeCvd({}), &got).ok());
  EXPECT_TRUE(got.empty());
}

TEST(Cvd, Md5MismatchIsRejected) {
  std::string payload = MakeTar(DailyMembers(), true);
  HeaderFields f;
  f.md5 = std::string(32, '0');
  std::string cvd = MakeHeader(f, payload) + payload;
  Members got;
  Status st = Read(cvd, &got);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_EQ(st.message(), "test.cvd: MD5 of contents " + Md5Hex(payload) +
                              " does not match header 00000000000000000000000000000000");
  EXPECT_TRUE(got.empty());
  // One flipped payload bit is caught the same way.
  std::string flipped = MakeCvd(DailyMembers());
  flipped[600] ^= 1;
  EXPECT_EQ(Read(flipped, &got).code(), StatusCode::kCorruption);
  EXPECT_TRUE(got.empty());
}

TEST(Cvd, UppercaseMd5IsAccepted) {
  std::string payload = MakeTar(DailyMembers(), true);
  HeaderFields f;
  f.md5 = Md5Hex(payload);
  for (char& c : f.md5) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  Members got;
  EXPECT_TRUE(Read(MakeHeader(f, payload) + payload, &got).ok());
  EXPECT_EQ(got.size(), DailyMembers().size());
}

TEST(Cvd, CldSkipsTheMd5CheckAndMayBeUncompressed) {
  // freshclam keeps a patched, uncompressed copy whose header MD5 is stale.
  std::string payload = MakeTar(DailyMembers(), /*gzip=*/false);
  HeaderFields f;
  f.md5 = std::string(32, 'f');
  std::string cld = MakeHeader(f, payload) + payload;
  Members got;
  EXPECT_EQ(Read(cld, &got, /*check_md5=*/true).code(), StatusCode::kCorruption);
  got.clear();
  Status st = Read(cld, &got, /*check_md5=*/false);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(got, DailyMembers());
}

TEST(Cvd, GarbagePayloadWithMatchingMd5IsAnError) {
  std::mt19937 rng(7);
  for (int round = 0; round < 50; ++round) {
    std::string payload(1 + rng() % 2000, '\0');
    for (char& c : payload) c = static_cast<char>(rng());
    if (round % 2) payload.replace(0, 2, "\x1f\x8b");  // looks like gzip, is not
    std::string cvd = MakeHeader({}, payload) + payload;
    Members got;
    Status st = Read(cvd, &got);
    EXPECT_FALSE(st.ok()) << "round " << round;
    EXPECT_EQ(st.code(), StatusCode::kCorruption);
    EXPECT_EQ(st.message().rfind("test.cvd: ", 0), 0u) << st.message();
  }
  Members got;
  EXPECT_FALSE(Read(MakeHeader({}, "") + "", &got).ok() && !got.empty());
}

TEST(Cvd, EveryTruncationFailsCleanly) {
  std::string cvd = MakeCvd(DailyMembers());
  for (size_t n = 0; n < cvd.size(); ++n) {
    std::string_view cut(cvd.data(), n);
    Members got;
    // With the original header the MD5 no longer matches.
    EXPECT_FALSE(Read(cut, &got).ok()) << n;
    EXPECT_TRUE(got.empty()) << n;
    if (n <= 512) continue;
    // With a header that matches the cut payload, the read fails, or (cut
    // between members, where a tar may simply end) hands out only whole,
    // unchanged members.
    std::string payload(cut.substr(512));
    std::string fixed = MakeHeader({}, payload) + payload;
    got.clear();
    Status st = Read(fixed, &got);
    if (!st.ok()) {
      EXPECT_EQ(st.code(), StatusCode::kCorruption);
    }
    Members in = DailyMembers();
    ASSERT_LE(got.size(), in.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], in[i]) << "payload cut at " << payload.size();
  }
}

TEST(Cvd, UncompressedTruncationsFailOrYieldOnlyWholeMembers) {
  Members in = DailyMembers();
  std::string payload = MakeTar(in, /*gzip=*/false);
  for (size_t n = 0; n < payload.size(); n += 7) {
    std::string cut = payload.substr(0, n);
    Members got;
    Status st = Read(MakeHeader({}, cut) + cut, &got, /*check_md5=*/false);
    // A tar cut between members may read as a shorter archive; whatever is
    // handed out must be whole, unchanged members.
    ASSERT_LE(got.size(), in.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], in[i]) << "cut at " << n;
    if (!st.ok()) {
      EXPECT_EQ(st.code(), StatusCode::kCorruption);
    }
  }
}

TEST(Cvd, CallbackErrorStopsTheRead) {
  std::string cvd = MakeCvd(DailyMembers());
  int calls = 0;
  Status st = ReadCvd(cvd, "x.cvd", true, [&](std::string_view, std::string_view) {
    ++calls;
    return Status::Corruption("stop here");
  });
  EXPECT_EQ(st.message(), "stop here");
  EXPECT_EQ(calls, 1);
}

// ------------------------------------------------- through the loader

TEST(CvdLoad, MembersLoadWithOfficialNames) {
  SignatureSet s;
  Status st = LoadDatabaseText("daily.cvd", MakeCvd(DailyMembers()), false, &s);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(s.known, 3u);
  ASSERT_EQ(s.hashes.size(), 1u);
  ASSERT_EQ(s.bodies.size(), 2u);
  EXPECT_EQ(s.names[s.hashes[0].name], "Eicar-Test-Signature");
  EXPECT_EQ(s.names[s.bodies[0].name], "Win.Test.Body-1");
  EXPECT_EQ(s.names[s.bodies[1].name], "Txt.Test-2");
  EXPECT_EQ(s.ignored.count("fake_dont_remove_this_line"), 1u);
  EXPECT_TRUE(s.warnings.empty());
}

TEST(CvdLoad, UnsupportedMembersWarnWithTheContainerName) {
  Members m = DailyMembers();
  m.emplace_back("daily.ldb", "Sig;Engine:51-255,Target:1;0;4d5a\n");
  SignatureSet s;
  ASSERT_TRUE(LoadDatabaseText("daily.cvd", MakeCvd(m), false, &s).ok());
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_EQ(s.warnings[0], "daily.cvd:daily.ldb: ldb databases are not supported yet; skipped");
  EXPECT_EQ(s.known, 3u);
}

TEST(CvdLoad, BadMemberLineNamesContainerMemberAndLineAndLoadsNothing) {
  Members m = DailyMembers();
  m.emplace_back("daily.fp", std::string(kMd5Sig) + ":68:ok\nnot a hash line\n");
  SignatureSet s;
  ASSERT_TRUE(LoadDatabaseText("x.hdb", std::string(kMd5Sig) + ":1:Before\n", false, &s).ok());
  uint64_t known = s.known;
  size_t names = s.names.size();
  Status st = LoadDatabaseText("daily.cvd", MakeCvd(m), false, &s);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_EQ(st.message(), "daily.cvd:daily.fp:2: expected HASH:SIZE:NAME[:MINFL[:MAXFL]]");
  // The members before the bad one (daily.hdb, daily.ndb, daily.ign2) are gone too.
  EXPECT_EQ(s.known, known);
  EXPECT_EQ(s.names.size(), names);
  EXPECT_EQ(s.hashes.size(), 1u);
  EXPECT_TRUE(s.bodies.empty());
  EXPECT_TRUE(s.allow.empty());
  EXPECT_TRUE(s.ignored.empty());
}

TEST(CvdLoad, Md5MismatchFailsTheLoad) {
  std::string cvd = MakeCvd(DailyMembers());
  cvd.back() ^= 0x40;
  SignatureSet s;
  Status st = LoadDatabaseText("main.cvd", cvd, false, &s);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_EQ(st.message().rfind("main.cvd: MD5 of contents ", 0), 0u) << st.message();
  EXPECT_EQ(s.known, 0u);
}

TEST(CvdLoad, CldFromDiskLoadsWithoutMd5Check) {
  namespace fs = std::filesystem;
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/vigil-cvd-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
  std::string payload = MakeTar(DailyMembers(), false);
  HeaderFields f;
  f.md5 = std::string(32, '0');
  std::ofstream(tmpl + "/daily.cld", std::ios::binary) << MakeHeader(f, payload) << payload;
  std::ofstream(tmpl + "/main.cvd", std::ios::binary)
      << MakeCvd({{"main.hdb", std::string(kMd5Sig) + ":68:Main.Sig\n"}});
  SignatureSet s;
  Status st = LoadDatabase(tmpl, &s);
  fs::remove_all(tmpl);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(s.known, 4u);
  EXPECT_EQ(s.names[s.hashes[0].name], "Eicar-Test-Signature");  // daily.cld sorts first
  EXPECT_EQ(s.names[s.hashes[1].name], "Main.Sig");
}

}  // namespace
}  // namespace vigil::sig
