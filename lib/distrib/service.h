// Jurisdiction-aware distribution: the policy side of `vigil-server serve`.
//
// DistribService sits in front of the update repository's endpoints (as the
// HttpService gate) and adds the vendor's own endpoints:
//
//   POST /v1/activate   {"license_key","customer","country"}: a purchase and
//                       activation of a new license. Policy actions "sell"
//                       and "activate", then denied-party screening of the
//                       customer; 200 with the license record, 409 when the
//                       key is already activated, 451 when a rule or a
//                       denied-party list forbids it.
//   POST /v1/checkin    an endpoint's protection state (lib/update/checkin.h);
//                       always accepted from a known license, so the vendor
//                       sees how stale cut-off endpoints get.
//   repository GETs     channel and release manifests: action "update";
//                       bundles and deltas: action "download". The
//                       transparency log (checkpoints, entries, proofs) stays
//                       readable by everyone: auditing it must never depend
//                       on where one stands.
//
// A request's jurisdiction is every country known for it: the registered
// country of its license (request header "Vigil-License" or the activation
// body) and the country of its client address (GeoIP; behind a trusted proxy,
// from the configured forwarded-for header only). The policy evaluates them
// all and the strictest rule wins; the decision records both.
//
// Every decision, allow or deny, is appended to the audit log (request id,
// inputs, rule, outcome) before the answer is sent. Activation decisions are
// durable (fdatasync) before the answer; update/download decisions are
// written to the log (write(2)) before the answer and synced within 10 ms
// (fleet::kSyncInterval: the fdatasync starts within 10 ms of the write and
// takes what the disk takes): a power loss can lose at most that last interval
// of update-check records, never a purchase decision; a process crash loses
// none. A refusal is HTTP 451
// (RFC 7725) with a JSON body: rule, action, jurisdiction, effective,
// message, reference.
//
// Reload() (SIGHUP) re-reads the policy and the denied-party lists; requests
// keep being served with the old ones until the new ones are fully loaded,
// and a file that fails to load leaves the old ones in force.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "fleet/audit.h"
#include "fleet/geo.h"
#include "fleet/store.h"
#include "policy/policy.h"
#include "policy/screening.h"
#include "update/server.h"
#include "vigil/status.h"

namespace vigil::distrib {

struct DistribConfig {
  std::string policy_path;                      // empty: no policy (everything allowed, still audited)
  std::vector<std::string> denied_party_files;  // US CSL or OpenSanctions simple CSV
  double screening_threshold = 0.92;            // Jaro-Winkler score that counts as a match
  std::string store_url;                        // SQLite path or postgresql:// URL
  std::string audit_path;                       // empty: no audit log (allowed only without a policy)
  std::string geoip_dir = "/usr/share/GeoIP";
  std::vector<std::string> trusted_proxies;     // CIDRs
  std::string forwarded_header = "X-Forwarded-For";
  std::optional<int64_t> fixed_now;             // --now: the server's clock for tests
  size_t max_body = 64 * 1024;                  // bigger JSON bodies are refused (413)
};

class DistribService {
 public:
  static Result<std::unique_ptr<DistribService>> Open(const DistribConfig& config);
  ~DistribService();

  // Adds /v1/activate and /v1/checkin and installs the policy gate.
  void Register(update::HttpService& http);

  // Re-reads the policy and the denied-party lists. On error the old ones
  // stay in force and the error is returned.
  Status Reload();

  std::string Describe() const;  // one line: policy, rules, lists, store, audit

 private:
  struct Rules;  // one loaded policy + screener, swapped whole on reload
  struct Request;
  explicit DistribService(DistribConfig config);

  std::shared_ptr<const Rules> CurrentRules() const;
  int64_t Now() const;
  // To the audit log, when there is one; kWritten only for update/download checks.
  Status Record(fleet::AuditRecord r, fleet::Durability d = fleet::Durability::kSynced);
  std::string NewRequestId();
  Result<Request> Identify(const update::HttpRequest& r);
  std::optional<update::HttpResponse> Gate(const update::HttpRequest& r, update::Endpoint e);
  update::HttpResponse Activate(const update::HttpRequest& r);
  update::HttpResponse Checkin(const update::HttpRequest& r);
  // The license's registered country, from a small cache in front of the store.
  Result<std::optional<std::string>> LicenseCountry(const std::string& key);

  DistribConfig config_;
  mutable std::mutex rules_mu_;
  std::shared_ptr<const Rules> rules_;  // guarded by rules_mu_
  std::unique_ptr<fleet::GeoDb> geo_;
  std::optional<fleet::ClientAddress> client_address_;
  std::unique_ptr<fleet::Store> store_;
  std::unique_ptr<fleet::AuditLog> audit_;
  std::string id_prefix_;
  std::atomic<uint64_t> next_id_{1};
  std::mutex license_mu_;
  std::unordered_map<std::string, std::string> license_country_;  // guarded by license_mu_
};

// Validation of request fields, shared with the tests.
bool ValidLicenseKey(std::string_view key);   // 8-64 of [A-Za-z0-9-]
bool ValidEndpointId(std::string_view id);    // 1-128 of [A-Za-z0-9._:-]

}  // namespace vigil::distrib
