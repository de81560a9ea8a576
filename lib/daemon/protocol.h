// clamd's wire protocol: framing and parsing of commands, and the text of
// replies. Parsing is kept apart from executing (server.cc runs a Request).
//
// A command arrives in one of three forms:
//   z<COMMAND>[ ARG]\0   replies end with '\0'
//   n<COMMAND>[ ARG]\n   replies end with '\n'
//   <COMMAND>[ ARG]\n    the legacy plain form; replies end with '\n'. Like
//                        clamd, a plain command may also end where the data
//                        the client sent so far ends.
// Some commands are accepted only with a z/n prefix (INSTREAM, IDSESSION,
// END, STATS, VERSIONCOMMANDS, ALLMATCHSCAN), as clamd does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "vigil/verdict.h"

namespace vigil::daemon {

enum class Command : uint8_t {
  kPing,
  kVersion,
  kVersionCommands,
  kReload,
  kShutdown,
  kScan,          // path: stop at the first infected file
  kContScan,      // path: report every infected file
  kMultiScan,     // path: like CONTSCAN, files scanned in parallel
  kAllMatchScan,  // path: like SCAN, every signature of a file reported
  kInstream,      // data follows in big-endian uint32-length chunks
  kFildes,        // a descriptor follows in SCM_RIGHTS ancillary data
  kStats,
  kIdSession,
  kEnd,
};

// How a command was delimited, and so how its replies end.
enum class Delimiter : uint8_t { kNul, kNewline, kPlain };

struct Request {
  Command command = Command::kPing;
  Delimiter delimiter = Delimiter::kNewline;
  std::string argument;  // the path of the *SCAN commands; empty otherwise
};

// Longest command accepted, delimiter and prefix included: a path of
// PATH_MAX bytes plus the longest command name.
inline constexpr size_t kMaxCommandLength = 4096 + 32;

// Result of looking for one complete command at the front of a buffer.
struct Frame {
  enum class Status { kNeedMore, kComplete, kTooLong } status = Status::kNeedMore;
  Delimiter delimiter = Delimiter::kNewline;
  std::string_view text;  // the command without prefix and delimiter
  size_t consumed = 0;    // bytes of the buffer the command took
};

// Finds the first command in `buf`. `drained` says that the client has sent
// nothing more for now, which completes a plain command without a newline.
Frame NextFrame(std::string_view buf, bool drained, size_t max_length = kMaxCommandLength);

// Why a frame is not a command we run.
enum class ParseError : uint8_t {
  kNone,
  kUnknown,  // "UNKNOWN COMMAND"
};

// Parses the text of one framed command.
ParseError ParseCommand(std::string_view text, Delimiter delimiter, Request* out);

// The protocol name of a command ("INSTREAM").
std::string_view CommandName(Command c);

// Commands allowed inside IDSESSION (clamd refuses the others there).
bool AllowedInSession(Command c);

// The byte that ends a reply to a command in the given form.
inline char Terminator(Delimiter d) { return d == Delimiter::kNul ? '\0' : '\n'; }

// Wraps a reply body: "<id>: " inside an IDSESSION (session_id > 0), then
// the body, then the terminator.
std::string Reply(std::string_view body, Delimiter d, uint64_t session_id = 0);

// Reply bodies, byte for byte as clamd words them.
inline constexpr std::string_view kPong = "PONG";
inline constexpr std::string_view kUnknownCommand = "UNKNOWN COMMAND";
inline constexpr std::string_view kCommandUnavailable = "COMMAND UNAVAILABLE";
inline constexpr std::string_view kReloading = "RELOADING";
inline constexpr std::string_view kSizeLimitExceeded = "INSTREAM size limit exceeded. ERROR";
inline constexpr std::string_view kNoFdReceived = "No file descriptor received. ERROR";
inline constexpr std::string_view kInvalidInSession = "Command invalid inside IDSESSION. ERROR";
inline constexpr std::string_view kProcessingError = "Error processing command. ERROR";
inline constexpr std::string_view kCommandTooLong = "Command too long. ERROR";  // Vigil's own
// Sent on a read timeout; clamd ends this one with '\n' whatever the form.
inline constexpr std::string_view kReadTimedOut = "COMMAND READ TIMED OUT\n";

// "NAME: SIG FOUND"
std::string FoundLine(std::string_view name, std::string_view signature);
// "NAME: OK"
std::string OkLine(std::string_view name);
// "NAME: REASON ERROR"
std::string ErrorLine(std::string_view name, std::string_view reason);
// "NAME: File path check failure: <strerror>. ERROR"
std::string PathCheckFailure(std::string_view name, int errnum);

// Reply lines for one scanned object (one line per signature when
// `all_match`; "OK" for clean or skipped input).
std::string ResultLines(std::string_view name, const ScanResult& r, bool all_match,
                        Delimiter d, uint64_t session_id);

// The space-separated command list of VERSIONCOMMANDS.
std::string_view CommandList();

}  // namespace vigil::daemon
