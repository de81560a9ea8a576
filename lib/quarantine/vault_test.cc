#include "quarantine/vault.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace vigil::quarantine {
namespace {

namespace fs = std::filesystem;

// "prefix<a>-<b>", built without operator+ chains (GCC 12 -Wrestrict noise).
std::string Name(const char* prefix, int a, int b = -1) {
  std::string s = prefix;
  s += std::to_string(a);
  if (b >= 0) {
    s += '-';
    s += std::to_string(b);
  }
  return s;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& p, const std::string& data, mode_t mode = 0644) {
  std::ofstream(p, std::ios::binary) << data;
  chmod(p.c_str(), mode);
}

class VaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "vigil-vault-test-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    vault_dir_ = root_ / "vault";
    files_ = root_ / "files";
    fs::create_directories(files_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::unique_ptr<Vault> OpenVault() {
    auto v = Vault::Open(vault_dir_.string());
    EXPECT_TRUE(v.ok()) << v.status().message();
    return v.ok() ? std::move(v).value() : nullptr;
  }

  Result<Entry> QuarantinePath(Vault& v, const fs::path& p) {
    auto t = OpenTarget(p.string());
    if (!t.ok()) return t.status();
    return v.Quarantine(*t, QuarantineInfo{{"Test.Sig-1", "Test.Sig-2"}, "test-db 1"});
  }

  fs::path root_, vault_dir_, files_;
};

TEST_F(VaultTest, CreatesAPrivateVault) {
  auto v = OpenVault();
  ASSERT_TRUE(v);
  struct stat st {};
  ASSERT_EQ(stat(vault_dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_TRUE(fs::exists(vault_dir_ / "vault.key"));
  EXPECT_TRUE(fs::exists(vault_dir_ / "index.sqlite"));
  EXPECT_TRUE(fs::is_directory(vault_dir_ / "data"));
}

TEST_F(VaultTest, QuarantineThenRestoreIsExact) {
  fs::path f = files_ / "evil.bin";
  std::string data(200000, 'x');
  data += "tail";
  WriteFile(f, data, 04751);
  if (geteuid() == 0) {
    ASSERT_EQ(chown(f.c_str(), 1234, 5678), 0);
  }
  chmod(f.c_str(), 04751);  // chown cleared set-user-ID
  struct timespec times[2] = {{1000000000, 123456789}, {1200000000, 987654321}};
  ASSERT_EQ(utimensat(AT_FDCWD, f.c_str(), times, 0), 0);
  struct stat before {};
  ASSERT_EQ(stat(f.c_str(), &before), 0);

  auto v = OpenVault();
  auto e = QuarantinePath(*v, f);
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_FALSE(fs::exists(f));
  EXPECT_EQ(e->size, data.size());
  EXPECT_EQ(e->detections, (std::vector<std::string>{"Test.Sig-1", "Test.Sig-2"}));
  EXPECT_EQ(e->path, fs::canonical(files_).string() + "/evil.bin");
  EXPECT_EQ(e->mode & 07777, 04751u);
  EXPECT_EQ(e->db_version, "test-db 1");
  EXPECT_FALSE(e->host.empty());
  EXPECT_TRUE(v->HasContent(e->id));
  // The stored copy is not executable and not the plain bytes.
  struct stat vst {};
  ASSERT_EQ(stat((vault_dir_ / "data" / (e->id + ".vlt")).c_str(), &vst), 0);
  EXPECT_EQ(vst.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadFile(vault_dir_ / "data" / (e->id + ".vlt")).find("tail"), std::string::npos);

  auto listed = v->List();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].sha256, e->sha256);

  // A fresh process (new Vault) can read it back.
  v.reset();
  v = OpenVault();
  auto found = v->Find(e->id.substr(0, 4));
  ASSERT_TRUE(found.ok()) << found.status().message();
  auto r = v->Restore(*found, RestoreOptions{});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->warnings.empty()) << r->warnings[0];
  struct stat after {};
  ASSERT_EQ(stat(f.c_str(), &after), 0);  // before reading it, which may touch atime
  EXPECT_EQ(ReadFile(f), data);
  EXPECT_EQ(after.st_mode, before.st_mode);
  EXPECT_EQ(after.st_uid, before.st_uid);
  EXPECT_EQ(after.st_gid, before.st_gid);
  EXPECT_EQ(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
  EXPECT_EQ(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
  EXPECT_EQ(after.st_atim.tv_sec, before.st_atim.tv_sec);
  // Restored entries leave the vault.
  EXPECT_TRUE(v->List()->empty());
  EXPECT_FALSE(v->HasContent(e->id));
}

TEST_F(VaultTest, RestoreRefusesToOverwriteWithoutForce) {
  fs::path f = files_ / "a";
  WriteFile(f, "original");
  auto v = OpenVault();
  auto e = QuarantinePath(*v, f);
  ASSERT_TRUE(e.ok());
  WriteFile(f, "newer file");
  auto r = v->Restore(*e, RestoreOptions{});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("--force"), std::string::npos);
  EXPECT_EQ(ReadFile(f), "newer file");
  EXPECT_EQ(v->List()->size(), 1u);
  RestoreOptions force;
  force.force = true;
  ASSERT_TRUE(v->Restore(*e, force).ok());
  EXPECT_EQ(ReadFile(f), "original");
  // No temporary files are left behind.
  for (const auto& de : fs::directory_iterator(files_)) EXPECT_EQ(de.path().filename(), "a");
}

TEST_F(VaultTest, RestoreToAnotherPlaceAndKeep) {
  fs::path f = files_ / "b";
  WriteFile(f, "bee");
  auto v = OpenVault();
  auto e = QuarantinePath(*v, f);
  ASSERT_TRUE(e.ok());
  fs::create_directories(root_ / "elsewhere");
  RestoreOptions o;
  o.to = (root_ / "elsewhere").string();
  o.keep = true;
  auto r = v->Restore(*e, o);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->path, (root_ / "elsewhere" / "b").string());
  EXPECT_EQ(ReadFile(root_ / "elsewhere" / "b"), "bee");
  EXPECT_FALSE(fs::exists(f));
  EXPECT_EQ(v->List()->size(), 1u);
  o.to = (root_ / "elsewhere" / "renamed").string();
  o.keep = false;
  ASSERT_TRUE(v->Restore(*e, o).ok());
  EXPECT_EQ(ReadFile(root_ / "elsewhere" / "renamed"), "bee");
  EXPECT_TRUE(v->List()->empty());
}

TEST_F(VaultTest, ChangedFileIsLeftAlone) {
  fs::path f = files_ / "c";
  WriteFile(f, "scanned bytes");
  auto v = OpenVault();
  auto t = OpenTarget(f.string());
  ASSERT_TRUE(t.ok());
  {
    std::ofstream out(f, std::ios::binary | std::ios::app);
    out << " and more";
  }
  auto e = v->Quarantine(*t, QuarantineInfo{{"X"}, ""});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(e.status().message().find("changed"), std::string::npos);
  EXPECT_EQ(ReadFile(f), "scanned bytes and more");
  EXPECT_TRUE(v->List()->empty());
  EXPECT_TRUE(fs::is_empty(vault_dir_ / "data"));
}

TEST_F(VaultTest, SwappedForSymlinkIsLeftAlone) {
  fs::path f = files_ / "d";
  WriteFile(f, "payload");
  WriteFile(files_ / "precious", "do not touch");
  auto v = OpenVault();
  auto t = OpenTarget(f.string());
  ASSERT_TRUE(t.ok());
  fs::remove(f);
  fs::create_symlink(files_ / "precious", f);
  auto e = v->Quarantine(*t, QuarantineInfo{{"X"}, ""});
  ASSERT_FALSE(e.ok());
  // Unlinking the original changed its inode (ctime) too; either reason will do.
  EXPECT_EQ(e.status().code(), StatusCode::kInvalidArgument) << e.status().message();
  EXPECT_NE(e.status().message().find("left in place"), std::string::npos) << e.status().message();
  EXPECT_TRUE(fs::is_symlink(f));
  EXPECT_EQ(ReadFile(files_ / "precious"), "do not touch");
  EXPECT_TRUE(v->List()->empty());
}

TEST_F(VaultTest, OpenTargetRefusesSymlinksAndSpecialFiles) {
  WriteFile(files_ / "real", "x");
  fs::create_symlink(files_ / "real", files_ / "link");
  int err = 0;
  EXPECT_FALSE(OpenTarget((files_ / "link").string(), &err).ok());
  EXPECT_EQ(err, ELOOP);
  EXPECT_FALSE(OpenTarget(files_.string(), &err).ok());
  EXPECT_FALSE(OpenTarget((files_ / "missing").string(), &err).ok());
  EXPECT_EQ(err, ENOENT);
}

TEST_F(VaultTest, PathThroughSymlinkedDirectoryIsRecordedResolved) {
  fs::create_directories(files_ / "real");
  fs::create_directory_symlink(files_ / "real", files_ / "via");
  WriteFile(files_ / "real" / "f", "z");
  auto v = OpenVault();
  auto e = QuarantinePath(*v, files_ / "via" / "f");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_EQ(e->path, fs::canonical(files_).string() + "/real/f");
  EXPECT_EQ(e->given_path, (files_ / "via" / "f").string());
  ASSERT_TRUE(v->Restore(*e, {}).ok());
  EXPECT_EQ(ReadFile(files_ / "real" / "f"), "z");
}

TEST_F(VaultTest, RestoreDoesNotFollowASymlinkedDirectoryPlantedOnThePath) {
  fs::create_directories(files_ / "dir");
  WriteFile(files_ / "dir" / "f", "z");
  auto v = OpenVault();
  auto e = QuarantinePath(*v, files_ / "dir" / "f");
  ASSERT_TRUE(e.ok());
  fs::remove(files_ / "dir");
  fs::create_directories(root_ / "target");
  fs::create_directory_symlink(root_ / "target", files_ / "dir");
  auto r = v->Restore(*e, {});
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(fs::exists(root_ / "target" / "f"));
  EXPECT_EQ(v->List()->size(), 1u);
}

TEST_F(VaultTest, OpenCleansUpWhatACrashLeft) {
  auto v = OpenVault();
  WriteFile(files_ / "keep", "k");
  auto e = QuarantinePath(*v, files_ / "keep");
  ASSERT_TRUE(e.ok());
  v.reset();
  WriteFile(vault_dir_ / "data" / "aaaaaaaaaaaa.part", "half");
  WriteFile(vault_dir_ / "data" / "bbbbbbbbbbbb.vlt", "unlisted");
  v = OpenVault();
  EXPECT_EQ(v->cleanup_notes().size(), 2u);
  EXPECT_FALSE(fs::exists(vault_dir_ / "data" / "aaaaaaaaaaaa.part"));
  EXPECT_FALSE(fs::exists(vault_dir_ / "data" / "bbbbbbbbbbbb.vlt"));
  EXPECT_TRUE(v->HasContent(e->id));
}

TEST_F(VaultTest, NoCleanupWhileAnotherUserHoldsTheVault) {
  auto first = OpenVault();
  WriteFile(vault_dir_ / "data" / "cccccccccccc.part", "in progress");
  auto second = OpenVault();
  EXPECT_TRUE(second->cleanup_notes().empty());
  EXPECT_TRUE(fs::exists(vault_dir_ / "data" / "cccccccccccc.part"));
}

TEST_F(VaultTest, DeleteAndFind) {
  auto v = OpenVault();
  std::vector<Entry> es;
  for (int i = 0; i < 3; ++i) {
    WriteFile(files_ / std::to_string(i), Name("n", i));
    auto e = QuarantinePath(*v, files_ / std::to_string(i));
    ASSERT_TRUE(e.ok());
    es.push_back(*e);
  }
  EXPECT_FALSE(v->Find("xyz").ok());
  EXPECT_FALSE(v->Find("").ok());
  EXPECT_EQ(v->Find("ffffffffffff0").status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(v->Delete(es[1]).ok());
  EXPECT_FALSE(v->HasContent(es[1].id));
  EXPECT_EQ(v->List()->size(), 2u);
  EXPECT_FALSE(v->Delete(es[1]).ok());
}

TEST_F(VaultTest, ExportWritesAnEncryptedZip) {
  WriteFile(files_ / "e", "X5O!P%@AP-export-me");
  auto v = OpenVault();
  auto e = QuarantinePath(*v, files_ / "e");
  ASSERT_TRUE(e.ok());
  fs::path zip = root_ / "out.zip";
  ASSERT_TRUE(v->Export(*e, zip.string(), "infected").ok());
  std::string z = ReadFile(zip);
  EXPECT_EQ(z.substr(0, 2), "PK");
  EXPECT_EQ(z.find("export-me"), std::string::npos);
  EXPECT_FALSE(v->Export(*e, zip.string(), "infected").ok());  // never overwrites
}

TEST_F(VaultTest, AllowListLine) {
  WriteFile(files_ / "g", "good after all");
  auto v = OpenVault();
  auto e = QuarantinePath(*v, files_ / "g");
  ASSERT_TRUE(e.ok());
  fs::path sfp = vault_dir_ / "allow.sfp";
  WriteFile(sfp, "deadbeef:1:NoNewlineAtEnd", 0600);
  ASSERT_TRUE(AppendAllowList(sfp.string(), *e).ok());
  EXPECT_EQ(ReadFile(sfp), "deadbeef:1:NoNewlineAtEnd\n" + e->sha256 + ":14:Vigil.Allowed." + e->id + "\n");
}

TEST_F(VaultTest, TwoProcessesQuarantiningAtOnceKeepAConsistentIndex) {
  constexpr int kPerChild = 15;
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < kPerChild; ++i)
      WriteFile(files_ / Name("p", c, i), Name("content of p", c, i));
  pid_t kids[2];
  for (int c = 0; c < 2; ++c) {
    kids[c] = fork();
    ASSERT_GE(kids[c], 0);
    if (kids[c] == 0) {
      int bad = 0;
      auto v = Vault::Open(vault_dir_.string());
      if (!v.ok()) {
        std::fprintf(stderr, "child %d: %s\n", c, v.status().message().c_str());
        _exit(100);
      }
      for (int i = 0; i < kPerChild; ++i) {
        auto t = OpenTarget((files_ / Name("p", c, i)).string());
        Status st = t.ok() ? (*v)->Quarantine(*t, QuarantineInfo{{"X"}, ""}).status() : t.status();
        if (!st.ok()) {
          std::fprintf(stderr, "child %d, file %d: %s\n", c, i, st.message().c_str());
          ++bad;
        }
      }
      _exit(bad);
    }
  }
  for (pid_t k : kids) {
    int status = 0;
    ASSERT_EQ(waitpid(k, &status, 0), k);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  auto v = OpenVault();
  auto list = v->List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 2u * kPerChild);
  for (const auto& e : *list) {
    EXPECT_TRUE(v->HasContent(e.id));
    std::string bytes;
    ASSERT_TRUE(v->ReadContent(e, [&](std::string_view d) { bytes.append(d); return Status::Ok(); }).ok());
  }
  EXPECT_TRUE(fs::is_empty(files_));
}

TEST(ParseAge, Units) {
  int64_t s = 0;
  EXPECT_TRUE(ParseAge("30d", &s));
  EXPECT_EQ(s, 30 * 86400);
  EXPECT_TRUE(ParseAge("12h", &s));
  EXPECT_EQ(s, 12 * 3600);
  EXPECT_TRUE(ParseAge("2w", &s));
  EXPECT_EQ(s, 14 * 86400);
  EXPECT_TRUE(ParseAge("0", &s));
  EXPECT_EQ(s, 0);
  EXPECT_FALSE(ParseAge("", &s));
  EXPECT_FALSE(ParseAge("-1d", &s));
  EXPECT_FALSE(ParseAge("3y", &s));
}

}  // namespace
}  // namespace vigil::quarantine
