// Where clients are: the country of an IP address (legacy GeoIP country
// databases) and which address a request really comes from when the server
// sits behind reverse proxies.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

typedef struct GeoIPTag GeoIP;

namespace vigil::fleet {

// Country of an IP address from the legacy GeoIP country databases (IPv4 and IPv6).
class GeoDb {
 public:
  // dir holds GeoIP.dat and GeoIPv6.dat (default /usr/share/GeoIP). Memory-cached; lookups thread-safe.
  static Result<std::unique_ptr<GeoDb>> Open(const std::string& dir = "/usr/share/GeoIP");
  ~GeoDb();
  GeoDb(const GeoDb&) = delete;
  GeoDb& operator=(const GeoDb&) = delete;

  // ISO alpha-2 upper case, "" when unknown/private/invalid. IPv4-mapped
  // IPv6 addresses (::ffff:a.b.c.d) are looked up in the IPv4 database.
  std::string Country(std::string_view ip) const;

 private:
  GeoDb(GeoIP* v4, GeoIP* v6) : v4_(v4), v6_(v6) {}
  GeoIP* v4_;
  GeoIP* v6_;
};

// A parsed IP address; IPv4 is kept as IPv4 (never as ::ffff:a.b.c.d).
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};  // IPv4 uses the first 4
  std::string ToString() const;     // canonical text (inet_ntop)
};
// Strict: a plain IPv4 dotted quad or IPv6 text (no port, zone or brackets).
// IPv4-mapped IPv6 becomes IPv4.
std::optional<IpAddress> ParseIp(std::string_view s);

// Which address a request comes from. With no trusted proxies, the peer's address, and a request
// carrying the forwarded-for header is refused (a spoofing attempt: the caller answers 400).
// Behind a trusted proxy (peer address inside one of the CIDRs), the client is the right-most
// address of the configured header (default "X-Forwarded-For", comma-separated list) that is not
// itself a trusted proxy; a malformed header value is an error.
//
// Details: a peer outside the trusted CIDRs that sends the header is refused
// too; a request from a trusted proxy without the header comes from the
// proxy's own host (its address is the client); when every listed address is a trusted proxy the
// left-most one is the client. Elements may be bracketed IPv6 ("[2001:db8::1]").
// The result is the canonical text of the address (IPv4-mapped IPv6 as IPv4).
class ClientAddress {
 public:
  // CIDRs "10.0.0.0/8", "2001:db8::/32"; a bare address means a single host.
  static Result<ClientAddress> Make(const std::vector<std::string>& trusted_cidrs,
                                    std::string header = "X-Forwarded-For");
  const std::string& header() const { return header_; }
  Result<std::string> Resolve(std::string_view peer, const std::optional<std::string>& header_value) const;
  bool Trusted(const IpAddress& a) const;

 private:
  struct Cidr {
    IpAddress net;
    int bits = 0;
  };
  std::vector<Cidr> trusted_;
  std::string header_;
};

}  // namespace vigil::fleet
