#include "daemon/config.h"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace vigil::daemon {
namespace {

TEST(DaemonConfig, DefaultsWhenEmpty) {
  auto r = ParseConfig("", "c.conf");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->max_threads, 10u);
  EXPECT_EQ(r->max_queue, 100u);
  EXPECT_EQ(r->stream_max_length, 100ull << 20);
  EXPECT_EQ(r->read_timeout, 120u);
  EXPECT_EQ(r->command_read_timeout, 30u);
  EXPECT_EQ(r->tcp_socket, 0);
  EXPECT_TRUE(r->tcp_addr.empty());
  EXPECT_TRUE(r->enable_shutdown_command);
}

TEST(DaemonConfig, ParsesClamdSyntax) {
  auto r = ParseConfig(
      "# comment\n"
      "\n"
      "LocalSocket /run/vigil/vigild.ctl\n"
      "LocalSocketMode 660\n"
      "LocalSocketGroup vigil\n"
      "TCPSocket 3310\n"
      "TCPAddr 127.0.0.1\n"
      "TCPAddr ::1\n"
      "MaxThreads 4\r\n"
      "  MaxQueue\t20  \n"
      "StreamMaxLength 25M\n"
      "MaxFileSize 512K\n"
      "ReadTimeout 5\n"
      "DatabaseDirectory \"/var/lib/vigil/db dir\"\n"
      "ExcludePath ^/proc/\n"
      "ExcludePath ^/sys/\n"
      "LogTime yes\n"
      "EnableShutdownCommand no\n"
      "ConcurrentDatabaseReload false\n",
      "c.conf");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->local_socket, "/run/vigil/vigild.ctl");
  EXPECT_EQ(r->local_socket_mode, 0660u);
  EXPECT_EQ(r->local_socket_group, "vigil");
  EXPECT_EQ(r->tcp_socket, 3310);
  EXPECT_EQ(r->tcp_addr, (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(r->max_threads, 4u);
  EXPECT_EQ(r->max_queue, 20u);
  EXPECT_EQ(r->stream_max_length, 25ull << 20);
  EXPECT_EQ(r->max_file_size, 512ull << 10);
  EXPECT_EQ(r->read_timeout, 5u);
  EXPECT_EQ(r->database_directory, "/var/lib/vigil/db dir");
  EXPECT_EQ(r->exclude_path.size(), 2u);
  EXPECT_TRUE(r->log_time);
  EXPECT_FALSE(r->enable_shutdown_command);
  EXPECT_FALSE(r->concurrent_database_reload);
}

TEST(DaemonConfig, LastValueWins) {
  auto r = ParseConfig("MaxThreads 2\nMaxThreads 3\n", "c.conf");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->max_threads, 3u);
}

struct BadCase {
  const char* text;
  const char* error;
};

// Names the case in test lists by its expected error, in plain characters.
void PrintTo(const BadCase& c, std::ostream* os) {
  std::string name(c.error + std::string_view(c.error).find(": ") + 2);
  for (char& ch : name)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  *os << name.substr(0, 48);
}

class DaemonConfigErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(DaemonConfigErrors, ReportsFileLineAndReason) {
  auto r = ParseConfig(GetParam().text, "vigild.conf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), GetParam().error);
}

INSTANTIATE_TEST_SUITE_P(
    All, DaemonConfigErrors,
    ::testing::Values(
        BadCase{"Bogus 1\n", "vigild.conf:1: unknown option 'Bogus'"},
        BadCase{"# c\nmaxthreads 2\n", "vigild.conf:2: unknown option 'maxthreads' (did you mean 'MaxThreads'?)"},
        BadCase{"MaxThreads\n", "vigild.conf:1: option 'MaxThreads' needs a value"},
        BadCase{"MaxThreads many\n", "vigild.conf:1: MaxThreads: expected a number, got 'many'"},
        BadCase{"MaxThreads 0\n", "vigild.conf:1: MaxThreads: must be at least 1"},
        BadCase{"MaxThreads -1\n", "vigild.conf:1: MaxThreads: expected a number, got '-1'"},
        BadCase{"MaxThreads 99999999999999999999999\n",
                "vigild.conf:1: MaxThreads: number out of range: 99999999999999999999999"},
        BadCase{"\n\nLogTime maybe\n", "vigild.conf:3: LogTime: expected yes or no, got 'maybe'"},
        BadCase{"StreamMaxLength 10Q\n",
                "vigild.conf:1: StreamMaxLength: expected a size such as 25M, got '10Q'"},
        BadCase{"StreamMaxLength 4G\n", "vigild.conf:1: StreamMaxLength: must be under 4G"},
        BadCase{"TCPSocket 70000\n", "vigild.conf:1: TCPSocket: number out of range: 70000"},
        BadCase{"TCPSocket 0\n", "vigild.conf:1: TCPSocket: port must be 1 to 65535"},
        BadCase{"LocalSocketMode rw\n",
                "vigild.conf:1: LocalSocketMode: expected an octal mode such as 660, got 'rw'"},
        BadCase{"LocalSocketMode 0889\n",
                "vigild.conf:1: LocalSocketMode: expected an octal mode such as 660, got '0889'"},
        BadCase{"Example\n", "vigild.conf:1: remove the 'Example' line to use this file"}));

TEST(DaemonConfig, NulByteInLine) {
  auto r = ParseConfig(std::string_view("LogFile a\0b\n", 12), "x.conf");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "x.conf:1: NUL byte in line");
}

TEST(DaemonConfig, MissingFile) {
  auto r = LoadConfig("/nonexistent/vigild.conf");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("cannot open"), std::string::npos);
}

}  // namespace
}  // namespace vigil::daemon
