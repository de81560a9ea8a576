// InstallShield setups, parsed by hand from observed files (clamav-testfiles'
// clam_IScab_ext.exe and clam_IScab_int.exe) and the layout that the open
// source unshield project documents for InstallShield cabinets.
//
// The setup program carries its files after its last PE section: entries of
// four NUL-terminated strings (file name, path, version, decimal size), each
// followed by that many bytes of the file as it is. Each is a member.
//
// Among them may be an InstallShield cabinet set: a header file "NAMEn.hdr"
// and data volumes "NAMEn.cab", "NAMEm.cab"..., each starting with a 20-byte
// common header ("ISc(", u32 version, u32 volume info, u32 offset and u32
// size of the cabinet descriptor). All numbers are little-endian. In the
// header file, the descriptor gives at +0x0c the file table's offset
// (relative to the descriptor), at +0x28 the number of files and at +0x2c
// the offset of the file descriptors inside the file table. A file
// descriptor (versions 6 and later: 0x57 bytes) holds u16 flags (1 split
// across volumes, 2 obfuscated, 4 compressed, 8 invalid), u64 expanded and
// compressed sizes, u64 offset of the data in its volume, the MD5, 16 bytes,
// u32 name offset (in the file table), u16 directory, 12 bytes, u32 links
// previous and next, u8 link flags and u16 volume number. Compressed data is
// a run of chunks: u16 length, then a raw deflate stream of that length.
// Each file of the cabinet is a member, named after the header file.
//
// Setups that wrap an MSI package (clamav-testfiles' clam_ISmsi_ext.exe and
// clam_ISmsi_int.exe; the layout as the open source ISx extractor describes
// it, checked on those files) carry, somewhere in the first bytes after the
// last section, a 46-byte header "InstallShield\0", u16 file count, u32
// type, 26 bytes; then per file a 312-byte entry: the name (NUL-terminated
// in 260 bytes), u32 flags, u32, u32 stored size, 44 bytes; then the stored
// bytes. Flags 2 and 4 mean the bytes are obfuscated: each byte is rotated
// by four bits, xor'ed with a key byte and inverted, the key being the name
// xor'ed with 13 35 86 07 repeated, restarting every 1024 bytes. The result
// is usually a zlib stream (the setup's files, among them the .msi, an OLE2
// file that the OLE2 reader then opens).
#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <vector>

#include "unpack/inflate.h"
#include "unpack/unpack.h"

namespace vigil::unpack {
namespace {

uint64_t Le(std::string_view d, size_t off, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(d[off + static_cast<size_t>(i)]);
  return v;
}

bool Has(std::string_view d, size_t off, size_t n) { return off <= d.size() && d.size() - off >= n; }

// A NUL-terminated field at `*pos` of at most `max` bytes whose bytes all
// satisfy `ok`; advances past the NUL.
template <typename Pred>
bool Field(std::string_view d, size_t* pos, size_t max, Pred ok, std::string_view* out) {
  size_t i = *pos;
  while (i < d.size() && i - *pos <= max && d[i] != '\0') {
    if (!ok(static_cast<unsigned char>(d[i]))) return false;
    ++i;
  }
  if (i >= d.size() || d[i] != '\0' || i == *pos || i - *pos > max) return false;
  *out = d.substr(*pos, i - *pos);
  *pos = i + 1;
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "Disk1\data1.hdr" -> "disk1\data" (path and name up to the volume digits).
std::string VolumePrefix(std::string_view hdr_path) {
  std::string p = Lower(hdr_path.substr(0, hdr_path.size() - 4));
  while (!p.empty() && std::isdigit(static_cast<unsigned char>(p.back()))) p.pop_back();
  return p;
}

constexpr size_t kCommonHeader = 20;
constexpr size_t kDescriptorSize = 0x57;
constexpr uint16_t kFlagSplit = 1, kFlagObfuscated = 2, kFlagCompressed = 4, kFlagInvalid = 8;
// More files than this in one cabinet is not believed.
constexpr uint64_t kMaxCabFiles = 1u << 20;

// The files of the cabinet set whose header is `hdr`; `volumes` maps a
// lower-case path to each volume's bytes. False when the sink ended the scan.
bool ReadCabinet(std::string_view hdr_path, std::string_view hdr,
                 const std::map<std::string, std::string_view>& volumes, Context& ctx) {
  if (!Has(hdr, 0, kCommonHeader)) return true;
  const uint32_t version = static_cast<uint32_t>(Le(hdr, 4, 4));
  // Versions 5 and earlier lay descriptors out differently: not read yet.
  unsigned major = (version >> 24) == 1 ? (version >> 12) & 0xF : (version & 0xFFFF) / 100;
  if (major < 6) {
    ctx.sink.Warn("installshield: cabinet " + std::string(hdr_path) + " of version " + std::to_string(major) +
                  " is not read yet");
    return true;
  }
  const uint64_t desc = Le(hdr, 12, 4);
  if (!Has(hdr, desc, 0x30)) {
    ctx.sink.Warn("installshield: " + std::string(hdr_path) + ": descriptor outside the header");
    return true;
  }
  const uint64_t table = desc + Le(hdr, desc + 0x0C, 4);
  const uint64_t files = Le(hdr, desc + 0x28, 4);
  const uint64_t first = table + Le(hdr, desc + 0x2C, 4);
  if (files > kMaxCabFiles) {
    ctx.sink.Warn("installshield: " + std::string(hdr_path) + ": implausible file count");
    return true;
  }
  const std::string prefix = VolumePrefix(hdr_path);
  for (uint64_t i = 0; i < files && !ctx.Stopped(); ++i) {
    const uint64_t d = first + i * kDescriptorSize;
    if (!Has(hdr, d, kDescriptorSize)) {
      ctx.sink.Warn("installshield: " + std::string(hdr_path) + ": file table truncated");
      break;
    }
    const auto flags = static_cast<uint16_t>(Le(hdr, d, 2));
    const uint64_t expanded = Le(hdr, d + 2, 8), compressed = Le(hdr, d + 10, 8), offset = Le(hdr, d + 18, 8);
    const uint64_t name_off = table + Le(hdr, d + 0x3A, 4);
    const auto volume = static_cast<uint16_t>(Le(hdr, d + 0x55, 2));
    if (flags & kFlagInvalid) continue;
    std::string name = "file-" + std::to_string(i);
    if (Has(hdr, name_off, 1)) {
      std::string_view rest = hdr.substr(name_off, std::min<size_t>(260, hdr.size() - name_off));
      std::string_view n = rest.substr(0, rest.find('\0'));
      if (!n.empty()) name.assign(n);
    }
    name = std::string(hdr_path) + "/" + name;
    if (flags & (kFlagSplit | kFlagObfuscated)) {
      ctx.sink.Warn("installshield: " + name + " is split or obfuscated; not read yet");
      continue;
    }
    auto vol = volumes.find(prefix + std::to_string(volume) + ".cab");
    if (vol == volumes.end()) {
      ctx.sink.Warn("installshield: " + name + ": volume " + std::to_string(volume) + " not in the setup");
      continue;
    }
    std::string_view v = vol->second;
    if (!Has(v, offset, 0)) {
      ctx.sink.Warn("installshield: " + name + " lies outside its volume");
      continue;
    }
    std::string_view packed = v.substr(offset, std::min<uint64_t>(compressed, v.size() - offset));
    if (!ctx.Admit(expanded)) {
      if (ctx.budget.exhausted()) return true;
      continue;
    }
    if (!(flags & kFlagCompressed)) {
      if (!ctx.sink.Member(name, packed, MemberKind::kFile)) return false;
      continue;
    }
    MemberBuffer out(ctx.budget);
    LimitHit hit = LimitHit::kNone;
    bool over = false, damaged = packed.size() < compressed;
    size_t p = 0;
    while (p + 2 <= packed.size() && out.size() < expanded) {
      size_t len = static_cast<size_t>(Le(packed, p, 2));
      p += 2;
      if (len > packed.size() - p) {
        damaged = true;
        len = packed.size() - p;
      }
      InflateResult r = Inflate(packed.substr(p, len), /*deflate64=*/false, &out, &hit);
      p += len;
      if (r == InflateResult::kOverLimit) {
        over = true;
        break;
      }
      if (r != InflateResult::kDone) damaged = true;
    }
    if (over) {
      ctx.sink.LimitExceeded(hit);
      continue;
    }
    if (damaged) ctx.sink.Warn("installshield: " + name + " is truncated or corrupt; scanning what decoded");
    if (!ctx.sink.Member(name, out.view(), MemberKind::kFile)) return false;
  }
  return true;
}

constexpr std::string_view kMsiMagic{"InstallShield\0", 14};
constexpr size_t kMsiHeader = 46, kMsiEntry = 312, kMsiNameMax = 260;
constexpr uint32_t kMsiObfuscated = 2 | 4;
// How far into the overlay the header is looked for (after debug data).
constexpr size_t kMsiSearch = 64 * 1024;
constexpr uint64_t kMaxMsiFiles = 1u << 16;

// Undoes the obfuscation of an MSI wrapper's file in place.
void Deobfuscate(std::string_view name, std::string* bytes) {
  static constexpr uint8_t kXor[4] = {0x13, 0x35, 0x86, 0x07};
  std::string key(name);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<char>(static_cast<uint8_t>(key[i]) ^ kXor[i % 4]);
  for (size_t i = 0; i < bytes->size(); ++i) {
    const auto b = static_cast<uint8_t>((*bytes)[i]);
    const auto rotated = static_cast<uint8_t>(b << 4 | b >> 4);
    const auto k = static_cast<uint8_t>(key[(i % 1024) % key.size()]);
    (*bytes)[i] = static_cast<char>(static_cast<uint8_t>(~(k ^ rotated)));
  }
}

bool IsZlibHeader(std::string_view d) {
  if (d.size() < 2) return false;
  const auto cmf = static_cast<uint8_t>(d[0]), flg = static_cast<uint8_t>(d[1]);
  return (cmf & 0x0F) == 8 && (cmf >> 4) <= 7 && !(flg & 0x20) && (cmf * 256 + flg) % 31 == 0;
}

// The files of an MSI-wrapping setup whose header starts at `pos`. False
// when the sink ended the scan.
bool ReadMsiWrapper(std::string_view data, size_t pos, Context& ctx) {
  const uint64_t count = Le(data, pos + 14, 2);
  if (count > kMaxMsiFiles) return true;
  size_t p = pos + kMsiHeader;
  for (uint64_t i = 0; i < count && !ctx.Stopped(); ++i) {
    if (!Has(data, p, kMsiEntry)) {
      ctx.sink.Warn("installshield: MSI wrapper truncated after " + std::to_string(i) + " of " +
                    std::to_string(count) + " files");
      return true;
    }
    std::string_view name = data.substr(p, kMsiNameMax);
    name = name.substr(0, name.find('\0'));
    const auto flags = static_cast<uint32_t>(Le(data, p + kMsiNameMax, 4));
    uint64_t size = Le(data, p + kMsiNameMax + 8, 4);
    p += kMsiEntry;
    std::string member = name.empty() ? "file-" + std::to_string(i) : std::string(name);
    if (size > data.size() - p) {
      ctx.sink.Warn("installshield: " + member + " runs past the end; scanning what is there");
      size = data.size() - p;
    }
    std::string_view stored = data.substr(p, static_cast<size_t>(size));
    p += static_cast<size_t>(size);
    if (!ctx.Admit(size)) {
      if (ctx.budget.exhausted()) return true;
      continue;
    }
    if (!(flags & kMsiObfuscated) || name.empty()) {
      if (!ctx.sink.Member(member, stored, MemberKind::kFile)) return false;
      continue;
    }
    std::string plain(stored);
    Deobfuscate(name, &plain);
    if (!IsZlibHeader(plain)) {
      if (!ctx.sink.Member(member, plain, MemberKind::kFile)) return false;
      continue;
    }
    MemberBuffer out(ctx.budget);
    LimitHit hit = LimitHit::kNone;
    InflateResult r = Inflate(std::string_view(plain).substr(2), /*deflate64=*/false, &out, &hit);
    if (r == InflateResult::kOverLimit) {
      ctx.sink.LimitExceeded(hit);
      continue;
    }
    if (r != InflateResult::kDone) ctx.sink.Warn("installshield: " + member + " is truncated or corrupt; scanning what decoded");
    if (!ctx.sink.Member(member, out.view(), MemberKind::kFile)) return false;
  }
  return true;
}

}  // namespace

Status ReadInstallShieldOverlay(std::string_view data, Context& ctx, bool* stop) {
  *stop = false;
  size_t pos = PeOverlayStart(data);
  if (pos == 0 || pos >= data.size()) return Status::Ok();
  // An MSI wrapper: its header a little way into the overlay.
  {
    std::string_view head = data.substr(pos, std::min(kMsiSearch + kMsiMagic.size(), data.size() - pos));
    size_t at = head.find(kMsiMagic);
    if (at != std::string_view::npos && Has(data, pos + at, kMsiHeader)) {
      if (!ReadMsiWrapper(data, pos + at, ctx)) *stop = true;
      return Status::Ok();
    }
    if (head.find(std::string_view("ISSetupStream\0", 14)) != std::string_view::npos) {
      ctx.sink.Warn("installshield: ISSetupStream setups (InstallShield 12 and later) are not read yet");
      return Status::Ok();
    }
  }
  auto printable = [](unsigned char c) { return c >= 0x20 && c != 0x7F; };
  auto version = [](unsigned char c) { return (c >= '0' && c <= '9') || c == '.'; };
  auto digit = [](unsigned char c) { return c >= '0' && c <= '9'; };
  std::vector<std::pair<std::string_view, std::string_view>> entries;  // path, bytes
  while (pos < data.size() && !ctx.Stopped()) {
    std::string_view name, path, ver, size_text;
    size_t p = pos;
    if (!Field(data, &p, 260, printable, &name) || !Field(data, &p, 520, printable, &path) ||
        !Field(data, &p, 32, version, &ver) || !Field(data, &p, 12, digit, &size_text)) {
      if (!entries.empty())
        ctx.sink.Warn("installshield: unreadable entry after " + std::to_string(entries.size()) + " files");
      break;
    }
    uint64_t size = std::stoull(std::string(size_text));
    if (size > data.size() - p) {
      ctx.sink.Warn("installshield: " + std::string(path) + " runs past the end; scanning what is there");
      size = data.size() - p;
    }
    std::string_view bytes = data.substr(p, static_cast<size_t>(size));
    entries.emplace_back(path, bytes);
    pos = p + static_cast<size_t>(size);
    if (!ctx.Admit(size)) {
      if (ctx.budget.exhausted()) return Status::Ok();
      continue;
    }
    if (!ctx.sink.Member(path, bytes, MemberKind::kFile)) {
      *stop = true;
      return Status::Ok();
    }
  }
  // Cabinet sets: their files, from the header and the volumes.
  std::map<std::string, std::string_view> volumes;
  for (const auto& [path, bytes] : entries)
    if (bytes.substr(0, 4) == "ISc(") volumes[Lower(path)] = bytes;
  for (const auto& [path, bytes] : entries) {
    if (ctx.Stopped()) break;
    if (bytes.substr(0, 4) != "ISc(" || path.size() < 5 || Lower(path.substr(path.size() - 4)) != ".hdr") continue;
    if (!ReadCabinet(path, bytes, volumes, ctx)) {
      *stop = true;
      break;
    }
  }
  return Status::Ok();
}

}  // namespace vigil::unpack
