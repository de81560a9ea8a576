// The engine cache's payload: SerializeDb/DeserializeDb round-trip exactly,
// and every truncation or corruption of a serialized db is rejected cleanly
// (or, where a changed byte still makes a well-formed db, yields one that is
// safe to use), never a crash.
#include "compile/cache.h"

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "match/verify.h"
#include "signatures/loader.h"

namespace vigil::compile {
namespace {

constexpr char kHashes[] =
    "44d88612fea8a8f36de82e1278abb02f:68:Eicar-Test-Signature\n"
    "3395856ce81f2b7382dee72602f798b642f14140:68:Eicar.Sha1\n"
    "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f:*:Eicar.Sha256:73\n";
constexpr char kAllow[] = "b1946ac92492d2347c6235b4d2611184:6:hello.txt\n";
constexpr char kBodies[] =
    "Body.Literal:0:*:68656c6c6f20776f726c64\n"            // prefiltered on a literal
    "Body.Wild:0:*:4d5a9000??0300(0a|0b0c)ffff\n"          // literal anchor, wildcards around
    "Body.Alt:0:*:7a7a(414243|444546)7a7a\n"
    "Body.Pinned:0:0:4d5a9000\n"                           // verified at its offset
    "Body.Eof:0:EOF-4,8:deadbeef\n"
    "Body.Text:7:*:6576616c28\n"                           // normalised-text group
    "Body.Zeros:0:*:0000??000000\n"                        // no good anchor: whole regex
    "Body.Multi:0:*:6d756c7469*7061727473{2-6}6f6b6179\n"  // several parts
    "Body.Elf:6:EP+0:7f454c46\n";                         // loaded, not evaluable

std::unique_ptr<CompiledDb> BuildDb() {
  sig::SignatureSet set;
  for (auto [name, text] : {std::pair{"t.hsb", kHashes}, {"t.fp", kAllow}, {"t.ndb", kBodies}}) {
    Status st = sig::LoadDatabaseText(name, text, false, &set);
    EXPECT_TRUE(st.ok()) << st.message();
  }
  auto db = Compile(std::move(set), Strategy::kAnchor);
  EXPECT_TRUE(db.ok()) << db.status().message();
  return db.ok() ? std::move(db).value() : nullptr;
}

std::string MustSerialize(const CompiledDb& db) {
  auto bytes = SerializeDb(db);
  EXPECT_TRUE(bytes.ok()) << bytes.status().message();
  return bytes.ok() ? *bytes : std::string();
}

void ExpectSameGroup(const Group& a, const Group& b) {
  EXPECT_EQ(a.positional, b.positional);
  EXPECT_EQ(a.lit_first, b.lit_first);
  EXPECT_EQ(a.regex_sigs, b.regex_sigs);
  EXPECT_EQ(a.literal_count, b.literal_count);
  EXPECT_EQ(a.literals == nullptr, b.literals == nullptr);
  ASSERT_EQ(a.anchors.size(), b.anchors.size());
  for (size_t i = 0; i < a.anchors.size(); ++i) EXPECT_TRUE(a.anchors[i] == b.anchors[i]) << i;
}

// Uses every body signature of an accepted db the way a scan would, over a
// buffer that holds pieces of them: an accepted db must be safe to use.
void Exercise(const CompiledDb& db) {
  std::string data = "MZ\x90" + std::string(1, '\0') + "hello world zzABCzz multi parts..okay eval(";
  data += std::string(8, '\0') + "\xde\xad\xbe\xef";
  match::Data d{reinterpret_cast<const uint8_t*>(data.data()), data.size()};
  // A body whose cached pattern is malformed decodes to null: never used.
  for (size_t i = 0; i < db.bodies.size(); ++i) {
    const sig::BodySig* b = db.bodies.Get(i);
    if (!b) continue;
    for (size_t pos = 0; pos <= data.size(); ++pos) {
      (void)match::VerifyAt(*b, d, pos);
      (void)match::VerifyEndingAt(*b, d, pos);
    }
  }
  // As the engine does: an anchor is used only when it fits its pattern.
  for (const Group* g : {&db.raw, &db.text})
    for (const auto& a : g->anchors) {
      const sig::BodySig* b = db.bodies.Get(a.sig);
      if (!b || !AnchorFits(*b, a)) continue;
      for (size_t end = 0; end <= data.size(); ++end) (void)match::VerifyAnchor(*b, a, d, end);
    }
  for (size_t i = 0; i < db.names.size(); ++i) (void)db.names[i];
  uint8_t digest[32] = {};
  for (const HashIndex* idx : {&db.hashes, &db.allow})
    for (int64_t size : {int64_t{6}, int64_t{68}, int64_t{73}})
      if (idx->KindsForSize(size))
        for (auto kind : {sig::HashKind::kMd5, sig::HashKind::kSha1, sig::HashKind::kSha256})
          idx->Lookup(size, kind, digest, [&](uint32_t name) { EXPECT_LT(name, db.names.size()); });
}

TEST(Cache, RoundTripIsExact) {
  auto db = BuildDb();
  ASSERT_NE(db, nullptr);
  ASSERT_EQ(db->hashes.size(), 3u);
  ASSERT_EQ(db->allow.size(), 1u);
  ASSERT_EQ(db->bodies.size(), 8u);  // Body.Elf is counted, not compiled
  EXPECT_FALSE(db->raw.empty());
  EXPECT_FALSE(db->text.empty());

  std::string bytes = MustSerialize(*db);
  auto back = DeserializeDb(bytes);
  ASSERT_TRUE(back.ok()) << back.status().message();
  const CompiledDb& r = **back;

  ASSERT_EQ(r.names.size(), db->names.size());
  for (size_t i = 0; i < r.names.size(); ++i) EXPECT_EQ(r.names[i], db->names[i]);
  for (auto [x, y] : {std::pair{&r.hashes, &db->hashes}, std::pair{&r.allow, &db->allow}}) {
    ASSERT_EQ(x->size(), y->size());
    for (size_t i = 0; i < x->size(); ++i) {
      const auto &p = x->entries()[i], &q = y->entries()[i];
      EXPECT_EQ(p.kind, q.kind);
      EXPECT_EQ(p.size, q.size);
      EXPECT_EQ(p.digest, q.digest);
      EXPECT_EQ(p.name, q.name);
    }
  }
  ASSERT_EQ(r.bodies.size(), db->bodies.size());
  for (size_t i = 0; i < r.bodies.size(); ++i) {
    ASSERT_NE(r.bodies.Get(i), nullptr);
    const auto &p = *r.bodies.Get(i), &q = *db->bodies.Get(i);
    EXPECT_EQ(p.name, q.name);
    EXPECT_EQ(p.target, q.target);
    EXPECT_EQ(p.offset.kind, q.offset.kind);
    EXPECT_EQ(p.offset.value, q.offset.value);
    EXPECT_EQ(p.offset.section, q.offset.section);
    EXPECT_EQ(p.offset.max_shift, q.offset.max_shift);
    EXPECT_EQ(p.pattern.elems, q.pattern.elems) << sig::FormatPattern(q.pattern);
  }
  ExpectSameGroup(r.raw, db->raw);
  ExpectSameGroup(r.text, db->text);
  EXPECT_EQ(r.known, db->known);
  EXPECT_EQ(r.known, 13u);
  EXPECT_EQ(r.warnings, db->warnings);
  // Serialising what was read gives the same bytes (Hyperscan's databases included).
  EXPECT_EQ(MustSerialize(r), bytes);
  Exercise(r);
}

TEST(Cache, EmptyDbRoundTrips) {
  auto db = Compile(sig::SignatureSet{}, Strategy::kAnchor);
  ASSERT_TRUE(db.ok());
  std::string bytes = MustSerialize(**db);
  auto back = DeserializeDb(bytes);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ((*back)->known, 0u);
  EXPECT_EQ((*back)->bodies.size(), 0u);
  EXPECT_EQ(MustSerialize(**back), bytes);
}

TEST(Cache, EveryTruncationIsRejected) {
  auto db = BuildDb();
  ASSERT_NE(db, nullptr);
  std::string bytes = MustSerialize(*db);
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = DeserializeDb(std::string_view(bytes.data(), n));
    ASSERT_FALSE(r.ok()) << "accepted a payload cut to " << n << " of " << bytes.size() << " bytes";
    EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
  }
  // Trailing garbage is rejected too.
  EXPECT_FALSE(DeserializeDb(bytes + '\0').ok());
}

TEST(Cache, RandomCorruptionIsRejectedOrHarmless) {
  auto db = BuildDb();
  ASSERT_NE(db, nullptr);
  const std::string bytes = MustSerialize(*db);
  std::mt19937_64 rng(20261123);
  size_t accepted = 0;
  for (int round = 0; round < 4000; ++round) {
    std::string b = bytes;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int k = 0; k < edits; ++k) {
      size_t at = rng() % b.size();
      switch (rng() % 4) {
        case 0: b[at] = static_cast<char>(b[at] ^ (1u << (rng() % 8))); break;
        case 1: b[at] = static_cast<char>(rng()); break;
        case 2: b[at] = '\xff'; break;
        case 3: b[at] = '\0'; break;
      }
    }
    auto r = DeserializeDb(b);
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
      continue;
    }
    // Accepted (a changed name byte, count or offset value, or a pattern
    // byte, found malformed only when that signature is first used): it must
    // be safe to scan with, and serialise again unless a pattern is malformed.
    ++accepted;
    Exercise(**r);
    auto again = SerializeDb(**r);
    if (!again.ok()) {
      EXPECT_EQ(again.status().code(), StatusCode::kCorruption);
    }
  }
  EXPECT_LT(accepted, 4000u);
}

// Patterns are decoded on first use: threads racing for the same signatures
// all get the one decoded copy, equal to the compiled signature.
TEST(Cache, ConcurrentDecodingGivesOneCopy) {
  auto db = BuildDb();
  ASSERT_NE(db, nullptr);
  auto back = DeserializeDb(MustSerialize(*db));
  ASSERT_TRUE(back.ok()) << back.status().message();
  const CompiledDb& r = **back;
  const size_t n = r.bodies.size();
  std::vector<std::vector<const sig::BodySig*>> seen(4, std::vector<const sig::BodySig*>(n));
  std::vector<std::thread> threads;
  for (size_t t = 0; t < seen.size(); ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(static_cast<unsigned>(t));
      std::vector<size_t> order(n);
      for (size_t i = 0; i < n; ++i) order[i] = i;
      std::shuffle(order.begin(), order.end(), rng);
      for (size_t i : order) seen[t][i] = r.bodies.Get(i);
    });
  }
  for (auto& th : threads) th.join();
  for (size_t i = 0; i < n; ++i) {
    ASSERT_NE(seen[0][i], nullptr);
    for (size_t t = 1; t < seen.size(); ++t) EXPECT_EQ(seen[t][i], seen[0][i]) << i;
    EXPECT_EQ(seen[0][i]->pattern.elems, db->bodies.Get(i)->pattern.elems);
    EXPECT_EQ(r.bodies.Get(i), seen[0][i]);  // decoded once, kept
  }
}

// A pattern damaged inside the unchecked pattern section is found when first
// decoded: that signature never matches, the others are untouched, and the
// db no longer serialises (it would write the damage back).
TEST(Cache, DamagedPatternMakesOnlyItsSignatureInert) {
  auto db = BuildDb();
  ASSERT_NE(db, nullptr);
  std::string bytes = MustSerialize(*db);
  // Body.Literal's "hello world", one (value, mask) pair per byte.
  const std::string hello = std::string("h\xff" "e\xff" "l\xff" "l\xff" "o\xff", 10);
  size_t at = bytes.find(hello);
  ASSERT_NE(at, std::string::npos);
  ASSERT_EQ(bytes.find(hello, at + 1), std::string::npos);
  bytes[at + 1] = '\0';  // 'h' becomes a wildcard: no longer the pure literal its head says
  auto back = DeserializeDb(bytes);
  ASSERT_TRUE(back.ok()) << back.status().message();
  const CompiledDb& r = **back;
  size_t inert = 0;
  for (size_t i = 0; i < r.bodies.size(); ++i) {
    if (r.names[r.bodies.head(i).name] == "Body.Literal.UNOFFICIAL" ||
        r.names[r.bodies.head(i).name] == "Body.Literal") {
      EXPECT_EQ(r.bodies.Get(i), nullptr);
      ++inert;
    } else {
      EXPECT_NE(r.bodies.Get(i), nullptr) << r.names[r.bodies.head(i).name];
    }
  }
  EXPECT_EQ(inert, 1u);
  Exercise(r);
  auto again = SerializeDb(r);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kCorruption);
}

TEST(Cache, HugeCountsAreRejectedWithoutAllocating) {
  // A count field claiming 2^60 entries must fail the size check, not be
  // handed to vector::resize.
  auto db = Compile(sig::SignatureSet{}, Strategy::kAnchor);
  ASSERT_TRUE(db.ok());
  std::string bytes = MustSerialize(**db);
  // 2^60 * 48 and 2^62 * 4 wrap around to 0 in 64 bits.
  for (uint64_t huge : {uint64_t{1} << 60, uint64_t{1} << 62, ~uint64_t{0}}) {
    for (size_t at = 0; at + 8 <= bytes.size(); ++at) {
      std::string b = bytes;
      b.replace(at, 8, reinterpret_cast<const char*>(&huge), 8);
      auto r = DeserializeDb(b);
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
      }
    }
  }
}

// The stat memo returns the content key unchanged, is only written for files
// that have settled, and a changed file gets a new key.
TEST(CacheKey, StatMemoGivesTheContentKey) {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("vigil-key-" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "memo");
  std::string db = (dir / "a.hdb").string();
  std::ofstream(db) << kHashes;
  auto count_memos = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir / "memo")) n += e.path().extension() == ".stat";
    return n;
  };
  auto plain = CacheKey({db});
  ASSERT_TRUE(plain.ok()) << plain.status().message();
  // Just written: hashed, but not remembered.
  auto fresh = CacheKey({db}, (dir / "memo").string());
  ASSERT_TRUE(fresh.ok());
  EXPECT_EQ(*fresh, *plain);
  EXPECT_EQ(count_memos(), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(3100));
  auto settled = CacheKey({db}, (dir / "memo").string());
  ASSERT_TRUE(settled.ok());
  EXPECT_EQ(*settled, *plain);
  EXPECT_EQ(count_memos(), 1);
  auto memo = CacheKey({db}, (dir / "memo").string());
  ASSERT_TRUE(memo.ok());
  EXPECT_EQ(*memo, *plain);
  // Same size, new content: the stat changes (change time), so does the key.
  std::string changed = kHashes;
  changed[0] = changed[0] == '4' ? '5' : '4';
  std::ofstream(db, std::ios::trunc) << changed;
  auto after = CacheKey({db}, (dir / "memo").string());
  ASSERT_TRUE(after.ok());
  EXPECT_NE(*after, *plain);
  auto rehashed = CacheKey({db});
  ASSERT_TRUE(rehashed.ok());
  EXPECT_EQ(*after, *rehashed);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace vigil::compile
