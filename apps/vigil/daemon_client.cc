// `vigil scan --daemon[=SOCKET]`: scanning through a running vigild (or any
// clamd-compatible daemon) instead of loading the database in-process.
//
// Files go by descriptor (FILDES) over a Unix socket, so the daemon needs no
// access to them, or by content (INSTREAM) over TCP and for standard input;
// directories go by path (MULTISCAN), scanned in parallel by the daemon.
// Output and exit codes as `vigil scan`: 0 clean, 1 found, 2 error.
#include "daemon_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace vigil::cli {
namespace {

constexpr const char* kDefaultSocket = "/run/vigil/vigild.ctl";
constexpr int kTimeoutMs = 600 * 1000;  // a directory scan may take long

struct Totals {
  uint64_t infected = 0, errors = 0, files = 0;
};

class Connection {
 public:
  ~Connection() {
    if (fd_ >= 0) close(fd_);
  }

  // SOCKET is a path, or HOST:PORT for TCP.
  bool Open(const std::string& where, std::string* err) {
    size_t colon = where.rfind(':');
    if (!where.empty() && where[0] != '/' && colon != std::string::npos) {
      tcp_ = true;
      addrinfo hints{};
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* res = nullptr;
      std::string host = where.substr(0, colon), port = where.substr(colon + 1);
      if (int r = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); r != 0) {
        *err = where + ": " + gai_strerror(r);
        return false;
      }
      for (addrinfo* a = res; a && fd_ < 0; a = a->ai_next) {
        fd_ = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd_ >= 0 && connect(fd_, a->ai_addr, a->ai_addrlen) != 0) {
          close(fd_);
          fd_ = -1;
        }
      }
      freeaddrinfo(res);
      if (fd_ < 0) *err = where + ": cannot connect: " + std::strerror(errno);
      return fd_ >= 0;
    }
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (where.size() >= sizeof addr.sun_path) {
      *err = where + ": socket path too long";
      return false;
    }
    std::memcpy(addr.sun_path, where.c_str(), where.size() + 1);
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      *err = where + ": cannot connect: " + std::strerror(errno);
      return false;
    }
    return true;
  }

  bool tcp() const { return tcp_; }

  bool Send(const void* p, size_t n) {
    const char* c = static_cast<const char*>(p);
    while (n > 0) {
      ssize_t w = send(fd_, c, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return false;
      c += w;
      n -= static_cast<size_t>(w);
    }
    return true;
  }

  bool SendFd(int fd) {
    char byte = 0;
    iovec iov{&byte, 1};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
    return sendmsg(fd_, &msg, MSG_NOSIGNAL) == 1;
  }

  // Reads NUL-terminated replies until the daemon closes the connection.
  bool ReadReplies(std::vector<std::string>* out) {
    std::string buf;
    char chunk[4096];
    while (true) {
      pollfd p{fd_, POLLIN, 0};
      int r = poll(&p, 1, kTimeoutMs);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return false;
      if (n == 0) break;
      buf.append(chunk, static_cast<size_t>(n));
    }
    size_t start = 0;
    for (size_t i = 0; i < buf.size(); ++i) {
      if (buf[i] == '\0') {
        out->push_back(buf.substr(start, i - start));
        start = i + 1;
      }
    }
    if (start < buf.size()) out->push_back(buf.substr(start));
    return true;
  }

 private:
  int fd_ = -1;
  bool tcp_ = false;
};

// Prints one reply line under the name the user gave, and counts it.
void Report(const std::string& line, const std::string& daemon_name, const std::string& name,
            const DaemonScanOptions& o, Totals* t) {
  std::string shown = line;
  if (!daemon_name.empty() && line.rfind(daemon_name + ": ", 0) == 0)
    shown = name + line.substr(daemon_name.size());
  if (line.ends_with(" FOUND")) {
    ++t->infected;
    ++t->files;
  } else if (line.ends_with(" ERROR") || line == "COMMAND READ TIMED OUT" ||
             line == "UNKNOWN COMMAND") {
    ++t->errors;
  } else if (line.ends_with(": OK")) {
    ++t->files;
    if (o.infected_only) return;
  }
  std::printf("%s\n", shown.c_str());
}

bool StreamFd(Connection& c, int fd) {
  if (!c.Send("zINSTREAM", 10)) return false;
  char buf[1 << 16];
  while (true) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    uint32_t len = htonl(static_cast<uint32_t>(n));
    if (!c.Send(&len, 4)) return false;
    if (n == 0) return true;
    if (!c.Send(buf, static_cast<size_t>(n))) return false;
  }
}

// Scans one command-line path; false if the daemon could not be reached.
bool ScanOne(const std::string& where, const std::string& path, const DaemonScanOptions& o, Totals* t) {
  Connection c;
  std::string err;
  if (!c.Open(where, &err)) {
    std::fprintf(stderr, "ERROR: %s\n", err.c_str());
    ++t->errors;
    return false;
  }
  std::vector<std::string> replies;
  std::string daemon_name;  // the name the daemon uses in its replies
  if (path == "-") {
    daemon_name = "stream";
    if (!StreamFd(c, STDIN_FILENO)) {
      std::fprintf(stderr, "ERROR: stdin: cannot send to the daemon\n");
      ++t->errors;
      return true;
    }
    c.ReadReplies(&replies);
    for (const auto& r : replies) Report(r, daemon_name, "stdin", o, t);
    return true;
  }
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    std::printf("%s: %s ERROR\n", path.c_str(), std::strerror(errno));
    ++t->errors;
    return true;
  }
  if (S_ISDIR(st.st_mode)) {
    char abs[PATH_MAX];
    if (!realpath(path.c_str(), abs)) {
      std::printf("%s: %s ERROR\n", path.c_str(), std::strerror(errno));
      ++t->errors;
      return true;
    }
    std::string cmd = std::string(o.all_match ? "zALLMATCHSCAN " : "zMULTISCAN ") + abs;
    c.Send(cmd.c_str(), cmd.size() + 1);
    c.ReadReplies(&replies);
    // The daemon names files by absolute path; show them under the path given.
    std::string given = path;
    for (const auto& r : replies) {
      std::string line = r;
      if (line.rfind(abs, 0) == 0) line = given + line.substr(std::strlen(abs));
      Report(line, "", "", o, t);
    }
    return true;
  }
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    std::printf("%s: %s ERROR\n", path.c_str(), std::strerror(errno));
    ++t->errors;
    return true;
  }
  bool sent;
  if (c.tcp()) {
    daemon_name = "stream";
    sent = StreamFd(c, fd);
  } else {
    sent = c.Send("zFILDES", 8) && c.SendFd(fd);
  }
  close(fd);
  if (!sent) {
    std::fprintf(stderr, "ERROR: %s: cannot send to the daemon\n", path.c_str());
    ++t->errors;
    return true;
  }
  c.ReadReplies(&replies);
  for (const auto& r : replies) {
    std::string name = daemon_name;
    if (name.empty() && r.rfind("fd[", 0) == 0) name = r.substr(0, r.find(']') + 1);
    Report(r, name, path, o, t);
  }
  if (replies.empty()) {
    std::fprintf(stderr, "ERROR: %s: no reply from the daemon\n", path.c_str());
    ++t->errors;
  }
  return true;
}

}  // namespace

std::string DefaultDaemonSocket() {
  if (const char* s = std::getenv("VIGILD_SOCKET"); s && *s) return s;
  return kDefaultSocket;
}

int DaemonScan(const std::string& socket_path, const std::vector<std::string>& paths,
               const DaemonScanOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  std::string where = socket_path.empty() ? DefaultDaemonSocket() : socket_path;
  Totals t;
  for (const auto& p : paths)
    if (!ScanOne(where, p, o, &t)) break;
  std::fflush(stdout);
  if (o.summary) {
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("\n----------- SCAN SUMMARY -----------\n");
    std::printf("Infected files: %llu\n", static_cast<unsigned long long>(t.infected));
    if (t.errors) std::printf("Total errors: %llu\n", static_cast<unsigned long long>(t.errors));
    std::printf("Time: %.3f sec (%d m %d s)\n", secs, static_cast<int>(secs) / 60, static_cast<int>(secs) % 60);
  }
  if (t.errors) return 2;
  return t.infected ? 1 : 0;
}

}  // namespace vigil::cli
