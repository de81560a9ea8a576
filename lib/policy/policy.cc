#include "policy/policy.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <toml++/toml.h>

#include "policy/countries.h"
#include "policy/instant.h"

namespace vigil::policy {
namespace {

constexpr std::string_view kActionNames[] = {"sell", "activate", "update", "download"};

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) return "";
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 15]);
  }
  return out;
}

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 80)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u < 0x20 || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  return out + "\"";
}

const char* TypeName(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

bool ValidRuleId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

bool ValidGroupName(std::string_view name) {
  if (name.empty() || name.size() > 128 || name[0] < 'a' || name[0] > 'z') return false;
  return ValidRuleId(name);
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

// Reads one policy file; every error carries the file and the line.
class Parser {
 public:
  Parser(std::string_view text, const std::string& file) : text_(text), file_(file) {}

  Status Error(const toml::source_region& at, const std::string& why) const {
    return Status::InvalidArgument(file_ + ":" + std::to_string(at.begin.line) + ": " + why);
  }

  Status Run(const toml::table& root, std::vector<Rule>* rules, std::map<std::string, std::set<std::string>>* groups) {
    const toml::node* version = nullptr;
    const toml::node* group_node = nullptr;
    const toml::node* rule_node = nullptr;
    for (auto&& [k, v] : root) {
      if (k.str() == "version") version = &v;
      else if (k.str() == "groups") group_node = &v;
      else if (k.str() == "rule") rule_node = &v;
      else return Error(k.source(), "unknown key " + Quote(k.str()) + " (expected version, groups or rule)");
    }
    if (!version) return Status::InvalidArgument(file_ + ":1: missing version = 1");
    if (!version->is_integer()) return Error(version->source(), std::string("version must be an integer, not ") + TypeName(*version));
    if (version->as_integer()->get() != 1)
      return Error(version->source(), "unsupported version " + std::to_string(version->as_integer()->get()) +
                                          " (this build reads version 1)");
    if (group_node) VIGIL_RETURN_IF_ERROR(Groups(*group_node));
    if (rule_node) {
      if (!rule_node->is_array_of_tables())
        return Error(rule_node->source(), std::string("rule must be [[rule]] tables, not ") + TypeName(*rule_node));
      for (const toml::node& r : *rule_node->as_array()) VIGIL_RETURN_IF_ERROR(OneRule(*r.as_table()));
    }
    *rules = std::move(rules_);
    *groups = std::move(groups_);
    return Status::Ok();
  }

 private:
  Status Groups(const toml::node& node) {
    if (!node.is_table()) return Error(node.source(), std::string("groups must be a table, not ") + TypeName(node));
    for (auto&& [k, v] : *node.as_table()) {
      std::string name(k.str());
      if (!ValidGroupName(name))
        return Error(k.source(), "bad group name " + Quote(name) + " (lower case [a-z][a-z0-9-]*)");
      if (IsCountryCode(Upper(name)))
        return Error(k.source(), "group name " + Quote(name) + " is a country code in lower case; pick another name");
      if (!v.is_array()) return Error(v.source(), "group " + Quote(name) + " must be an array of country codes, not " + TypeName(v));
      std::set<std::string> members;
      for (const toml::node& m : *v.as_array()) {
        if (!m.is_string()) return Error(m.source(), "group " + Quote(name) + " holds " + TypeName(m) + ", not a country code");
        const std::string& code = m.as_string()->get();
        VIGIL_RETURN_IF_ERROR(CheckCode(code, m.source(), /*groups_allowed=*/false));
        members.insert(code);
      }
      if (members.empty()) return Error(v.source(), "group " + Quote(name) + " is empty");
      groups_[name] = std::move(members);
    }
    return Status::Ok();
  }

  Status CheckCode(const std::string& code, const toml::source_region& at, bool groups_allowed) const {
    if (IsCountryCode(code)) return Status::Ok();
    std::string why = "unknown country code " + Quote(code);
    if (IsCountryCode(Upper(code))) why += " (country codes are upper case: did you mean \"" + Upper(code) + "\"?)";
    else if (groups_allowed) why = "unknown country code or group " + Quote(code);
    return Error(at, why);
  }

  // A string or a non-empty array of strings, each passed to `each`.
  template <typename F>
  Status Strings(const toml::node& v, const char* what, F each) const {
    if (v.is_string()) return each(v.as_string()->get(), v.source());
    if (!v.is_array()) return Error(v.source(), std::string(what) + " must be a string or an array of strings, not " + TypeName(v));
    if (v.as_array()->empty()) return Error(v.source(), std::string(what) + " is an empty array");
    for (const toml::node& e : *v.as_array()) {
      if (!e.is_string()) return Error(e.source(), std::string(what) + " holds " + TypeName(e) + ", not a string");
      VIGIL_RETURN_IF_ERROR(each(e.as_string()->get(), e.source()));
    }
    return Status::Ok();
  }

  // The text of a value as written, when it is on one line; columns count
  // code points, so walk UTF-8 to find bytes.
  std::string SourceText(const toml::source_region& r) const {
    if (r.begin.line != r.end.line || r.begin.line == 0) return "";
    size_t pos = 0;
    for (toml::source_index l = 1; l < r.begin.line; ++l) {
      pos = text_.find('\n', pos);
      if (pos == std::string_view::npos) return "";
      ++pos;
    }
    size_t eol = text_.find('\n', pos);
    std::string_view line = text_.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    auto byte_at = [&](toml::source_index col) {
      size_t b = 0;
      for (toml::source_index c = 1; c < col && b < line.size(); ++c) {
        ++b;
        while (b < line.size() && (static_cast<unsigned char>(line[b]) & 0xC0) == 0x80) ++b;
      }
      return b;
    };
    size_t b = byte_at(r.begin.column), e = byte_at(r.end.column);
    if (e <= b) return "";
    std::string_view s = line.substr(b, e - b);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == '\t')) s.remove_suffix(1);
    return std::string(s);
  }

  Status Instant(const toml::node& v, const char* what, ParsedInstant* out, std::string* text) const {
    if (v.is_string()) {
      auto p = ParseInstantWithOffset(v.as_string()->get());
      if (!p.ok()) return Error(v.source(), std::string(what) + ": " + p.status().message());
      *out = *p;
      *text = v.as_string()->get();
      return Status::Ok();
    }
    if (v.is_date_time()) {
      const toml::date_time& dt = v.as_date_time()->get();
      if (!dt.offset)
        return Error(v.source(), std::string(what) + " needs a time zone: write e.g. " +
                                     "2024-09-29T00:00:00-04:00 or ...Z, not a local date-time");
      if (dt.time.second > 59) return Error(v.source(), std::string(what) + ": leap seconds are not supported");
      if (!ValidDate(dt.date.year, dt.date.month, dt.date.day) || dt.time.hour > 23 || dt.time.minute > 59)
        return Error(v.source(), std::string(what) + ": date-time out of range");
      int64_t t = DaysFromCivil(dt.date.year, dt.date.month, dt.date.day) * 86400 + dt.time.hour * 3600 +
                  dt.time.minute * 60 + dt.time.second - int64_t{dt.offset->minutes} * 60;
      if (t < kMinInstant || t > kMaxInstant) return Error(v.source(), std::string(what) + ": out of range");
      *out = ParsedInstant{t, dt.offset->minutes};
      // Keep the text as written when it reads back to the same instant.
      *text = SourceText(v.source());
      auto back = ParseInstant(*text);
      if (!back.ok() || *back != t) *text = FormatInstant(t, dt.offset->minutes);
      return Status::Ok();
    }
    if (v.is_integer()) {  // Unix seconds
      const int64_t t = v.as_integer()->get();
      if (t < kMinInstant || t > kMaxInstant) return Error(v.source(), std::string(what) + ": Unix seconds out of range");
      *out = ParsedInstant{t, 0};
      *text = std::to_string(t);
      return Status::Ok();
    }
    if (v.is_date()) return Error(v.source(), std::string(what) + ": a date alone is not an instant; needs a time and a time zone");
    if (v.is_time()) return Error(v.source(), std::string(what) + ": a time alone is not an instant; needs a date and a time zone");
    return Error(v.source(), std::string(what) + " must be a date-time with a zone, not " + TypeName(v));
  }

  Status OneRule(const toml::table& t) {
    Rule rule;
    rule.file = file_;
    rule.line = static_cast<int>(t.source().begin.line);
    bool has_effective = false;
    const toml::node* end_node = nullptr;
    ParsedInstant end_at;
    std::string end_text;
    bool seen_jur = false, seen_action = false, seen_message = false;
    for (auto&& kv : t) {
      // Named references, not structured bindings: lambdas below capture them.
      const toml::key& k = kv.first;
      const toml::node& v = kv.second;
      std::string_view key = k.str();
      auto need_string = [&](std::string* out) -> Status {
        if (!v.is_string()) return Error(v.source(), "rule." + std::string(key) + " must be a string, not " + TypeName(v));
        *out = v.as_string()->get();
        return Status::Ok();
      };
      if (key == "id") {
        VIGIL_RETURN_IF_ERROR(need_string(&rule.id));
        if (!ValidRuleId(rule.id)) return Error(v.source(), "bad rule id " + Quote(rule.id) + " (use [a-z0-9-]+)");
        for (const Rule& r : rules_)
          if (r.id == rule.id)
            return Error(v.source(), "duplicate rule id " + Quote(rule.id) + " (first defined at line " + std::to_string(r.line) + ")");
      } else if (key == "jurisdiction") {
        seen_jur = true;
        VIGIL_RETURN_IF_ERROR(Strings(v, "jurisdiction", [&](const std::string& s, const toml::source_region& at) -> Status {
          auto g = groups_.find(s);
          if (g != groups_.end()) {
            rule.countries.insert(g->second.begin(), g->second.end());
          } else {
            VIGIL_RETURN_IF_ERROR(CheckCode(s, at, /*groups_allowed=*/true));
            rule.countries.insert(s);
          }
          rule.jurisdictions.push_back(s);
          return Status::Ok();
        }));
      } else if (key == "action") {
        seen_action = true;
        VIGIL_RETURN_IF_ERROR(Strings(v, "action", [&](const std::string& s, const toml::source_region& at) -> Status {
          auto a = ParseAction(s);
          if (!a) return Error(at, "unknown action " + Quote(s) + " (expected sell, activate, update or download)");
          if (std::find(rule.actions.begin(), rule.actions.end(), *a) == rule.actions.end()) rule.actions.push_back(*a);
          return Status::Ok();
        }));
      } else if (key == "effect") {
        std::string effect;
        VIGIL_RETURN_IF_ERROR(need_string(&effect));
        if (effect == "deny") rule.deny = true;
        else if (effect == "allow") rule.deny = false;
        else return Error(v.source(), "unknown effect " + Quote(effect) + " (expected deny or allow)");
      } else if (key == "effective") {
        ParsedInstant p;
        VIGIL_RETURN_IF_ERROR(Instant(v, "effective", &p, &rule.effective_text));
        rule.effective = p.seconds;
        rule.effective_offset_minutes = p.offset_minutes;
        has_effective = true;
      } else if (key == "end") {
        VIGIL_RETURN_IF_ERROR(Instant(v, "end", &end_at, &end_text));
        end_node = &v;
      } else if (key == "message") {
        seen_message = true;
        VIGIL_RETURN_IF_ERROR(need_string(&rule.message));
        if (rule.message.empty()) return Error(v.source(), "rule.message is empty");
      } else if (key == "reference") {
        VIGIL_RETURN_IF_ERROR(need_string(&rule.reference));
      } else {
        return Error(k.source(), "unknown key " + Quote(key) +
                                     " in a rule (expected id, jurisdiction, action, effect, effective, end, message, reference)");
      }
    }
    const std::string where = rule.id.empty() ? std::string("rule") : "rule " + Quote(rule.id);
    if (rule.id.empty()) return Error(t.source(), "rule without an id");
    if (!seen_jur) return Error(t.source(), where + " has no jurisdiction");
    if (!seen_action) return Error(t.source(), where + " has no action");
    if (!has_effective) return Error(t.source(), where + " has no effective date-time");
    if (!seen_message) return Error(t.source(), where + " has no message");
    if (end_node) {
      if (end_at.seconds <= rule.effective)
        return Error(end_node->source(), where + ": end " + end_text + " is not after effective " + rule.effective_text);
      rule.end = end_at.seconds;
    }
    rules_.push_back(std::move(rule));
    return Status::Ok();
  }

  std::string_view text_;
  const std::string& file_;
  std::vector<Rule> rules_;
  std::map<std::string, std::set<std::string>> groups_;
};

}  // namespace

const char* ActionName(Action a) {
  size_t i = static_cast<size_t>(a);
  return i < std::size(kActionNames) ? kActionNames[i].data() : "unknown";
}

std::optional<Action> ParseAction(std::string_view s) {
  for (size_t i = 0; i < std::size(kActionNames); ++i)
    if (s == kActionNames[i]) return static_cast<Action>(i);
  return std::nullopt;
}

bool Rule::Covers(Action a) const { return std::find(actions.begin(), actions.end(), a) != actions.end(); }

Result<Policy> Policy::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot open the policy file");
  std::string text;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > kMaxFileSize) return Status::InvalidArgument(path + ": policy file larger than 4 MiB");
  }
  if (in.bad()) return Status::IoError(path + ": read error");
  return Parse(text, path);
}

Result<Policy> Policy::Parse(std::string_view text, const std::string& file_name) {
  if (text.size() > kMaxFileSize) return Status::InvalidArgument(file_name + ":1: policy file larger than 4 MiB");
  // toml++ reports syntax errors by exception; none crosses this API.
  toml::table root;
  try {
    root = toml::parse(text, file_name);
  } catch (const toml::parse_error& e) {
    return Status::InvalidArgument(file_name + ":" + std::to_string(e.source().begin.line) + ": " +
                                   std::string(e.description()));
  } catch (const std::exception& e) {
    return Status::InvalidArgument(file_name + ":1: " + e.what());
  }
  Policy p;
  Parser parser(text, file_name);
  VIGIL_RETURN_IF_ERROR(parser.Run(root, &p.rules_, &p.groups_));
  p.file_ = file_name;
  p.sha256_ = Sha256Hex(text);
  return p;
}

const Rule* Policy::FindRule(std::string_view id) const {
  for (const Rule& r : rules_)
    if (r.id == id) return &r;
  return nullptr;
}

Decision Policy::Decide(Action action, const std::vector<std::string>& countries, int64_t now) const {
  Decision d;
  d.action = action;
  for (const std::string& c : countries) {
    if (c.empty()) continue;
    std::string u = Upper(c);
    if (std::find(d.countries.begin(), d.countries.end(), u) == d.countries.end()) d.countries.push_back(std::move(u));
  }
  const Rule* deny = nullptr;
  const Rule* allow = nullptr;
  std::string deny_country, allow_country;
  for (const Rule& r : rules_) {
    if (!r.Covers(action) || !r.AppliesAt(now)) continue;
    const std::string* hit = nullptr;
    for (const std::string& c : d.countries)
      if (r.countries.count(c)) { hit = &c; break; }
    if (!hit) continue;
    // Strict < keeps the first in the file among rules effective together.
    if (r.deny && (!deny || r.effective < deny->effective)) { deny = &r; deny_country = *hit; }
    if (!r.deny && (!allow || r.effective < allow->effective)) { allow = &r; allow_country = *hit; }
  }
  if (deny) {
    d.allowed = false;
    d.rule = deny;
    d.country = deny_country;
  } else if (allow) {
    d.rule = allow;
    d.country = allow_country;
  }
  return d;
}

}  // namespace vigil::policy
