#include "distrib/service.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <random>
#include <set>

#include <nlohmann/json.hpp>

#include "policy/countries.h"
#include "policy/instant.h"

namespace vigil::distrib {

using update::Endpoint;
using update::HttpRequest;
using update::HttpResponse;
using Json = nlohmann::json;

struct DistribService::Rules {
  std::optional<policy::Policy> policy;
  policy::Screener screener;
  size_t parties = 0;
};

struct DistribService::Request {
  std::string id, ip, ip_country, license_key, license_country;
};

namespace {

HttpResponse JsonError(int status, const std::string& error, const std::string& request_id) {
  Json j;
  j["error"] = error;
  if (!request_id.empty()) j["request_id"] = request_id;
  HttpResponse r = HttpResponse::Json(status, j.dump() + "\n");
  if (!request_id.empty()) r.headers.emplace_back("X-Request-Id", request_id);
  return r;
}

// The RFC 7725 answer: which rule, for what, where, since when, and why.
HttpResponse Refusal(const policy::Decision& d, const std::string& request_id) {
  const policy::Rule& rule = *d.rule;
  Json j;
  j["rule"] = rule.id;
  j["action"] = policy::ActionName(d.action);
  j["jurisdiction"] = d.country;
  j["effective"] = rule.effective_text;
  j["message"] = rule.message;
  j["reference"] = rule.reference;
  j["request_id"] = request_id;
  HttpResponse r = HttpResponse::Json(451, j.dump() + "\n");
  r.headers.emplace_back("X-Request-Id", request_id);
  // RFC 7725 section 4: a Link to the authority, where there is one.
  if (rule.reference.rfind("https://", 0) == 0 || rule.reference.rfind("http://", 0) == 0)
    r.headers.emplace_back("Link", "<" + rule.reference + ">; rel=\"blocked-by\"");
  return r;
}

// Of two decisions on one request, the one that denies; of two denials, the
// one effective earlier (as Policy::Decide orders them).
const policy::Decision& Stricter(const policy::Decision& a, const policy::Decision& b) {
  if (a.allowed != b.allowed) return a.allowed ? b : a;
  if (!a.allowed && b.rule->effective < a.rule->effective) return b;
  return a;
}

bool Printable(std::string_view s, size_t max) {
  if (s.size() > max) return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7f) return false;
  return true;
}

// A JSON object with only `allowed` keys; *error says what is wrong.
bool ParseObject(const std::string& body, const std::set<std::string>& allowed, Json* out, std::string* error) {
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    *error = "the body is not valid JSON";
    return false;
  }
  if (!j.is_object()) {
    *error = "the body must be a JSON object";
    return false;
  }
  for (const auto& item : j.items()) {
    if (!allowed.count(item.key())) {
      *error = "unknown field '" + item.key() + "'";
      return false;
    }
  }
  *out = std::move(j);
  return true;
}

bool GetString(const Json& j, const char* key, bool required, std::string* out, std::string* error) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) *error = std::string("missing field '") + key + "'";
    return !required;
  }
  if (!it->is_string()) {
    *error = std::string("field '") + key + "' must be a string";
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

bool GetCount(const Json& j, const char* key, int64_t* out, std::string* error) {
  auto it = j.find(key);
  if (it == j.end()) return true;
  if (!it->is_number_integer() || it->get<int64_t>() < 0) {
    *error = std::string("field '") + key + "' must be a non-negative integer";
    return false;
  }
  *out = it->get<int64_t>();
  return true;
}

}  // namespace

bool ValidLicenseKey(std::string_view key) {
  if (key.size() < 8 || key.size() > 64) return false;
  return std::all_of(key.begin(), key.end(), [](unsigned char c) { return std::isalnum(c) || c == '-'; });
}

bool ValidEndpointId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-';
  });
}

DistribService::DistribService(DistribConfig config) : config_(std::move(config)) {
  std::random_device rd;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", rd());
  id_prefix_ = buf;
}

DistribService::~DistribService() = default;

Result<std::unique_ptr<DistribService>> DistribService::Open(const DistribConfig& config) {
  std::unique_ptr<DistribService> s(new DistribService(config));
  VIGIL_RETURN_IF_ERROR(s->Reload());
  // Without a policy, locating clients only feeds the audit log: a missing
  // GeoIP database is then no reason not to serve.
  auto geo = fleet::GeoDb::Open(config.geoip_dir);
  if (geo.ok()) s->geo_ = std::move(geo).value();
  else if (!config.policy_path.empty()) return geo.status();
  auto ca = fleet::ClientAddress::Make(config.trusted_proxies, config.forwarded_header);
  if (!ca.ok()) return ca.status();
  s->client_address_ = std::move(ca).value();
  if (!config.store_url.empty()) {
    auto store = fleet::Store::Open(config.store_url);
    if (!store.ok()) return store.status();
    s->store_ = std::move(store).value();
  }
  if (config.audit_path.empty()) {
    if (!config.policy_path.empty()) return Status::InvalidArgument("a policy needs an audit log path");
  } else {
    std::string warning;
    auto audit = fleet::AuditLog::Open(config.audit_path, &warning);
    if (!audit.ok()) return audit.status();
    if (!warning.empty()) std::fprintf(stderr, "vigil-server: %s\n", warning.c_str());
    s->audit_ = std::move(audit).value();
  }
  return s;
}

Status DistribService::Reload() {
  auto rules = std::make_shared<Rules>();
  if (!config_.policy_path.empty()) {
    auto p = policy::Policy::Load(config_.policy_path);
    if (!p.ok()) return p.status();
    rules->policy = std::move(p).value();
  }
  for (const std::string& f : config_.denied_party_files) {
    auto parties = policy::LoadDeniedParties(f);
    if (!parties.ok()) return parties.status();
    rules->parties += parties->size();
    rules->screener.Add(std::move(parties).value());
  }
  std::lock_guard<std::mutex> l(rules_mu_);
  rules_ = std::move(rules);
  return Status::Ok();
}

std::shared_ptr<const DistribService::Rules> DistribService::CurrentRules() const {
  std::lock_guard<std::mutex> l(rules_mu_);
  return rules_;
}

std::string DistribService::Describe() const {
  auto r = CurrentRules();
  std::string out = "policy ";
  out += r->policy ? config_.policy_path + " (" + std::to_string(r->policy->rules().size()) + " rules, sha256 " +
                         r->policy->source_sha256().substr(0, 16) + ")"
                   : std::string("none");
  out += "; denied parties: " + std::to_string(r->parties) + " from " +
         std::to_string(config_.denied_party_files.size()) + " lists";
  out += "; store " + (store_ ? store_->Describe() : std::string("none"));
  out += "; audit " + config_.audit_path;
  return out;
}

Status DistribService::Record(fleet::AuditRecord r, fleet::Durability d) {
  return audit_ ? audit_->Append(std::move(r), d) : Status::Ok();
}

int64_t DistribService::Now() const {
  return config_.fixed_now ? *config_.fixed_now : static_cast<int64_t>(std::time(nullptr));
}

std::string DistribService::NewRequestId() {
  return id_prefix_ + "-" + std::to_string(next_id_.fetch_add(1, std::memory_order_relaxed));
}

Result<std::optional<std::string>> DistribService::LicenseCountry(const std::string& key) {
  {
    std::lock_guard<std::mutex> l(license_mu_);
    auto it = license_country_.find(key);
    if (it != license_country_.end()) return std::optional<std::string>(it->second);
  }
  if (!store_) return std::optional<std::string>();
  auto lic = store_->GetLicense(key);
  if (!lic.ok()) return lic.status();
  if (!*lic) return std::optional<std::string>();
  std::lock_guard<std::mutex> l(license_mu_);
  if (license_country_.size() > 1'000'000) license_country_.clear();  // bounded; the store has them all
  license_country_[key] = (*lic)->country;
  return std::optional<std::string>((*lic)->country);
}

// Who asks, from where, under which license. An error is the answer to send.
Result<DistribService::Request> DistribService::Identify(const HttpRequest& r) {
  Request q;
  q.id = NewRequestId();
  std::optional<std::string> fwd;
  std::string lower = client_address_->header();
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  auto it = r.headers.find(lower);
  if (it != r.headers.end()) fwd = it->second;
  auto ip = client_address_->Resolve(r.remote_addr, fwd);
  if (!ip.ok()) return Status::InvalidArgument(ip.status().message());
  q.ip = *ip;
  q.ip_country = geo_ ? geo_->Country(q.ip) : std::string();
  std::string key = r.Header("Vigil-License");
  if (!key.empty()) {
    if (!ValidLicenseKey(key)) return Status::InvalidArgument("malformed Vigil-License header");
    auto country = LicenseCountry(key);
    if (!country.ok()) return Status::IoError(country.status().message());
    if (!*country) return Status::NotFound("unknown license");
    q.license_key = key;
    q.license_country = **country;
  }
  return q;
}

namespace {

int IdentifyErrorStatus(const Status& st) {
  switch (st.code()) {
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 403;
    default: return 503;
  }
}

}  // namespace

std::optional<HttpResponse> DistribService::Gate(const HttpRequest& r, Endpoint e) {
  policy::Action action;
  switch (e) {
    case Endpoint::kChannelManifest:
    case Endpoint::kReleaseManifest: action = policy::Action::kUpdate; break;
    case Endpoint::kBundle:
    case Endpoint::kDelta: action = policy::Action::kDownload; break;
    default: return std::nullopt;  // the log, and endpoints that decide for themselves
  }
  auto q = Identify(r);
  if (!q.ok()) return JsonError(IdentifyErrorStatus(q.status()), q.status().message(), "");
  auto rules = CurrentRules();
  const int64_t now = Now();
  policy::Decision d;
  d.action = action;
  if (rules->policy) d = rules->policy->Decide(action, {q->license_country, q->ip_country}, now);

  fleet::AuditRecord rec;
  rec.time = now;
  rec.request_id = q->id;
  rec.endpoint = update::EndpointName(e);
  rec.action = policy::ActionName(action);
  rec.outcome = d.allowed ? "allow" : "deny";
  rec.rule = d.rule ? d.rule->id : "";
  rec.reason = d.rule ? "rule" : "default";
  rec.inputs = Json{{"path", r.path},
                    {"ip", q->ip},
                    {"ip_country", q->ip_country},
                    {"license_key", q->license_key},
                    {"license_country", q->license_country},
                    {"matched_country", d.country}};
  if (rules->policy) rec.inputs["policy_sha256"] = rules->policy->source_sha256();
  // A decision that cannot be recorded is not given. An update check is
  // answered once its record is written (synced within kSyncInterval).
  if (Status st = Record(std::move(rec), fleet::Durability::kWritten); !st.ok())
    return JsonError(503, "audit log: " + st.message(), q->id);
  if (!d.allowed) return Refusal(d, q->id);
  return std::nullopt;
}

HttpResponse DistribService::Activate(const HttpRequest& r) {
  if (!store_) return JsonError(503, "this server keeps no licenses (no --store)", "");
  if (r.body.size() > config_.max_body) return JsonError(413, "body too large", "");
  Json j;
  std::string error, key, customer, country;
  if (!ParseObject(r.body, {"license_key", "customer", "country"}, &j, &error) ||
      !GetString(j, "license_key", true, &key, &error) || !GetString(j, "customer", true, &customer, &error) ||
      !GetString(j, "country", true, &country, &error))
    return JsonError(400, error, "");
  if (!ValidLicenseKey(key)) return JsonError(400, "malformed license_key (8-64 of A-Z a-z 0-9 -)", "");
  if (customer.empty() || !Printable(customer, 256)) return JsonError(400, "malformed customer name", "");
  if (!policy::IsCountryCode(country)) return JsonError(400, "country must be an ISO 3166-1 alpha-2 code", "");
  HttpRequest anonymous = r;  // the license is in the body, not yet registered
  anonymous.headers.erase("vigil-license");
  auto q = Identify(anonymous);
  if (!q.ok()) return JsonError(IdentifyErrorStatus(q.status()), q.status().message(), "");
  q->license_key = key;
  q->license_country = country;

  auto rules = CurrentRules();
  const int64_t now = Now();
  std::vector<std::string> countries{country, q->ip_country};
  policy::Decision d;
  d.action = policy::Action::kSell;
  if (rules->policy) {
    policy::Decision sell = rules->policy->Decide(policy::Action::kSell, countries, now);
    policy::Decision act = rules->policy->Decide(policy::Action::kActivate, countries, now);
    d = Stricter(sell, act);
  }
  std::optional<policy::ScreenMatch> match = rules->screener.Screen(customer, config_.screening_threshold);

  fleet::AuditRecord rec;
  rec.time = now;
  rec.request_id = q->id;
  rec.endpoint = "activate";
  rec.action = policy::ActionName(d.action);
  rec.inputs = Json{{"ip", q->ip},
                    {"ip_country", q->ip_country},
                    {"license_key", key},
                    {"license_country", country},
                    {"customer", customer},
                    {"matched_country", d.country}};
  if (rules->policy) rec.inputs["policy_sha256"] = rules->policy->source_sha256();
  if (match) {
    rec.inputs["screening"] = Json{{"score", match->score},
                                   {"list", match->party->source},
                                   {"list_file", match->party->list_file},
                                   {"entry_id", match->party->id},
                                   {"entry", match->party->name},
                                   {"matched_name", match->matched_name}};
  }
  HttpResponse answer;
  if (!d.allowed) {
    rec.outcome = "deny";
    rec.rule = d.rule->id;
    rec.reason = "rule";
    answer = Refusal(d, q->id);
  } else if (match) {
    rec.outcome = "deny";
    rec.rule = "denied-party";
    rec.reason = "denied-party";
    Json b;
    b["rule"] = "denied-party";
    b["action"] = "sell";
    b["jurisdiction"] = country;
    b["effective"] = "";
    b["message"] =
        "For legal compliance reasons, this product cannot be sold to this customer: the name matches an entry "
        "of a denied-party list. If this is a mistake, contact sales with your order reference.";
    b["reference"] = match->party->source;
    b["score"] = match->score;
    b["matched_entry"] = match->party->name;
    b["request_id"] = q->id;
    answer = HttpResponse::Json(451, b.dump() + "\n");
    answer.headers.emplace_back("X-Request-Id", q->id);
  } else {
    rec.outcome = "allow";
    rec.rule = d.rule ? d.rule->id : "";
    rec.reason = d.rule ? "rule" : "default";
  }
  if (rec.outcome == "allow") {
    // The license is stored first: an allowed decision is recorded for a
    // license that exists (or for the conflict that stopped it).
    fleet::License lic;
    lic.key = key;
    lic.customer = customer;
    lic.country = country;
    lic.activated_at = now;
    lic.activated_ip = q->ip;
    lic.ip_country = q->ip_country;
    Status st = store_->PutLicense(lic);
    if (!st.ok()) {
      if (st.code() != StatusCode::kInvalidArgument) return JsonError(503, "license store: " + st.message(), q->id);
      rec.reason = "already-activated";
      answer = JsonError(409, "license " + key + " is already activated", q->id);
    } else {
      {
        std::lock_guard<std::mutex> l(license_mu_);
        license_country_[key] = country;
      }
      Json b{{"license_key", key},
             {"customer", customer},
             {"country", country},
             {"activated_at", policy::FormatInstantUtc(now)},
             {"ip_country", q->ip_country},
             {"request_id", q->id}};
      answer = HttpResponse::Json(200, b.dump() + "\n");
      answer.headers.emplace_back("X-Request-Id", q->id);
    }
  }
  if (Status st = Record(std::move(rec)); !st.ok()) return JsonError(503, "audit log: " + st.message(), q->id);
  return answer;
}

HttpResponse DistribService::Checkin(const HttpRequest& r) {
  if (!store_) return JsonError(503, "this server keeps no fleet state (no --store)", "");
  if (r.body.size() > config_.max_body) return JsonError(413, "body too large", "");
  static const std::set<std::string> kFields = {
      "endpoint_id", "license_key", "engine_version", "db_version",          "db_time",           "db_age_seconds",
      "last_scan",   "detections",  "quarantined",    "last_update_outcome", "last_update_rule"};
  Json j;
  std::string error;
  fleet::Checkin c;
  int64_t db_time = 0, age = -1, last_scan = 0, detections = 0, quarantined = 0;
  if (!ParseObject(r.body, kFields, &j, &error) || !GetString(j, "endpoint_id", true, &c.endpoint_id, &error) ||
      !GetString(j, "license_key", true, &c.license_key, &error) ||
      !GetString(j, "engine_version", false, &c.engine_version, &error) ||
      !GetString(j, "db_version", false, &c.db_version, &error) ||
      !GetString(j, "last_update_outcome", false, &c.last_update_outcome, &error) ||
      !GetString(j, "last_update_rule", false, &c.last_update_rule, &error) || !GetCount(j, "db_time", &db_time, &error) ||
      !GetCount(j, "db_age_seconds", &age, &error) || !GetCount(j, "last_scan", &last_scan, &error) ||
      !GetCount(j, "detections", &detections, &error) || !GetCount(j, "quarantined", &quarantined, &error))
    return JsonError(400, error, "");
  if (!ValidEndpointId(c.endpoint_id)) return JsonError(400, "malformed endpoint_id", "");
  if (!ValidLicenseKey(c.license_key)) return JsonError(400, "malformed license_key", "");
  for (const std::string* s : {&c.engine_version, &c.db_version, &c.last_update_outcome, &c.last_update_rule})
    if (!Printable(*s, 128)) return JsonError(400, "a version or outcome field is too long or not printable", "");
  HttpRequest anonymous = r;
  anonymous.headers.erase("vigil-license");
  auto q = Identify(anonymous);
  if (!q.ok()) return JsonError(IdentifyErrorStatus(q.status()), q.status().message(), "");
  auto country = LicenseCountry(c.license_key);
  if (!country.ok()) return JsonError(503, country.status().message(), q->id);
  if (!*country) return JsonError(403, "unknown license", q->id);
  const int64_t now = Now();
  c.db_time = db_time ? db_time : (age >= 0 ? now - age : 0);
  c.last_scan = last_scan;
  c.detections = static_cast<uint64_t>(detections);
  c.quarantined = static_cast<uint64_t>(quarantined);
  c.received_at = now;
  c.ip = q->ip;
  c.country = q->ip_country;
  if (Status st = store_->RecordCheckin(c); !st.ok()) return JsonError(503, "fleet store: " + st.message(), q->id);
  HttpResponse ok = HttpResponse::Json(200, Json{{"ok", true}, {"request_id", q->id}}.dump() + "\n");
  ok.headers.emplace_back("X-Request-Id", q->id);
  return ok;
}

void DistribService::Register(update::HttpService& http) {
  http.Route("POST", "/v1/activate", Endpoint::kOther, [this](const HttpRequest& r) { return Activate(r); });
  http.Route("POST", "/v1/checkin", Endpoint::kOther, [this](const HttpRequest& r) { return Checkin(r); });
  http.SetGate([this](const HttpRequest& r, Endpoint e) { return Gate(r, e); });
}

}  // namespace vigil::distrib
