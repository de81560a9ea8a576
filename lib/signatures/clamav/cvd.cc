#include "signatures/clamav/cvd.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>

#include <memory>

#include "signatures/clamav/lines.h"

namespace vigil::sig {
namespace {

constexpr size_t kHeaderSize = 512;

std::string Md5Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

// libarchive may fail without setting a message: never build a string from NULL.
std::string ArchiveError(archive* a) {
  const char* m = archive_error_string(a);
  return m ? m : "unreadable archive";
}

}  // namespace

Result<CvdHeader> ParseCvdHeader(std::string_view data) {
  if (data.size() < kHeaderSize) return Status::Corruption("file shorter than the 512-byte CVD header");
  std::string_view h = data.substr(0, kHeaderSize);
  if (!h.starts_with("ClamAV-VDB:")) return Status::Corruption("missing 'ClamAV-VDB:' header magic");
  while (!h.empty() && (h.back() == ' ' || h.back() == '\0' || h.back() == '\n')) h.remove_suffix(1);
  auto f = internal::Split(h, ':');
  if (f.size() < 9) return Status::Corruption("CVD header has " + std::to_string(f.size()) + " fields, expected 9");
  CvdHeader out;
  out.build_time = std::string(f[1]);
  if (!internal::ParseNumber(f[2], &out.version)) return Status::Corruption("bad CVD version '" + std::string(f[2]) + "'");
  if (!internal::ParseNumber(f[3], &out.signatures)) return Status::Corruption("bad CVD signature count '" + std::string(f[3]) + "'");
  if (!internal::ParseNumber(f[4], &out.flevel)) return Status::Corruption("bad CVD functionality level '" + std::string(f[4]) + "'");
  out.md5 = std::string(f[5]);
  out.dsig = std::string(f[6]);
  out.builder = std::string(f[7]);
  internal::ParseNumber(f[8], &out.build_stime);  // optional in old headers
  if (out.md5.size() != 32) return Status::Corruption("bad CVD MD5 field");
  return out;
}

Status ReadCvd(std::string_view data, const std::string& display_name, bool check_md5,
               const std::function<Status(std::string_view, std::string_view)>& member) {
  auto header = ParseCvdHeader(data);
  if (!header.ok()) return Status::Corruption(display_name + ": " + header.status().message());
  std::string_view payload = data.substr(kHeaderSize);
  if (check_md5) {
    std::string md5 = Md5Hex(payload);
    std::string want = header->md5;
    for (char& c : want) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (md5 != want)
      return Status::Corruption(display_name + ": MD5 of contents " + md5 + " does not match header " + want);
  }

  std::unique_ptr<archive, decltype(&archive_read_free)> a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_tar(a.get());
  if (archive_read_open_memory(a.get(), payload.data(), payload.size()) != ARCHIVE_OK)
    return Status::Corruption(display_name + ": " + ArchiveError(a.get()));
  archive_entry* e = nullptr;
  std::string buf;
  while (true) {
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN)
      return Status::Corruption(display_name + ": " + ArchiveError(a.get()));
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    const char* path = archive_entry_pathname(e);
    std::string name = path ? path : "";
    la_int64_t size = archive_entry_size(e);
    if (size < 0 || size > (int64_t{1} << 31)) return Status::Corruption(display_name + ": bad member size");
    // Read what is really there rather than trusting the header's size:
    // memory then follows the data, not a number an attacker wrote.
    buf.clear();
    char chunk[1 << 16];
    while (true) {
      la_ssize_t got = archive_read_data(a.get(), chunk, sizeof chunk);
      if (got < 0) return Status::Corruption(display_name + ": " + name + ": " + ArchiveError(a.get()));
      if (got == 0) break;
      buf.append(chunk, static_cast<size_t>(got));
      if (buf.size() > static_cast<size_t>(size)) break;
    }
    if (buf.size() != static_cast<size_t>(size))
      return Status::Corruption(display_name + ": truncated member " + name);
    VIGIL_RETURN_IF_ERROR(member(name, buf));
  }
  return Status::Ok();
}

}  // namespace vigil::sig
