#include "daemon/protocol.h"

#include <cstring>

namespace vigil::daemon {
namespace {

struct CommandSpec {
  std::string_view name;
  Command command;
  bool takes_path;     // "NAME PATH"; the path may be empty ("SCAN ")
  bool plain_allowed;  // accepted without a z/n prefix
};

// One table: name, enum, argument and form rules.
constexpr CommandSpec kCommands[] = {
    {"PING", Command::kPing, false, true},
    {"VERSION", Command::kVersion, false, true},
    {"VERSIONCOMMANDS", Command::kVersionCommands, false, false},
    {"RELOAD", Command::kReload, false, true},
    {"SHUTDOWN", Command::kShutdown, false, true},
    {"QUIT", Command::kShutdown, false, true},  // clamd's old name for SHUTDOWN
    {"SCAN", Command::kScan, true, true},
    {"CONTSCAN", Command::kContScan, true, true},
    {"MULTISCAN", Command::kMultiScan, true, true},
    {"ALLMATCHSCAN", Command::kAllMatchScan, true, false},
    {"INSTREAM", Command::kInstream, false, false},
    {"FILDES", Command::kFildes, false, true},
    {"STATS", Command::kStats, false, false},
    {"IDSESSION", Command::kIdSession, false, false},
    {"END", Command::kEnd, false, false},
};

}  // namespace

Frame NextFrame(std::string_view buf, bool drained, size_t max_length) {
  Frame f;
  if (buf.empty()) return f;
  size_t start = 0;
  char delim = '\n';
  if (buf[0] == 'z') {
    f.delimiter = Delimiter::kNul;
    delim = '\0';
    start = 1;
  } else if (buf[0] == 'n') {
    f.delimiter = Delimiter::kNewline;
    start = 1;
  } else {
    f.delimiter = Delimiter::kPlain;
  }
  size_t end = buf.find(delim, start);
  if (end == std::string_view::npos) {
    if (buf.size() > max_length) {
      f.status = Frame::Status::kTooLong;
      return f;
    }
    if (f.delimiter == Delimiter::kPlain && drained) {
      // Legacy clients may send a bare command and wait.
      f.status = Frame::Status::kComplete;
      f.text = buf;
      f.consumed = buf.size();
    }
    return f;
  }
  if (end + 1 > max_length) {
    f.status = Frame::Status::kTooLong;
    return f;
  }
  f.status = Frame::Status::kComplete;
  f.text = buf.substr(start, end - start);
  f.consumed = end + 1;
  return f;
}

ParseError ParseCommand(std::string_view text, Delimiter delimiter, Request* out) {
  // A plain command ending in "\r\n" (telnet) is read without the '\r'.
  if (delimiter == Delimiter::kPlain && !text.empty() && text.back() == '\r') text.remove_suffix(1);
  if (text.find('\0') != std::string_view::npos) return ParseError::kUnknown;
  for (const CommandSpec& spec : kCommands) {
    if (!text.starts_with(spec.name)) continue;
    std::string_view rest = text.substr(spec.name.size());
    if (spec.takes_path) {
      if (rest.empty() || rest[0] != ' ') continue;  // "SCAN" alone, or "SCANX"
      rest.remove_prefix(1);
    } else if (!rest.empty()) {
      continue;  // "PING extra", or a longer name such as VERSIONCOMMANDS
    }
    if (delimiter == Delimiter::kPlain && !spec.plain_allowed) return ParseError::kUnknown;
    out->command = spec.command;
    out->delimiter = delimiter;
    out->argument = spec.takes_path ? std::string(rest) : std::string();
    return ParseError::kNone;
  }
  return ParseError::kUnknown;
}

std::string_view CommandName(Command c) {
  for (const CommandSpec& spec : kCommands)
    if (spec.command == c) return spec.name;
  return "?";
}

bool AllowedInSession(Command c) {
  switch (c) {
    case Command::kScan:
    case Command::kInstream:
    case Command::kFildes:
    case Command::kVersion:
    case Command::kVersionCommands:
    case Command::kPing:
    case Command::kStats:
    case Command::kEnd:
      return true;
    default:
      return false;
  }
}

std::string Reply(std::string_view body, Delimiter d, uint64_t session_id) {
  std::string out;
  if (session_id > 0) {
    out = std::to_string(session_id);
    out += ": ";
  }
  out += body;
  out += Terminator(d);
  return out;
}

std::string FoundLine(std::string_view name, std::string_view signature) {
  std::string s(name);
  s += ": ";
  s += signature;
  s += " FOUND";
  return s;
}

std::string OkLine(std::string_view name) {
  std::string s(name);
  s += ": OK";
  return s;
}

std::string ErrorLine(std::string_view name, std::string_view reason) {
  std::string s(name);
  s += ": ";
  s += reason;
  s += " ERROR";
  return s;
}

std::string PathCheckFailure(std::string_view name, int errnum) {
  std::string reason = "File path check failure: ";
  reason += std::strerror(errnum);
  reason += '.';
  return ErrorLine(name, reason);
}

std::string ResultLines(std::string_view name, const ScanResult& r, bool all_match,
                        Delimiter d, uint64_t session_id) {
  switch (r.verdict) {
    case Verdict::kInfected: {
      if (!all_match || r.names.size() <= 1)
        return Reply(FoundLine(name, r.names.empty() ? "Unknown" : r.names.front()), d, session_id);
      std::string out;
      for (const auto& sig : r.names) out += Reply(FoundLine(name, sig), d, session_id);
      return out;
    }
    case Verdict::kError: {
      // The engine words some reasons as clamscan prints them, with the
      // trailing "ERROR" already there.
      std::string_view reason = r.error_text;
      if (reason.ends_with(" ERROR")) reason.remove_suffix(6);
      if (reason.empty()) reason = "Can't scan";
      return Reply(ErrorLine(name, reason), d, session_id);
    }
    case Verdict::kClean:
    case Verdict::kSkipped:
      break;
  }
  return Reply(OkLine(name), d, session_id);
}

std::string_view CommandList() {
  return "SCAN QUIT RELOAD PING CONTSCAN VERSIONCOMMANDS VERSION END SHUTDOWN MULTISCAN FILDES "
         "STATS IDSESSION INSTREAM ALLMATCHSCAN";
}

}  // namespace vigil::daemon
