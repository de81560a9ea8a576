// Loading ClamAV text databases into a SignatureSet: each format's parser,
// functionality-level filtering, clamscan's naming, "FILE:LINE: reason"
// errors that leave the set untouched, unsupported formats, directories,
// and the Known-viruses count. The last tests load the real official
// database excerpt in ../shared/corpora when it is present.
#include "signatures/loader.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace vigil::sig {
namespace {

namespace fs = std::filesystem;

constexpr char kMd5[] = "44d88612fea8a8f36de82e1278abb02f";
constexpr char kSha1[] = "3395856ce81f2b7382dee72602f798b642f14140";
constexpr char kSha256[] = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f";

// Loads `text` as a database called `name`; fails the test on error.
SignatureSet MustLoad(std::string_view name, std::string_view text, bool official = false) {
  SignatureSet set;
  Status st = LoadDatabaseText(name, text, official, &set);
  EXPECT_TRUE(st.ok()) << st.message();
  return set;
}

// Everything observable about a set, to check that a failed load left it alone.
std::string Fingerprint(const SignatureSet& s) {
  std::string out = "known=" + std::to_string(s.known);
  for (std::string_view n : s.names) out += "|n:" + std::string(n);
  out += "|h" + std::to_string(s.hashes.size()) + "|a" + std::to_string(s.allow.size()) + "|b" +
         std::to_string(s.bodies.size()) + "|i" + std::to_string(s.ignored.size()) + "|w" +
         std::to_string(s.warnings.size());
  return out;
}

// A temporary directory removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/vigil-test-XXXXXX";
    char* p = mkdtemp(tmpl.data());
    EXPECT_NE(p, nullptr);
    path_ = tmpl;
  }
  ~TempDir() { fs::remove_all(path_); }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& name, std::string_view contents) const {
    std::string p = path_ + "/" + name;
    std::ofstream(p, std::ios::binary) << contents;
    return p;
  }

 private:
  std::string path_;
};

// ---------------------------------------------------------------- hash dbs

TEST(HashDb, ParsesMd5Sha1Sha256AndAnySize) {
  std::string text = std::string(kMd5) + ":68:Eicar-Test-Signature\n" + kSha1 +
                     ":68:Eicar.Sha1\n" + kSha256 + ":*:Eicar.Sha256:73\n";
  SignatureSet s = MustLoad("test.hsb", text);
  ASSERT_EQ(s.hashes.size(), 3u);
  EXPECT_EQ(s.known, 3u);
  EXPECT_EQ(s.hashes[0].kind, HashKind::kMd5);
  EXPECT_EQ(s.hashes[0].size, 68);
  EXPECT_EQ(s.hashes[0].digest[0], 0x44);
  EXPECT_EQ(s.hashes[0].digest[15], 0x2f);
  EXPECT_EQ(s.hashes[1].kind, HashKind::kSha1);
  EXPECT_EQ(s.hashes[1].digest[19], 0x40);
  EXPECT_EQ(s.hashes[2].kind, HashKind::kSha256);
  EXPECT_EQ(s.hashes[2].size, kAnySize);
  EXPECT_EQ(s.hashes[2].digest[31], 0x0f);
  EXPECT_EQ(s.names[s.hashes[0].name], "Eicar-Test-Signature.UNOFFICIAL");
  EXPECT_EQ(s.names[s.hashes[2].name], "Eicar.Sha256.UNOFFICIAL");
  EXPECT_TRUE(s.allow.empty());
  EXPECT_TRUE(s.warnings.empty());
}

TEST(HashDb, UppercaseHexCommentsAndCrlf) {
  std::string upper = kMd5;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  std::string text = "# a comment\r\n" + upper + ":68:A\r\n" + kMd5 + ":69:B  \n" + kMd5 +
                     ":70:No final newline";
  SignatureSet s = MustLoad("x.hdb", text);
  ASSERT_EQ(s.hashes.size(), 3u);
  EXPECT_EQ(s.hashes[0].digest[0], 0x44);
  EXPECT_EQ(s.names[s.hashes[0].name], "A.UNOFFICIAL");
  EXPECT_EQ(s.names[s.hashes[1].name], "B  .UNOFFICIAL");  // clamscan keeps trailing spaces
  EXPECT_EQ(s.names[s.hashes[2].name], "No final newline.UNOFFICIAL");
}

TEST(HashDb, BlankLineIsAnError) {
  SignatureSet s;
  Status st = LoadDatabaseText("x.hdb", std::string(kMd5) + ":68:A\n", false, &s);
  EXPECT_TRUE(st.ok()) << st.message();  // a final newline is not a blank line
  st = LoadDatabaseText("x.hdb", std::string(kMd5) + ":68:A\n\n" + kMd5 + ":68:B\n", false, &s);
  EXPECT_EQ(st.message(), "x.hdb:2: empty line");
  st = LoadDatabaseText("x.hdb", std::string(kMd5) + ":68:A\r\n\r\n" + kMd5 + ":68:B\n", false, &s);
  EXPECT_EQ(st.message(), "x.hdb:2: empty line");
}

TEST(HashDb, AllowListsAreCountedAndKeepPlainNames) {
  std::string fp = std::string(kMd5) + ":68:clean.txt\n";
  std::string sfp = std::string(kSha256) + ":68:clean.bin\n";
  SignatureSet s;
  ASSERT_TRUE(LoadDatabaseText("x.fp", fp, false, &s).ok());
  ASSERT_TRUE(LoadDatabaseText("x.sfp", sfp, false, &s).ok());
  EXPECT_TRUE(s.hashes.empty());
  ASSERT_EQ(s.allow.size(), 2u);
  EXPECT_EQ(s.allow[1].kind, HashKind::kSha256);
  EXPECT_EQ(s.names[s.allow[0].name], "clean.txt");
  EXPECT_EQ(s.known, 2u);  // clamscan counts .fp/.sfp entries too
}

TEST(HashDb, FunctionalityLevelFiltering) {
  // Our level is 216: a range that excludes it skips the line, uncounted.
  std::string text = std::string(kMd5) + ":1:Min216:216\n" +  // loaded
                     kMd5 + ":2:Min217:217\n" +                // skipped
                     kMd5 + ":3:Max216:1:216\n" +              // loaded
                     kMd5 + ":4:Max215:1:215\n" +              // skipped
                     kMd5 + ":5:NoMin::300\n" +                // loaded
                     kMd5 + ":6:Min1:1\n";                     // loaded
  SignatureSet s = MustLoad("x.hdb", text);
  ASSERT_EQ(s.hashes.size(), 4u);
  EXPECT_EQ(s.known, 4u);
  std::vector<std::string> names;
  for (const auto& h : s.hashes) names.emplace_back(s.names[h.name]);
  EXPECT_EQ(names, (std::vector<std::string>{"Min216.UNOFFICIAL", "Max216.UNOFFICIAL",
                                             "NoMin.UNOFFICIAL", "Min1.UNOFFICIAL"}));
}

TEST(HashDb, LinesForNewerEnginesAreSkippedBeforeTheyAreParsed) {
  // A future engine may bring hash kinds or size forms we cannot parse; the
  // FLEVEL field exists so that older engines skip such lines (clamscan does).
  std::string text = std::string(kMd5) + "00:1:FutureHash:217\n" + kMd5 + ":many:FutureSize:300\n" +
                     kMd5 + ":5:Current\n";
  SignatureSet s = MustLoad("x.hdb", text);
  ASSERT_EQ(s.hashes.size(), 1u);
  EXPECT_EQ(s.known, 1u);
}

TEST(HashDb, AnySizeNeedsFunctionalityLevel73) {
  SignatureSet s;
  Status st = LoadDatabaseText("x.hsb", std::string(kSha256) + ":*:NoLevel\n", false, &s);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_EQ(st.message(),
            "x.hsb:1: minimum FLEVEL field must be at least 73 for wildcard size hash signatures");
  EXPECT_TRUE(LoadDatabaseText("x.hsb", std::string(kSha256) + ":*:L72:72\n", false, &s).code() ==
              StatusCode::kCorruption);
  EXPECT_TRUE(LoadDatabaseText("x.hsb", std::string(kSha256) + ":*:L73:73\n", false, &s).ok());
  EXPECT_EQ(s.known, 1u);
}

struct BadLine {
  const char* line;
  const char* reason;
};

TEST(HashDb, MalformedLinesReportFileLineAndReason) {
  const std::string md5 = kMd5;
  const BadLine cases[] = {
      {"justaname", "expected HASH:SIZE:NAME[:MINFL[:MAXFL]]"},
      {"a:b", "expected HASH:SIZE:NAME[:MINFL[:MAXFL]]"},
      {"44d8:68:Short", "hash '44d8' is not MD5, SHA1 or SHA256 (32, 40 or 64 hex digits)"},
      {"44d88612fea8a8f36de82e1278abb0zz:68:BadHex",
       "bad hex digit in hash '44d88612fea8a8f36de82e1278abb0zz'"},
      {"44d88612fea8a8f36de82e1278abb02f:-1:Neg", "bad file size '-1'"},
      {"44d88612fea8a8f36de82e1278abb02f:12x:Junk", "bad file size '12x'"},
      {"44d88612fea8a8f36de82e1278abb02f::NoSize", "bad file size ''"},
      {"44d88612fea8a8f36de82e1278abb02f:68:", "empty signature name"},
      {"44d88612fea8a8f36de82e1278abb02f:68:N:1:2:3", "expected HASH:SIZE:NAME[:MINFL[:MAXFL]]"},
  };
  for (const auto& c : cases) {
    SignatureSet s = MustLoad("first.hdb", md5 + ":1:Before\n");
    std::string before = Fingerprint(s);
    std::string text = "# header\n" + md5 + ":2:Good\n# comment\n" + c.line + "\n" + md5 + ":3:After\n";
    Status st = LoadDatabaseText("dir/bad.hdb", text, false, &s);
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << c.line;
    EXPECT_EQ(st.message(), std::string("dir/bad.hdb:4: ") + c.reason) << c.line;
    EXPECT_EQ(Fingerprint(s), before) << "half-loaded after: " << c.line;
  }
}

// ---------------------------------------------------------------- ndb

TEST(Ndb, ParsesFieldsOffsetsAndTargets) {
  const char* text =
      "Any.Star:0:*:4d5a90??0003\n"
      "Abs:0:10:4d5a90\n"
      "AbsShift:0:10,20:4d5a90\n"
      "Eof:0:EOF-16:4d5a90\n"
      "EofShift:0:EOF-16,4:4d5a90\n"
      "Text:7:*:6576616c28\n"
      "Ep:1:EP+4:4d5a90\n"
      "EpMinus:1:EP-4,8:4d5a90\n"
      "Sect:1:S2+16:4d5a90\n"
      "SectAll:1:SE3:4d5a90\n"
      "Last:1:SL+8:4d5a90\n"
      "Elf:6:*:7f454c46\n"
      "ElfEp:6:EP+0:7f454c46\n";
  SignatureSet s = MustLoad("x.ndb", text);
  ASSERT_EQ(s.bodies.size(), 13u);
  EXPECT_EQ(s.known, 13u);
  auto off = [&](size_t i) { return s.bodies[i].offset; };
  EXPECT_EQ(s.names[s.bodies[0].name], "Any.Star.UNOFFICIAL");
  EXPECT_EQ(FormatPattern(s.bodies[0].pattern), "4d5a90??0003");
  EXPECT_EQ(off(0).kind, Offset::Kind::kAny);
  EXPECT_EQ(off(1).kind, Offset::Kind::kAbsolute);
  EXPECT_EQ(off(1).value, 10);
  EXPECT_EQ(off(1).max_shift, 0u);
  EXPECT_EQ(off(2).max_shift, 20u);
  EXPECT_EQ(off(3).kind, Offset::Kind::kFromEnd);
  EXPECT_EQ(off(3).value, 16);
  EXPECT_EQ(off(4).max_shift, 4u);
  EXPECT_EQ(s.bodies[5].target, kTargetAscii);
  EXPECT_EQ(off(6).kind, Offset::Kind::kEntryPoint);
  EXPECT_EQ(off(6).value, 4);
  EXPECT_EQ(off(7).value, -4);
  EXPECT_EQ(off(7).max_shift, 8u);
  EXPECT_EQ(off(8).kind, Offset::Kind::kSection);
  EXPECT_EQ(off(8).section, 2u);
  EXPECT_EQ(off(8).value, 16);
  EXPECT_EQ(off(9).kind, Offset::Kind::kSectionAll);
  EXPECT_EQ(off(9).section, 3u);
  EXPECT_EQ(off(10).kind, Offset::Kind::kLastSection);
  EXPECT_EQ(off(10).value, 8);
  // Evaluable now: *, n, EOF-n offsets, for targets 0, 7 and the
  // file-type ones (ELF here); EP and section offsets on PE files, not yet
  // on ELF files.
  for (size_t i = 0; i < 12; ++i) EXPECT_TRUE(s.bodies[i].evaluable) << i;
  EXPECT_FALSE(s.bodies[12].evaluable);
  // One warning for the whole file, counting what cannot be matched yet.
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_NE(s.warnings[0].find("x.ndb: 1 signature(s)"), std::string::npos) << s.warnings[0];
}

TEST(Ndb, UnknownTargetTypesAreSkippedUncounted) {
  SignatureSet s = MustLoad("x.ndb", "Future:99:*:4d5a90\nKnown:0:*:4d5a90\n");
  ASSERT_EQ(s.bodies.size(), 1u);
  EXPECT_EQ(s.known, 1u);
}

TEST(Ndb, OfficialNamesHaveNoSuffix) {
  SignatureSet s = MustLoad("daily.cvd:daily.ndb", "Win.Test-1:0:*:4d5a90\n", /*official=*/true);
  ASSERT_EQ(s.bodies.size(), 1u);
  EXPECT_EQ(s.names[s.bodies[0].name], "Win.Test-1");
}

TEST(Ndb, FunctionalityLevelFiltering) {
  const char* text =
      "L216:0:*:4d5a90:216\n"
      "L217:0:*:4d5a90:217\n"
      "Max216:0:*:4d5a90:1:216\n"
      "Max215:0:*:4d5a90:1:215\n"
      "Future:0:*:4d5a90(NEW)zz:300\n"       // syntax we do not know, for a newer engine
      "FutureTarget:99:XX:4d5a90:217\n";     // so are the target and offset
  SignatureSet s = MustLoad("x.ndb", text);
  ASSERT_EQ(s.bodies.size(), 2u);
  EXPECT_EQ(s.known, 2u);
  EXPECT_EQ(s.names[s.bodies[0].name], "L216.UNOFFICIAL");
  EXPECT_EQ(s.names[s.bodies[1].name], "Max216.UNOFFICIAL");
}

TEST(Ndb, MalformedLinesReportFileLineAndReason) {
  const BadLine cases[] = {
      {"Name:0:*", "expected Name:TargetType:Offset:HexSignature[:MinFL[:MaxFL]]"},
      {"Name:0:*:4d5a90:1:2:3", "expected Name:TargetType:Offset:HexSignature[:MinFL[:MaxFL]]"},
      {":0:*:4d5a90", "empty signature name"},
      {"Name:x:*:4d5a90", "bad target type 'x'"},
      {"Name:-1:*:4d5a90", "bad target type '-1'"},
      {"Name:0:abc:4d5a90", "bad offset 'abc'"},
      {"Name:0::4d5a90", "bad offset ''"},
      {"Name:0:10,x:4d5a90", "bad offset '10,x'"},
      {"Name:0:EOF+4:4d5a90", "bad offset 'EOF+4'"},
      {"Name:1:EP*4:4d5a90", "bad offset 'EP*4'"},
      {"Name:1:S+4:4d5a90", "bad offset 'S+4'"},
      {"Name:1:Sx+4:4d5a90", "bad offset 'Sx+4'"},
      {"Name:1:SE:4d5a90", "bad offset 'SE'"},
      {"Name:1:SL-4:4d5a90", "bad offset 'SL-4'"},
      {"Name:0:*:4d5", "odd number of hex digits"},
      {"Name:0:*:*4d5a", "signature cannot begin or end with a wildcard gap"},
      {"Name:0:*:", "empty signature"},
  };
  for (const auto& c : cases) {
    SignatureSet s = MustLoad("ok.ndb", "Before:0:*:414243\n");
    std::string before = Fingerprint(s);
    std::string text = std::string("Good:0:*:434445\n# comment\n") + c.line + "\nAfter:0:*:454647\n";
    Status st = LoadDatabaseText("bad.ndb", text, false, &s);
    EXPECT_EQ(st.code(), StatusCode::kCorruption) << c.line;
    EXPECT_EQ(st.message(), std::string("bad.ndb:3: ") + c.reason) << c.line;
    EXPECT_EQ(Fingerprint(s), before) << "half-loaded after: " << c.line;
  }
}

// ---------------------------------------------------------------- ignore lists

TEST(Ign2, IgnoredNamesAreRemovedAndUncounted) {
  SignatureSet s = MustLoad("x.hdb", std::string(kMd5) + ":1:Keep\n" + kMd5 + ":2:Drop.Hash\n");
  ASSERT_TRUE(LoadDatabaseText("x.ndb", "Drop.Body:0:*:4d5a90\nKeep.Body:0:*:4d5b90\n", false, &s).ok());
  ASSERT_TRUE(LoadDatabaseText("y.ign2",
                               "fake_dont_remove_this_line\r\n# comment\nDrop.Hash\nDrop.Body\n"
                               "NotLoaded\n",
                               false, &s)
                  .ok());
  EXPECT_EQ(s.known, 4u);  // ignore lists add nothing
  ApplyIgnores(&s);
  EXPECT_EQ(s.known, 2u);
  ASSERT_EQ(s.hashes.size(), 1u);
  ASSERT_EQ(s.bodies.size(), 1u);
  EXPECT_EQ(s.names[s.hashes[0].name], "Keep.UNOFFICIAL");
  EXPECT_EQ(s.names[s.bodies[0].name], "Keep.Body.UNOFFICIAL");
}

TEST(Ign2, AppliesToSignaturesLoadedAfterTheList) {
  SignatureSet s = MustLoad("a.ign2", "Later\n");
  ASSERT_TRUE(LoadDatabaseText("b.hdb", std::string(kMd5) + ":1:Later\n", false, &s).ok());
  ApplyIgnores(&s);
  EXPECT_EQ(s.known, 0u);
  EXPECT_TRUE(s.hashes.empty());
}

TEST(Ign2, OldIgnFormatNamesTheSignatureInTheThirdField) {
  // .ign lines are "DATABASE:LINE:NAME"; clamscan ignores NAME wherever it is.
  SignatureSet s = MustLoad("x.hdb", std::string(kMd5) + ":1:Foo.A\n" + kMd5 + ":2:Bar.B\n");
  ASSERT_TRUE(LoadDatabaseText("local.ign", "other.hdb:7:Foo.A\n", false, &s).ok());
  ApplyIgnores(&s);
  ASSERT_EQ(s.hashes.size(), 1u);
  EXPECT_EQ(s.names[s.hashes[0].name], "Bar.B.UNOFFICIAL");
  EXPECT_EQ(s.known, 1u);
}

TEST(Ign2, MalformedLines) {
  SignatureSet s;
  Status st = LoadDatabaseText("x.ign2", "Good\n:abc\n", false, &s);
  EXPECT_EQ(st.message(), "x.ign2:2: empty signature name");
  EXPECT_TRUE(s.ignored.empty());
  st = LoadDatabaseText("x.ign2", "Good\n\nOther\n", false, &s);
  EXPECT_EQ(st.message(), "x.ign2:2: empty line");
  EXPECT_TRUE(s.ignored.empty());
  st = LoadDatabaseText("x.ign2", "Good\na:b:c:d\n", false, &s);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_EQ(st.message().rfind("x.ign2:2: ", 0), 0u) << st.message();
  EXPECT_TRUE(s.ignored.empty());
}

// ---------------------------------------------------------------- dispatch

TEST(Loader, DisplayName) {
  EXPECT_EQ(DisplayName("Win.Test-1", false), "Win.Test-1.UNOFFICIAL");
  EXPECT_EQ(DisplayName("Win.Test-1", true), "Win.Test-1");
}

TEST(Loader, DatabaseFileExtensions) {
  for (const char* n : {"a.hdb", "a.HSB", "dir/a.ndb", "a.fp", "a.sfp", "a.ign2", "a.ign", "a.cvd",
                        "a.cld", "a.ldb", "a.yar", "a.yara", "a.hdu", "a.info", "a.cfg"})
    EXPECT_TRUE(IsDatabaseFile(n)) << n;
  for (const char* n : {"README", "a.txt", "a.hdb.bak", "hdb", "a.", ".hdbx"})
    EXPECT_FALSE(IsDatabaseFile(n)) << n;
}

TEST(Loader, UnsupportedFormatsAreSkippedWithOneWarning) {
  SignatureSet s = MustLoad("main.ldb", "Sig;Engine:51-255,Target:1;0;4d5a\nSig2;0;0;4d5b90\n");
  EXPECT_EQ(s.known, 0u);
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_EQ(s.warnings[0], "main.ldb: ldb databases are not supported yet; skipped");
  for (const char* n : {"x.mdb", "x.msb", "x.cdb", "x.ftm", "x.yar", "x.yara", "x.pdb", "x.wdb"}) {
    SignatureSet t = MustLoad(n, "anything at all\n");
    EXPECT_EQ(t.known, 0u) << n;
    ASSERT_EQ(t.warnings.size(), 1u) << n;
    EXPECT_EQ(t.warnings[0].rfind(std::string(n) + ": ", 0), 0u) << t.warnings[0];
  }
}

TEST(Loader, PuaAndMetadataFilesAreSkippedSilently) {
  for (const char* n : {"daily.hdu", "daily.ndu", "daily.info", "daily.cfg"}) {
    SignatureSet s = MustLoad(n, "not:even:a:database\n");
    EXPECT_EQ(s.known, 0u) << n;
    EXPECT_TRUE(s.warnings.empty()) << n;
  }
}

TEST(Loader, UnknownExtensionIsAnError) {
  SignatureSet s;
  Status st = LoadDatabaseText("notes.txt", "x", false, &s);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "notes.txt: not a signature database (unknown extension)");
}

TEST(Loader, MissingPathIsNotFound) {
  TempDir dir;
  SignatureSet s;
  EXPECT_EQ(LoadDatabase(dir.path() + "/nope.hdb", &s).code(), StatusCode::kNotFound);
}

TEST(Loader, SingleFile) {
  TempDir dir;
  std::string p = dir.Write("one.hdb", std::string(kMd5) + ":68:One\n");
  SignatureSet s;
  ASSERT_TRUE(LoadDatabase(p, &s).ok());
  EXPECT_EQ(s.known, 1u);
  EXPECT_EQ(s.names[0], "One.UNOFFICIAL");
  // An unsupported file given directly is skipped with its warning too.
  std::string l = dir.Write("x.ldb", "junk");
  ASSERT_TRUE(LoadDatabase(l, &s).ok());
  EXPECT_EQ(s.known, 1u);
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_EQ(s.warnings[0], l + ": ldb databases are not supported yet; skipped");
}

TEST(Loader, DirectoryLoadsEveryDatabaseFileInNameOrder) {
  TempDir dir;
  dir.Write("b.ndb", "Body.B:0:*:4d5a90\n");
  dir.Write("a.hdb", std::string(kMd5) + ":68:Hash.A\n");
  dir.Write("c.fp", std::string(kMd5) + ":68:clean\n");
  dir.Write("d.ign2", "Hash.A\n");
  dir.Write("e.ldb", "Sig;0;0;4d5a\n");
  dir.Write("README", "not a database\n");
  dir.Write("notes.txt", "::::\n");
  fs::create_directory(dir.path() + "/sub.hdb");  // a directory, not loaded
  dir.Write("sub.hdb/inner.hdb", std::string(kMd5) + ":68:Inner\n");
  SignatureSet s;
  Status st = LoadDatabase(dir.path(), &s);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(s.names.size(), 3u);
  EXPECT_EQ(s.names[0], "Hash.A.UNOFFICIAL");
  EXPECT_EQ(s.names[1], "Body.B.UNOFFICIAL");
  EXPECT_EQ(s.names[2], "clean");
  EXPECT_EQ(s.known, 3u);
  ASSERT_EQ(s.warnings.size(), 1u);
  EXPECT_EQ(s.warnings[0], dir.path() + "/e.ldb: ldb databases are not supported yet; skipped");
  ApplyIgnores(&s);
  EXPECT_EQ(s.known, 2u);
  EXPECT_TRUE(s.hashes.empty());
  // A trailing slash names the same directory.
  SignatureSet t;
  ASSERT_TRUE(LoadDatabase(dir.path() + "/", &t).ok());
  EXPECT_EQ(t.known, 3u);
}

TEST(Loader, BadFileInDirectoryFailsTheLoadAndLoadsNothing) {
  TempDir dir;
  dir.Write("a.hdb", std::string(kMd5) + ":68:Hash.A\n");
  dir.Write("b.ign2", "Something\n");
  dir.Write("c.ldb", "skipped\n");
  dir.Write("d.ndb", "Good:0:*:4d5a90\nBad:0:*:4d5\n");
  SignatureSet s = MustLoad("earlier.hdb", std::string(kMd5) + ":1:Earlier\n");
  std::string before = Fingerprint(s);
  Status st = LoadDatabase(dir.path(), &s);
  EXPECT_EQ(st.code(), StatusCode::kCorruption);
  EXPECT_EQ(st.message(), dir.path() + "/d.ndb:2: odd number of hex digits");
  EXPECT_EQ(Fingerprint(s), before);
}

// ---------------------------------------------------------------- real corpus

// ../shared/corpora/signatures/clamav-official-db beside the source tree:
// part of ClamAV's official database. Its SOURCE.md lists clamscan's
// "Known viruses" for each file.
std::string CorpusDir() {
#ifdef VIGIL_SOURCE_DIR
  fs::path p = fs::path(VIGIL_SOURCE_DIR).parent_path() / "shared" / "corpora" / "signatures" /
               "clamav-official-db";
  if (fs::is_directory(p)) return p.string();
#endif
  return {};
}

#define REQUIRE_CORPUS(dir)                                                                  \
  std::string dir = CorpusDir();                                                           \
  if (dir.empty())                                                                          \
    GTEST_SKIP() << "real signature corpus not found "                                      \
                    "(../shared/corpora/signatures/clamav-official-db beside the source tree)"

TEST(RealCorpus, PerFileKnownVirusCountsMatchClamscan) {
  REQUIRE_CORPUS(dir);
  const std::pair<const char*, uint64_t> files[] = {
      {"daily.hdb", 2},   {"daily.hsb", 146348}, {"daily.ndb", 258}, {"main.hdb", 82211},
      {"main.fp", 513},   {"daily.fp", 483},     {"daily.sfp", 1},
  };
  for (const auto& [name, want] : files) {
    SignatureSet s;
    Status st = LoadDatabase(dir + "/" + name, &s);
    ASSERT_TRUE(st.ok()) << st.message();
    EXPECT_EQ(s.known, want) << name;
  }
}

TEST(RealCorpus, WholeFolderWithIgnoreListApplied) {
  REQUIRE_CORPUS(dir);
  SignatureSet s;
  Status st = LoadDatabase(dir, &s);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(s.known, 229816u);  // before daily.ign2
  ApplyIgnores(&s);
  // clamscan's 268557 minus main.ldb (38889 - 147 ignored) and the unsupported
  // .cdb (5) and .msb (3 + 1) files.
  EXPECT_EQ(s.known, 229806u);
  EXPECT_EQ(s.hashes.size(), 2u + 146348u + 82211u - 10u);
  EXPECT_EQ(s.allow.size(), 513u + 483u + 1u);
  EXPECT_EQ(s.bodies.size(), 258u);
  // One warning per unsupported file (cdb, ftm, ldb, 2 x msb) and one for
  // daily.ndb's signatures that need file-type parsing.
  size_t skipped = 0;
  for (const auto& w : s.warnings) skipped += w.find("not supported yet; skipped") != std::string::npos;
  EXPECT_EQ(skipped, 5u);
}

}  // namespace
}  // namespace vigil::sig
