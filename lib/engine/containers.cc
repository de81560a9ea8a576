#include "engine/containers.h"

#include <algorithm>
#include <vector>

#include "unpack/unpack.h"

namespace vigil::engine {
namespace {

unpack::Limits LimitsOf(const ScanOptions& o) {
  unpack::Limits l;
  l.max_filesize = o.max_filesize;
  l.max_scansize = o.max_scansize;
  l.max_files = o.max_files;
  l.max_recursion = o.max_recursion;
  l.max_scantime_ms = o.max_scantime_ms;
  return l;
}

bool Wanted(unpack::FileType t, const ScanOptions& o) {
  if (t == unpack::FileType::kUnknown) return false;
  if (unpack::IsLibarchiveType(t)) return o.scan_archive;
  return true;
}

// Walks the tree of members depth first. Members are scanned as they are
// extracted; a container's bytes stay alive (in its reader) while its
// members are scanned, which lets the allow-list check every ancestor.
class Walk : public unpack::Sink {
 public:
  Walk(LayerScanner& scanner, const ScanOptions& options, ScanResult* res)
      : scanner_(scanner), opt_(options), res_(*res), budget_(LimitsOf(options)) {}

  // Looks inside the top-level file.
  void Run(std::string_view data) {
    budget_.Charge(data.size());
    ancestors_.push_back(data);
    Descend(data, unpack::MemberKind::kFile);
    LateMail(data);
    ancestors_.pop_back();
    // A global limit that ended the walk (time, above all, is noticed by
    // readers between members) is reported even if no reader asked.
    if (budget_.exhausted()) LimitExceeded(budget_.exhausted_by());
    // Heuristic findings are reported only when no signature matched (as
    // clamscan does without --heuristic-scan-precedence), or all with -z.
    if (res_.names.empty() || opt_.all_match) {
      for (auto& [name, where] : heuristics_) {
        if (!opt_.all_match && !res_.names.empty()) break;
        Add(name, where);
      }
    }
    if (!res_.names.empty()) {
      res_.verdict = Verdict::kInfected;
      if (!opt_.all_match && res_.names.size() > 1) {
        res_.names.resize(1);
        res_.locations.resize(1);
      }
    }
  }

  bool Member(std::string_view name, std::string_view data, unpack::MemberKind kind) override {
    if (done_) return false;
    std::string saved = path_;
    path_ = path_.empty() ? std::string(name) : path_ + "//" + std::string(name);
    ++res_.members;
    budget_.Charge(data.size());
    // An OLE2 member is looked inside before its own bytes are scanned, as
    // a top-level one is.
    const bool inside_first = InsideFirst(data);
    if (!inside_first) ScanOwn(data);
    if (!done_) {
      ancestors_.push_back(data);
      ++depth_;
      Descend(data, kind);
      LateMail(data);
      --depth_;
      ancestors_.pop_back();
    }
    if (inside_first && !done_) ScanOwn(data);
    path_ = std::move(saved);
    return !done_ && !budget_.exhausted();
  }

  void LimitExceeded(unpack::LimitHit hit) override {
    if (opt_.alert_exceeds_max) Heuristic(std::string(unpack::HeuristicName(hit)));
  }
  void Encrypted(std::string_view format) override {
    if (opt_.alert_encrypted) Heuristic("Heuristics.Encrypted." + std::string(format));
  }
  void Warn(std::string message) override {
    if (res_.warnings.size() < kMaxWarnings) res_.warnings.push_back(std::move(message));
  }

 private:
  static constexpr size_t kMaxWarnings = 100;

  void Descend(std::string_view data, unpack::MemberKind kind) {
    unpack::FileType t = unpack::DetectType(data);
    if (!Wanted(t, opt_) || budget_.exhausted()) return;
    unpack::Context ctx{budget_, *this, depth_ + 1};
    Status st = unpack::Unpack(t, data, kind, ctx);
    if (!st.ok()) Warn((path_.empty() ? "" : path_ + ": ") + st.message());
  }

  // A member's own passes (body signatures, hashes, text).
  void ScanOwn(std::string_view data) {
    ScanResult r = scanner_.ScanLayer(data, opt_);
    res_.bytes_scanned += r.bytes_scanned;
    Record(r);
  }

  void LateMail(std::string_view data) {
    if (done_ || budget_.exhausted()) return;
    Record(scanner_.ScanLateMail(data, opt_));
  }

  // The outcome of one pass over this member: its names, or a warning.
  void Record(const ScanResult& r) {
    if (r.verdict == Verdict::kError) {
      Warn((path_.empty() ? "" : path_ + ": ") + r.error.message());
    } else if (r.verdict == Verdict::kInfected && !AncestorAllowListed()) {
      for (const auto& n : r.names) Add(n, path_);
      if (!opt_.all_match) done_ = true;
    }
  }

  void Add(const std::string& name, const std::string& where) {
    for (size_t i = 0; i < res_.names.size(); ++i)
      if (res_.names[i] == name) return;
    res_.names.push_back(name);
    res_.locations.push_back(where);
  }

  void Heuristic(std::string name) {
    for (const auto& h : heuristics_)
      if (h.first == name) return;
    heuristics_.emplace_back(std::move(name), path_);
  }

  // A detection inside an allow-listed container is no detection.
  bool AncestorAllowListed() {
    for (std::string_view a : ancestors_)
      if (scanner_.AllowListed(a)) return true;
    return false;
  }

  LayerScanner& scanner_;
  const ScanOptions& opt_;
  ScanResult& res_;
  unpack::Budget budget_;
  std::vector<std::string_view> ancestors_;
  std::vector<std::pair<std::string, std::string>> heuristics_;  // name, location
  std::string path_;
  uint32_t depth_ = 0;
  bool done_ = false;
};

}  // namespace

void ScanContainers(LayerScanner& scanner, std::string_view data, const ScanOptions& options,
                    ScanResult* res) {
  res->locations.assign(res->names.size(), std::string());
  if (res->verdict == Verdict::kError || res->empty || data.empty()) return;
  if (res->verdict == Verdict::kInfected && !options.all_match) return;
  Walk walk(scanner, options, res);
  walk.Run(data);
}

bool InsideFirst(std::string_view data) {
  return data.substr(0, 8) == std::string_view("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1", 8);
}

bool SkipTooLarge(uint64_t size, const ScanOptions& options, ScanResult* res) {
  unpack::LimitHit hit = unpack::LimitHit::kNone;
  if (options.max_filesize && size > options.max_filesize) hit = unpack::LimitHit::kFileSize;
  else if (options.max_scansize && size > options.max_scansize) hit = unpack::LimitHit::kScanSize;
  if (hit == unpack::LimitHit::kNone) return false;
  res->size = size;
  res->verdict = Verdict::kSkipped;
  if (options.alert_exceeds_max) {
    res->verdict = Verdict::kInfected;
    res->names.assign(1, std::string(unpack::HeuristicName(hit)));
    res->locations.assign(1, std::string());
  }
  return true;
}

}  // namespace vigil::engine
