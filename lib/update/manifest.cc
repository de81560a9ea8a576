#include "update/manifest.h"

#include <vector>

namespace vigil::update {
namespace {

constexpr size_t kMaxManifest = 1 << 20;
constexpr size_t kMaxEntries = 10000;

std::vector<std::string_view> Fields(std::string_view line) {
  std::vector<std::string_view> f;
  while (!line.empty()) {
    size_t sp = line.find(' ');
    f.push_back(line.substr(0, sp));
    if (sp == std::string_view::npos) break;
    line.remove_prefix(sp + 1);
    if (line.empty()) f.push_back("");  // trailing space: an empty field, rejected below
  }
  return f;
}

bool ParseVersionTriple(std::string_view v, uint64_t out[3]) {
  for (int i = 0; i < 3; ++i) {
    size_t dot = v.find('.');
    if ((i < 2) != (dot != std::string_view::npos)) return false;
    if (!ParseU64(v.substr(0, dot), &out[i])) return false;
    if (i < 2) v.remove_prefix(dot + 1);
  }
  return true;
}

bool ParseArtifact(const std::vector<std::string_view>& f, size_t at, Artifact* a) {
  // <name> <size> <sha256 hex> <raw size>
  if (f.size() != at + 4) return false;
  a->name = std::string(f[at]);
  return ValidName(a->name) && ParseU64(f[at + 1], &a->size) && ParseHexHash(f[at + 2], &a->sha256) &&
         ParseU64(f[at + 3], &a->raw_size);
}

std::string FormatArtifact(const Artifact& a) {
  return a.name + " " + std::to_string(a.size) + " " + Hex(a.sha256) + " " + std::to_string(a.raw_size);
}

}  // namespace

bool ValidName(std::string_view name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool CompareVersions(std::string_view a, std::string_view b, int* cmp) {
  uint64_t x[3], y[3];
  if (!ParseVersionTriple(a, x) || !ParseVersionTriple(b, y)) return false;
  *cmp = 0;
  for (int i = 0; i < 3 && *cmp == 0; ++i) *cmp = x[i] < y[i] ? -1 : x[i] > y[i] ? 1 : 0;
  return true;
}

std::string FormatManifest(const Manifest& m) {
  std::string s;
  s += "vigil-manifest " + std::to_string(kManifestFormat) + "\n";
  s += "channel " + m.channel + "\n";
  s += "version " + std::to_string(m.version) + "\n";
  s += "created " + FormatTime(m.created) + "\n";
  s += "expires " + FormatTime(m.expires) + "\n";
  s += "engine-min " + m.engine_min + "\n";
  s += "signatures " + std::to_string(m.signatures) + "\n";
  s += "bundle " + FormatArtifact(m.bundle) + "\n";
  for (const auto& d : m.deltas)
    s += "delta " + std::to_string(d.from_version) + " " + FormatArtifact(d.artifact) + "\n";
  for (const auto& f : m.files)
    s += "file " + f.name + " " + std::to_string(f.size) + " " + Hex(f.sha256) + " " +
         std::to_string(f.signatures) + "\n";
  return s;
}

Result<Manifest> ParseManifest(std::string_view text) {
  auto bad = [](const std::string& why) { return Status::Corruption("malformed manifest: " + why); };
  if (text.size() > kMaxManifest) return bad("too large");
  if (text.empty() || text.back() != '\n') return bad("must end with a newline");
  std::vector<std::string_view> lines;
  for (std::string_view t = text; !t.empty();) {
    size_t nl = t.find('\n');
    lines.push_back(t.substr(0, nl));
    t.remove_prefix(nl + 1);
  }
  if (lines.size() > kMaxEntries) return bad("too many lines");
  Manifest m;
  size_t i = 0;
  auto next = [&](std::string_view key) -> std::vector<std::string_view> {
    if (i >= lines.size()) return {};
    auto f = Fields(lines[i]);
    if (f.empty() || f[0] != key) return {};
    ++i;
    return f;
  };
  auto f = next("vigil-manifest");
  if (f.size() != 2) return bad("first line must be 'vigil-manifest 1'");
  if (f[1] != std::to_string(kManifestFormat)) return bad("unsupported format version " + std::string(f[1]));
  f = next("channel");
  if (f.size() != 2 || !ValidName(f[1])) return bad("channel");
  m.channel = std::string(f[1]);
  f = next("version");
  if (f.size() != 2 || !ParseU64(f[1], &m.version) || m.version == 0) return bad("version");
  f = next("created");
  if (f.size() != 2 || !ParseTime(f[1], &m.created)) return bad("created");
  f = next("expires");
  if (f.size() != 2 || !ParseTime(f[1], &m.expires) || m.expires < m.created) return bad("expires");
  f = next("engine-min");
  int cmp;
  if (f.size() != 2 || !CompareVersions(f[1], f[1], &cmp)) return bad("engine-min");
  m.engine_min = std::string(f[1]);
  f = next("signatures");
  if (f.size() != 2 || !ParseU64(f[1], &m.signatures)) return bad("signatures");
  f = next("bundle");
  if (f.empty() || !ParseArtifact(f, 1, &m.bundle)) return bad("bundle");
  while (!(f = next("delta")).empty()) {
    DeltaArtifact d;
    if (f.size() < 2 || !ParseU64(f[1], &d.from_version) || !ParseArtifact(f, 2, &d.artifact))
      return bad("delta");
    if (d.from_version >= m.version) return bad("delta from a version not below the release");
    if (!m.deltas.empty() && m.deltas.back().from_version >= d.from_version)
      return bad("deltas out of order");
    m.deltas.push_back(std::move(d));
  }
  while (!(f = next("file")).empty()) {
    ReleaseFile r;
    if (f.size() != 5 || !ValidName(f[1]) || !ParseU64(f[2], &r.size) || !ParseHexHash(f[3], &r.sha256) ||
        !ParseU64(f[4], &r.signatures))
      return bad("file");
    r.name = std::string(f[1]);
    if (!m.files.empty() && m.files.back().name >= r.name) return bad("files out of order");
    m.files.push_back(std::move(r));
  }
  if (i != lines.size()) return bad("unexpected line " + std::to_string(i + 1));
  // Canonical: exactly one byte sequence per manifest.
  if (FormatManifest(m) != text) return bad("not in canonical form");
  return m;
}

}  // namespace vigil::update
