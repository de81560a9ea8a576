#include "daemon/protocol.h"

#include <gtest/gtest.h>

namespace vigil::daemon {
namespace {

using namespace std::string_literals;

Request Parse(std::string_view wire, bool drained = true) {
  Frame f = NextFrame(wire, drained);
  EXPECT_EQ(f.status, Frame::Status::kComplete) << wire;
  Request r;
  EXPECT_EQ(ParseCommand(f.text, f.delimiter, &r), ParseError::kNone) << wire;
  return r;
}

bool Unknown(std::string_view wire) {
  Frame f = NextFrame(wire, true);
  if (f.status != Frame::Status::kComplete) return false;
  Request r;
  return ParseCommand(f.text, f.delimiter, &r) == ParseError::kUnknown;
}

TEST(DaemonFrame, ThreeForms) {
  // The frame views the buffer: keep it alive (a temporary would dangle).
  const std::string zwire = "zPING\0zVERSION\0"s;
  Frame z = NextFrame(zwire, false);
  EXPECT_EQ(z.status, Frame::Status::kComplete);
  EXPECT_EQ(z.delimiter, Delimiter::kNul);
  EXPECT_EQ(z.text, "PING");
  EXPECT_EQ(z.consumed, 6u);

  Frame n = NextFrame("nSCAN /a b\nrest", false);
  EXPECT_EQ(n.delimiter, Delimiter::kNewline);
  EXPECT_EQ(n.text, "SCAN /a b");
  EXPECT_EQ(n.consumed, 11u);

  Frame p = NextFrame("PING\n", false);
  EXPECT_EQ(p.delimiter, Delimiter::kPlain);
  EXPECT_EQ(p.text, "PING");
}

TEST(DaemonFrame, IncompleteWaitsForMore) {
  EXPECT_EQ(NextFrame("", true).status, Frame::Status::kNeedMore);
  EXPECT_EQ(NextFrame("zPIN", true).status, Frame::Status::kNeedMore);
  EXPECT_EQ(NextFrame("nPING", true).status, Frame::Status::kNeedMore);
  EXPECT_EQ(NextFrame("nPING\0"s, true).status, Frame::Status::kNeedMore);  // wrong delimiter
  EXPECT_EQ(NextFrame("PING", false).status, Frame::Status::kNeedMore);
}

TEST(DaemonFrame, PlainCommandEndsWhereDataEnds) {
  Frame f = NextFrame("PING", true);
  EXPECT_EQ(f.status, Frame::Status::kComplete);
  EXPECT_EQ(f.text, "PING");
  EXPECT_EQ(f.consumed, 4u);
}

TEST(DaemonFrame, TooLong) {
  std::string long_cmd = "zSCAN /" + std::string(kMaxCommandLength, 'a');
  EXPECT_EQ(NextFrame(long_cmd, false).status, Frame::Status::kTooLong);
  EXPECT_EQ(NextFrame(long_cmd + '\0', false).status, Frame::Status::kTooLong);
  std::string ok = "zSCAN /" + std::string(4000, 'a') + '\0';
  EXPECT_EQ(NextFrame(ok, false).status, Frame::Status::kComplete);
  EXPECT_EQ(NextFrame("nPING\n", false, 5).status, Frame::Status::kTooLong);
}

TEST(DaemonParse, EveryCommandInEveryPrefixedForm) {
  struct Case {
    const char* text;
    Command command;
    const char* arg;
  } cases[] = {
      {"PING", Command::kPing, ""},
      {"VERSION", Command::kVersion, ""},
      {"VERSIONCOMMANDS", Command::kVersionCommands, ""},
      {"RELOAD", Command::kReload, ""},
      {"SHUTDOWN", Command::kShutdown, ""},
      {"QUIT", Command::kShutdown, ""},
      {"SCAN /tmp/x y", Command::kScan, "/tmp/x y"},
      {"CONTSCAN /tmp", Command::kContScan, "/tmp"},
      {"MULTISCAN /tmp", Command::kMultiScan, "/tmp"},
      {"ALLMATCHSCAN /tmp", Command::kAllMatchScan, "/tmp"},
      {"INSTREAM", Command::kInstream, ""},
      {"FILDES", Command::kFildes, ""},
      {"STATS", Command::kStats, ""},
      {"IDSESSION", Command::kIdSession, ""},
      {"END", Command::kEnd, ""},
  };
  for (const auto& c : cases) {
    Request z = Parse("z"s + c.text + '\0');
    EXPECT_EQ(z.command, c.command) << c.text;
    EXPECT_EQ(z.delimiter, Delimiter::kNul);
    EXPECT_EQ(z.argument, c.arg);
    Request n = Parse("n"s + c.text + '\n');
    EXPECT_EQ(n.command, c.command) << c.text;
    EXPECT_EQ(n.delimiter, Delimiter::kNewline);
    EXPECT_EQ(n.argument, c.arg);
  }
}

TEST(DaemonParse, PlainFormOnlyWhereClamdAcceptsIt) {
  for (const char* ok : {"PING\n", "PING", "VERSION\n", "RELOAD\n", "SHUTDOWN\n", "SCAN /x\n",
                         "CONTSCAN /x\n", "MULTISCAN /x\n", "FILDES\n", "PING\r\n"}) {
    Request r = Parse(ok);
    EXPECT_EQ(r.delimiter, Delimiter::kPlain) << ok;
  }
  for (const char* bad : {"INSTREAM\n", "VERSIONCOMMANDS\n", "ALLMATCHSCAN /x\n", "STATS\n",
                          "IDSESSION\n", "END\n"})
    EXPECT_TRUE(Unknown(bad)) << bad;
}

TEST(DaemonParse, Malformed) {
  for (std::string bad : {"nFOO\n"s, "FOO\n"s, "zFOO\0"s, "xPING\n"s, "nping\n"s, "nPING extra\n"s,
                          "\n"s, "n\n"s, "nSCAN\n"s, "nSCANX /a\n"s, "zPING\n\0"s,
                          "nSCAN /a\0b\n"s, "nINSTREAM x\n"s, "nVERSION x\n"s, "z\0"s})
    EXPECT_TRUE(Unknown(bad)) << bad;
}

TEST(DaemonParse, ScanWithEmptyPath) {
  Request r = Parse("nSCAN \n");
  EXPECT_EQ(r.command, Command::kScan);
  EXPECT_EQ(r.argument, "");
}

TEST(DaemonParse, SessionRules) {
  for (Command c : {Command::kScan, Command::kInstream, Command::kFildes, Command::kVersion,
                    Command::kVersionCommands, Command::kPing, Command::kStats, Command::kEnd})
    EXPECT_TRUE(AllowedInSession(c)) << CommandName(c);
  for (Command c : {Command::kContScan, Command::kMultiScan, Command::kAllMatchScan, Command::kReload,
                    Command::kShutdown, Command::kIdSession})
    EXPECT_FALSE(AllowedInSession(c)) << CommandName(c);
}

TEST(DaemonReply, Terminators) {
  EXPECT_EQ(Reply(kPong, Delimiter::kNul), "PONG\0"s);
  EXPECT_EQ(Reply(kPong, Delimiter::kNewline), "PONG\n");
  EXPECT_EQ(Reply(kPong, Delimiter::kPlain), "PONG\n");
  EXPECT_EQ(Reply(kPong, Delimiter::kNul, 12), "12: PONG\0"s);
}

TEST(DaemonReply, ClamdWording) {
  EXPECT_EQ(FoundLine("stream", "Eicar-Signature"), "stream: Eicar-Signature FOUND");
  EXPECT_EQ(OkLine("/tmp/a"), "/tmp/a: OK");
  EXPECT_EQ(ErrorLine("fd[5]", "Not supported file type"), "fd[5]: Not supported file type ERROR");
  EXPECT_EQ(PathCheckFailure("/nonexistent", ENOENT),
            "/nonexistent: File path check failure: No such file or directory. ERROR");
  EXPECT_EQ(kSizeLimitExceeded, "INSTREAM size limit exceeded. ERROR");
  EXPECT_EQ(kUnknownCommand, "UNKNOWN COMMAND");
  EXPECT_EQ(kReadTimedOut, "COMMAND READ TIMED OUT\n");
}

TEST(DaemonReply, ResultLines) {
  ScanResult clean;
  EXPECT_EQ(ResultLines("stream", clean, false, Delimiter::kNul, 0), "stream: OK\0"s);
  ScanResult skipped;
  skipped.verdict = Verdict::kSkipped;
  EXPECT_EQ(ResultLines("stream", skipped, false, Delimiter::kNewline, 0), "stream: OK\n");
  ScanResult inf;
  inf.verdict = Verdict::kInfected;
  inf.names = {"A.UNOFFICIAL", "B"};
  EXPECT_EQ(ResultLines("/f", inf, false, Delimiter::kNewline, 0), "/f: A.UNOFFICIAL FOUND\n");
  EXPECT_EQ(ResultLines("/f", inf, true, Delimiter::kNewline, 3), "3: /f: A.UNOFFICIAL FOUND\n3: /f: B FOUND\n");
  ScanResult err;
  err.verdict = Verdict::kError;
  err.error_text = "Can't open file or directory";
  EXPECT_EQ(ResultLines("/f", err, false, Delimiter::kNul, 0), "/f: Can't open file or directory ERROR\0"s);
  err.error_text = "Not supported file type ERROR";  // clamscan's wording, "ERROR" included
  EXPECT_EQ(ResultLines("/f", err, false, Delimiter::kNul, 0), "/f: Not supported file type ERROR\0"s);
}

TEST(DaemonReply, VersionCommandsListsWhatWeParse) {
  std::string list(CommandList());
  for (const char* name : {"SCAN", "CONTSCAN", "MULTISCAN", "ALLMATCHSCAN", "INSTREAM", "FILDES",
                           "STATS", "IDSESSION", "END", "PING", "VERSION", "VERSIONCOMMANDS",
                           "RELOAD", "SHUTDOWN"}) {
    EXPECT_NE((" " + list + " ").find(" "s + name + " "), std::string::npos) << name;
    Request r;
    EXPECT_EQ(ParseCommand(name == "SCAN"s || std::string(name).ends_with("SCAN") ? name + " /"s : name,
                           Delimiter::kNul, &r),
              ParseError::kNone)
        << name;
  }
}

}  // namespace
}  // namespace vigil::daemon
