// Jurisdiction policy: published rules that stop selling, activating or
// updating the product in some countries from some instant on, evaluated by
// the update server for every request.
//
// Policy file (TOML 1.0, version 1). Every key is listed here; any other key
// is an error, so a misspelt "efective" cannot silently drop a rule.
//
//   version = 1                          # required, integer, must be 1
//
//   [groups]                             # optional: named sets of countries
//   us-and-territories = ["US", "PR", "GU", "VI", "AS", "MP", "UM"]
//                                        # name: [a-z][a-z0-9-]*, not a country
//                                        # code in lower case ("us" is refused);
//                                        # members: upper-case ISO 3166-1
//                                        # alpha-2 codes, at least one
//
//   [[rule]]                             # zero or more
//   id = "us-2024-updates"               # required, unique, [a-z0-9-]+
//   jurisdiction = "us-and-territories"  # required: a code, a group name, or
//                                        # a non-empty array of them
//   action = ["update", "download"]      # required: "sell", "activate",
//                                        # "update", "download", or an array
//   effect = "deny"                      # optional: "deny" (default) or
//                                        # "allow" (documents an exception)
//   effective = 2024-09-29T00:00:00-04:00
//                                        # required: a TOML offset date-time,
//                                        # or a string holding an RFC 3339
//                                        # date-time with a zone, or Unix
//                                        # seconds (an integer or a string
//                                        # of digits); local date-times, dates
//                                        # and times alone are errors
//   end = 2030-01-01T00:00:00Z           # optional, exclusive, after effective
//   message = "..."                      # required, non-empty: shown to users
//   reference = "89 FR 52434"            # optional: the legal text
//
// A rule applies to a request when the request's instant is in
// [effective, end) and one of the request's countries is in the rule's
// jurisdiction. Decide() explains how applying rules combine. Every load
// error reads "FILE:LINE: reason"; a file with any error loads nothing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil::policy {

enum class Action { kSell, kActivate, kUpdate, kDownload };
const char* ActionName(Action a);  // "sell", "activate", "update", "download"
std::optional<Action> ParseAction(std::string_view s);

struct Rule {
  std::string id;
  std::vector<std::string> jurisdictions;  // as written: country codes and group names
  std::set<std::string> countries;         // expanded to country codes
  std::vector<Action> actions;
  bool deny = true;  // effect = "deny" (default) or "allow" (an exception)
  int64_t effective = 0;                 // Unix seconds
  std::string effective_text;            // as written in the file, e.g. "2024-09-29T00:00:00-04:00"
  int effective_offset_minutes = 0;      // the zone it was written in (-240 for EDT)
  std::optional<int64_t> end;            // the rule stops applying at this instant (exclusive)
  std::string message;                   // shown to the user
  std::string reference;                 // the legal text (URL or citation)
  std::string file;
  int line = 0;  // where it is defined (the [[rule]] header)

  bool AppliesAt(int64_t now) const { return now >= effective && (!end || now < *end); }
  bool Covers(Action a) const;
};

struct Decision {
  bool allowed = true;
  const Rule* rule = nullptr;  // the rule that decided (nullptr: no rule applied, allowed by default)
  std::string country;         // which of the countries given matched that rule
  Action action{};
  std::vector<std::string> countries;  // every country considered, for the audit log
};

class Policy {
 public:
  // Files over this size are refused (a policy is a few KiB).
  static constexpr size_t kMaxFileSize = 4 << 20;

  static Result<Policy> Load(const std::string& path);  // reads the file
  static Result<Policy> Parse(std::string_view text, const std::string& file_name);

  // Evaluates `action` for a request from all of `countries` (license
  // country and IP country; empty strings are ignored, codes are compared in
  // upper case) at instant `now`. Strictest wins: any applying deny rule
  // denies, even when an allow rule also applies; among applying deny rules
  // the one effective earliest wins (ties: the one first in the file). An
  // allow rule only documents an exception (Decision.rule = it, allowed =
  // true) when no deny applies. No applying rule: allowed, rule nullptr.
  Decision Decide(Action action, const std::vector<std::string>& countries, int64_t now) const;

  const std::vector<Rule>& rules() const { return rules_; }
  const std::map<std::string, std::set<std::string>>& groups() const { return groups_; }
  const std::string& file() const { return file_; }
  // Hex SHA-256 of the file's bytes, recorded in audit records.
  std::string source_sha256() const { return sha256_; }
  // The rule with this id, or nullptr.
  const Rule* FindRule(std::string_view id) const;

 private:
  std::vector<Rule> rules_;
  std::map<std::string, std::set<std::string>> groups_;
  std::string file_;
  std::string sha256_;
};

}  // namespace vigil::policy
