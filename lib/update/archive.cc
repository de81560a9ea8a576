#include "update/archive.h"

#include <zstd.h>

#include <unordered_map>
#include <vector>

#include "update/manifest.h"
#include "update/util.h"

namespace vigil::update {
namespace {

constexpr uint64_t kMaxFiles = 10000;
constexpr uint64_t kMaxOps = 1ull << 26;

// Reads "\n"-terminated header lines and raw byte runs from a buffer.
class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  bool Line(std::string_view* out) {
    size_t nl = d_.find('\n', pos_);
    if (nl == std::string_view::npos || nl - pos_ > 4096) return false;
    *out = d_.substr(pos_, nl - pos_);
    pos_ = nl + 1;
    return true;
  }
  // `n` bytes followed by '\n'.
  bool Bytes(uint64_t n, std::string_view* out) {
    if (n > d_.size() - pos_ || d_.size() - pos_ - n < 1 || d_[pos_ + n] != '\n') return false;
    *out = d_.substr(pos_, n);
    pos_ += n + 1;
    return true;
  }
  bool AtEnd() const { return pos_ == d_.size(); }

 private:
  std::string_view d_;
  size_t pos_ = 0;
};

std::vector<std::string_view> Split(std::string_view line) {
  std::vector<std::string_view> f;
  for (;;) {
    size_t sp = line.find(' ');
    f.push_back(line.substr(0, sp));
    if (sp == std::string_view::npos) break;
    line.remove_prefix(sp + 1);
  }
  return f;
}

// A file split into lines; each line keeps its '\n' (the last may lack one).
std::vector<std::string_view> SplitLines(std::string_view s) {
  std::vector<std::string_view> lines;
  while (!s.empty()) {
    size_t nl = s.find('\n');
    size_t len = nl == std::string_view::npos ? s.size() : nl + 1;
    lines.push_back(s.substr(0, len));
    s.remove_prefix(len);
  }
  return lines;
}

bool IsBinary(std::string_view s) { return s.find('\0') != std::string_view::npos; }

// A line-level patch: new = concatenation of copies of base line ranges and
// inserted bytes. Greedy: extend the current copy while the next base line
// matches; otherwise jump to another occurrence of the line in the base
// (preferring one after the cursor); otherwise insert it. Correct for any
// input; small when changes are line additions and removals, as in
// signature databases.
std::string MakePatch(std::string_view from, std::string_view to, uint64_t* nops) {
  std::vector<std::string_view> a = SplitLines(from), b = SplitLines(to);
  std::unordered_map<std::string_view, uint32_t> first;
  std::vector<uint32_t> next(a.size(), UINT32_MAX);
  first.reserve(a.size());
  for (size_t i = a.size(); i-- > 0;) {
    auto [it, inserted] = first.try_emplace(a[i], static_cast<uint32_t>(i));
    if (!inserted) {
      next[i] = it->second;
      it->second = static_cast<uint32_t>(i);
    }
  }
  std::string out;
  *nops = 0;
  uint64_t copy_start = 0, copy_len = 0;
  std::string insert;
  auto flush_copy = [&] {
    if (copy_len) {
      out += "copy " + std::to_string(copy_start) + " " + std::to_string(copy_len) + "\n";
      ++*nops;
      copy_len = 0;
    }
  };
  auto flush_insert = [&] {
    if (!insert.empty()) {
      out += "insert " + std::to_string(insert.size()) + "\n";
      out += insert;
      out += '\n';
      ++*nops;
      insert.clear();
    }
  };
  uint64_t cursor = 0;
  for (std::string_view line : b) {
    if (cursor < a.size() && a[cursor] == line) {
      if (copy_len && copy_start + copy_len == cursor) {
        ++copy_len;
      } else {
        flush_copy();
        flush_insert();
        copy_start = cursor;
        copy_len = 1;
      }
      ++cursor;
      continue;
    }
    auto it = first.find(line);
    if (it != first.end()) {
      uint32_t p = it->second;
      for (int steps = 0; p != UINT32_MAX && p < cursor && steps < 64; ++steps) p = next[p];
      if (p == UINT32_MAX || p < cursor) p = it->second;
      flush_copy();
      flush_insert();
      copy_start = p;
      copy_len = 1;
      cursor = p + 1;
      continue;
    }
    flush_copy();
    insert.append(line);
  }
  flush_copy();
  flush_insert();
  return out;
}

}  // namespace

std::string EncodeBundle(const FileSet& files) {
  std::string out = "vigil-bundle 1\n";
  for (const auto& [name, content] : files) {
    out += "file " + name + " " + std::to_string(content.size()) + "\n";
    out += content;
    out += '\n';
  }
  out += "end\n";
  return out;
}

Result<FileSet> DecodeBundle(std::string_view data) {
  auto bad = [](const std::string& why) { return Status::Corruption("malformed bundle: " + why); };
  Reader r(data);
  std::string_view line;
  if (!r.Line(&line) || line != "vigil-bundle 1") return bad("header");
  FileSet files;
  for (;;) {
    if (!r.Line(&line)) return bad("truncated");
    if (line == "end") break;
    auto f = Split(line);
    uint64_t size;
    std::string_view content;
    if (f.size() != 3 || f[0] != "file" || !ValidName(f[1]) || !ParseU64(f[2], &size) ||
        !r.Bytes(size, &content))
      return bad("file entry");
    if (!files.empty() && files.rbegin()->first >= f[1]) return bad("files out of order");
    if (files.size() >= kMaxFiles) return bad("too many files");
    files.emplace(std::string(f[1]), std::string(content));
  }
  if (!r.AtEnd()) return bad("data after end");
  return files;
}

std::string MakeDelta(uint64_t from_version, uint64_t to_version, const FileSet& from, const FileSet& to) {
  std::string out = "vigil-delta 1\nfrom " + std::to_string(from_version) + "\nto " +
                    std::to_string(to_version) + "\n";
  // Walk both sorted name lists together.
  auto a = from.begin(), b = to.begin();
  while (a != from.end() || b != to.end()) {
    if (b == to.end() || (a != from.end() && a->first < b->first)) {
      out += "delete " + a->first + "\n";
      ++a;
      continue;
    }
    const std::string& name = b->first;
    const std::string& content = b->second;
    bool in_base = a != from.end() && a->first == name;
    if (in_base && a->second == content) {
      ++a;
      ++b;
      continue;
    }
    std::string patch;
    uint64_t nops = 0;
    if (in_base && !IsBinary(a->second) && !IsBinary(content)) patch = MakePatch(a->second, content, &nops);
    if (in_base && !patch.empty() && patch.size() < content.size()) {
      out += "patch " + name + " " + std::to_string(nops) + "\n" + patch;
    } else if (in_base && content.empty()) {
      out += "patch " + name + " 0\n";
    } else {
      out += "put " + name + " " + std::to_string(content.size()) + "\n" + content + "\n";
    }
    if (in_base) ++a;
    ++b;
  }
  out += "end\n";
  return out;
}

Result<FileSet> ApplyDelta(std::string_view delta, const FileSet& base, uint64_t* from_version,
                           uint64_t* to_version) {
  auto bad = [](const std::string& why) { return Status::Corruption("malformed delta: " + why); };
  Reader r(delta);
  std::string_view line;
  uint64_t from = 0, to = 0;
  if (!r.Line(&line) || line != "vigil-delta 1") return bad("header");
  if (!r.Line(&line) || line.substr(0, 5) != "from " || !ParseU64(line.substr(5), &from)) return bad("from");
  if (!r.Line(&line) || line.substr(0, 3) != "to " || !ParseU64(line.substr(3), &to)) return bad("to");
  if (from >= to) return bad("from must be below to");
  if (from_version) *from_version = from;
  if (to_version) *to_version = to;
  FileSet out = base;
  std::string last;
  for (;;) {
    if (!r.Line(&line)) return bad("truncated");
    if (line == "end") break;
    auto f = Split(line);
    if (f.size() < 2 || !ValidName(f[1])) return bad("entry");
    std::string name(f[1]);
    if (!last.empty() && name <= last) return bad("entries out of order");
    last = name;
    if (f[0] == "delete" && f.size() == 2) {
      if (!out.erase(name)) return bad("delete of a file not in the base: " + name);
    } else if (f[0] == "put" && f.size() == 3) {
      uint64_t size;
      std::string_view content;
      if (!ParseU64(f[2], &size) || !r.Bytes(size, &content)) return bad("put " + name);
      out[name] = std::string(content);
    } else if (f[0] == "patch" && f.size() == 3) {
      uint64_t nops;
      if (!ParseU64(f[2], &nops) || nops > kMaxOps) return bad("patch " + name);
      auto it = base.find(name);
      if (it == base.end()) return bad("patch of a file not in the base: " + name);
      std::vector<std::string_view> lines = SplitLines(it->second);
      std::string result;
      for (uint64_t k = 0; k < nops; ++k) {
        if (!r.Line(&line)) return bad("truncated patch " + name);
        auto op = Split(line);
        if (op.size() == 3 && op[0] == "copy") {
          uint64_t start, count;
          if (!ParseU64(op[1], &start) || !ParseU64(op[2], &count) || count == 0 || start > lines.size() ||
              count > lines.size() - start)
            return bad("copy beyond the base in " + name);
          for (uint64_t j = start; j < start + count; ++j) result.append(lines[j]);
        } else if (op.size() == 2 && op[0] == "insert") {
          uint64_t size;
          std::string_view content;
          if (!ParseU64(op[1], &size) || size == 0 || !r.Bytes(size, &content)) return bad("insert in " + name);
          result.append(content);
        } else {
          return bad("patch operation in " + name);
        }
      }
      out[name] = std::move(result);
    } else {
      return bad("entry '" + std::string(f[0]) + "'");
    }
    if (out.size() > kMaxFiles) return bad("too many files");
  }
  if (!r.AtEnd()) return bad("data after end");
  return out;
}

std::string ZstdCompress(std::string_view data, int level) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level);
  if (ZSTD_isError(n)) return {};
  out.resize(n);
  return out;
}

Result<std::string> ZstdDecompress(std::string_view data, uint64_t max_output) {
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  if (!ctx) return Status::Internal("zstd: out of memory");
  std::string out;
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  std::vector<char> buf(ZSTD_DStreamOutSize());
  size_t ret = 1;
  while (in.pos < in.size) {
    ZSTD_outBuffer o{buf.data(), buf.size(), 0};
    ret = ZSTD_decompressStream(ctx, &o, &in);
    if (ZSTD_isError(ret)) {
      std::string why = ZSTD_getErrorName(ret);
      ZSTD_freeDCtx(ctx);
      return Status::Corruption("zstd: " + why);
    }
    if (out.size() + o.pos > max_output) {
      ZSTD_freeDCtx(ctx);
      return Status::Corruption("zstd: output larger than the announced " + std::to_string(max_output) + " bytes");
    }
    out.append(buf.data(), o.pos);
    if (ret == 0 && in.pos < in.size) {
      ZSTD_freeDCtx(ctx);
      return Status::Corruption("zstd: data after the frame");
    }
  }
  // Flush anything still buffered.
  while (ret != 0) {
    ZSTD_outBuffer o{buf.data(), buf.size(), 0};
    ret = ZSTD_decompressStream(ctx, &o, &in);
    if (ZSTD_isError(ret) || o.pos == 0) {
      ZSTD_freeDCtx(ctx);
      return Status::Corruption("zstd: truncated frame");
    }
    if (out.size() + o.pos > max_output) {
      ZSTD_freeDCtx(ctx);
      return Status::Corruption("zstd: output larger than announced");
    }
    out.append(buf.data(), o.pos);
  }
  ZSTD_freeDCtx(ctx);
  return out;
}

uint64_t CountSignatureLines(std::string_view content) {
  if (IsBinary(content)) return 0;
  uint64_t n = 0;
  for (std::string_view line : SplitLines(content)) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    if (!line.empty() && line[0] != '#') ++n;
  }
  return n;
}

}  // namespace vigil::update
