#include "fleet/geo.h"

#include <GeoIP.h>
#include <arpa/inet.h>

#include <cctype>
#include <cstring>

namespace vigil::fleet {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsCountryCode(const char* c) {
  if (!c || std::strlen(c) != 2) return false;
  for (int i = 0; i < 2; ++i)
    if (!((c[i] >= 'A' && c[i] <= 'Z') || (c[i] >= '0' && c[i] <= '9'))) return false;
  return true;
}

Result<GeoIP*> OpenOne(const std::string& path, unsigned char edition) {
  // GEOIP_SILENCE: the library would otherwise print to stderr on a missing file.
  GeoIP* gi = GeoIP_open(path.c_str(), GEOIP_MEMORY_CACHE | GEOIP_SILENCE);
  if (!gi) return Status::NotFound("cannot open GeoIP database " + path);
  if (GeoIP_database_edition(gi) != edition) {
    GeoIP_delete(gi);
    return Status::Corruption(path + " is not a GeoIP country database");
  }
  return gi;
}

}  // namespace

std::optional<IpAddress> ParseIp(std::string_view s) {
  // inet_pton needs a NUL-terminated string; longer text cannot be an address.
  if (s.empty() || s.size() > INET6_ADDRSTRLEN || s.find('\0') != std::string_view::npos) return std::nullopt;
  char buf[INET6_ADDRSTRLEN + 1];
  std::memcpy(buf, s.data(), s.size());
  buf[s.size()] = '\0';
  IpAddress a;
  if (inet_pton(AF_INET, buf, a.bytes.data()) == 1) return a;
  if (inet_pton(AF_INET6, buf, a.bytes.data()) != 1) return std::nullopt;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(a.bytes.data(), kMapped, 12) == 0) {
    std::memmove(a.bytes.data(), a.bytes.data() + 12, 4);
    std::memset(a.bytes.data() + 4, 0, 12);
    return a;
  }
  a.v6 = true;
  return a;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  if (!inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), buf, sizeof buf)) return "";
  return buf;
}

Result<std::unique_ptr<GeoDb>> GeoDb::Open(const std::string& dir) {
  auto v4 = OpenOne(dir + "/GeoIP.dat", GEOIP_COUNTRY_EDITION);
  if (!v4.ok()) return v4.status();
  auto v6 = OpenOne(dir + "/GeoIPv6.dat", GEOIP_COUNTRY_EDITION_V6);
  if (!v6.ok()) {
    GeoIP_delete(*v4);
    return v6.status();
  }
  return std::unique_ptr<GeoDb>(new GeoDb(*v4, *v6));
}

GeoDb::~GeoDb() {
  GeoIP_delete(v4_);
  GeoIP_delete(v6_);
}

std::string GeoDb::Country(std::string_view ip) const {
  auto a = ParseIp(ip);
  if (!a) return "";
  // The _gl variants keep the per-lookup state in `gl` instead of the shared
  // GeoIP struct, which is what makes concurrent lookups safe.
  GeoIPLookup gl{};
  const char* code;
  if (a->v6) {
    geoipv6_t n;
    std::memcpy(&n, a->bytes.data(), 16);
    code = GeoIP_country_code_by_ipnum_v6_gl(v6_, n, &gl);
  } else {
    unsigned long n = (unsigned long)a->bytes[0] << 24 | (unsigned long)a->bytes[1] << 16 |
                      (unsigned long)a->bytes[2] << 8 | a->bytes[3];
    code = GeoIP_country_code_by_ipnum_gl(v4_, n, &gl);
  }
  return IsCountryCode(code) ? std::string(code) : std::string();
}

Result<ClientAddress> ClientAddress::Make(const std::vector<std::string>& trusted_cidrs, std::string header) {
  if (header.empty()) return Status::InvalidArgument("empty client address header name");
  for (char c : header)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'))
      return Status::InvalidArgument("bad header name '" + header + "'");
  ClientAddress ca;
  ca.header_ = std::move(header);
  for (const std::string& text : trusted_cidrs) {
    std::string_view s = Trim(text);
    std::string_view addr = s;
    int bits = -1;
    if (auto slash = s.find('/'); slash != std::string_view::npos) {
      addr = s.substr(0, slash);
      std::string_view len = s.substr(slash + 1);
      if (len.empty() || len.size() > 3) return Status::InvalidArgument("bad CIDR '" + text + "'");
      bits = 0;
      for (char c : len) {
        if (c < '0' || c > '9') return Status::InvalidArgument("bad CIDR '" + text + "'");
        bits = bits * 10 + (c - '0');
      }
    }
    auto a = ParseIp(addr);
    if (!a) return Status::InvalidArgument("bad CIDR '" + text + "'");
    // "::ffff:10.0.0.0/104" is parsed as IPv4, so its prefix loses the 96 mapped bits.
    bool mapped_v4 = !a->v6 && addr.find(':') != std::string_view::npos;
    int max = a->v6 ? 128 : 32;
    if (bits < 0) bits = max;
    if (mapped_v4) {
      if (bits < 96) return Status::InvalidArgument("bad CIDR '" + text + "': prefix too short");
      bits -= 96;
    }
    if (bits > max) return Status::InvalidArgument("bad CIDR '" + text + "': prefix too long");
    ca.trusted_.push_back({*a, bits});
  }
  return ca;
}

bool ClientAddress::Trusted(const IpAddress& a) const {
  for (const Cidr& c : trusted_) {
    if (c.net.v6 != a.v6) continue;
    int full = c.bits / 8, rest = c.bits % 8;
    if (std::memcmp(c.net.bytes.data(), a.bytes.data(), full) != 0) continue;
    if (rest) {
      uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
      if ((c.net.bytes[full] & mask) != (a.bytes[full] & mask)) continue;
    }
    return true;
  }
  return false;
}

Result<std::string> ClientAddress::Resolve(std::string_view peer,
                                           const std::optional<std::string>& header_value) const {
  auto p = ParseIp(Trim(peer));
  if (!p) return Status::InvalidArgument("bad peer address '" + std::string(peer) + "'");
  if (!Trusted(*p)) {
    // Only a trusted proxy may say who the client is; anyone else sending
    // the header is trying to choose its own country.
    if (header_value) return Status::InvalidArgument(header_ + " from untrusted peer " + p->ToString());
    return p->ToString();
  }
  // A request through the proxy always carries the header; one without it
  // comes from the proxy's host itself (a health check, a local tool).
  if (!header_value) return p->ToString();
  std::vector<IpAddress> chain;
  std::string_view rest = *header_value;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view item = Trim(rest.substr(0, comma));
    if (item.size() >= 2 && item.front() == '[' && item.back() == ']') {
      item = item.substr(1, item.size() - 2);
      if (item.find(':') == std::string_view::npos) item = {};  // "[1.2.3.4]" is not a thing
    }
    auto a = ParseIp(item);
    if (!a) return Status::InvalidArgument("malformed " + header_ + " element '" + std::string(item) + "'");
    chain.push_back(*a);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  for (size_t i = chain.size(); i-- > 0;)
    if (!Trusted(chain[i])) return chain[i].ToString();
  return chain.front().ToString();
}

}  // namespace vigil::fleet
