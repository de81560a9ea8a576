// vigild: the scanning daemon. Speaks clamd's protocol (lib/daemon/).
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "daemon/config.h"
#include "daemon/log.h"
#include "daemon/server.h"

namespace {

constexpr const char* kDefaultConfig = "/etc/vigil/vigild.conf";

constexpr const char* kUsage = R"(Usage: vigild [OPTIONS]

Scanning daemon speaking clamd's protocol (clamdscan and other clamd
clients work unchanged). Configuration uses clamd.conf's syntax.

  -c, --config FILE     configuration file (default /etc/vigil/vigild.conf)
  -F, --foreground      stay in the foreground (also: Foreground yes)
  -V, --version         print the version
  -h, --help            this help

Signals: SIGTERM stops, SIGUSR2 reloads the database, SIGHUP reopens the log.
)";

// Tells systemd (Type=notify) about our state, if it is listening.
void Notify(const char* state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (!path || !*path) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  size_t len = std::strlen(path);
  if (len >= sizeof addr.sun_path) return;
  std::memcpy(addr.sun_path, path, len);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  sendto(fd, state, std::strlen(state), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr),
         static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len));
  close(fd);
}

// Paths in the configuration are taken relative to the directory vigild
// was started in; the daemon itself then runs in "/".
void Absolutize(std::string* p, const std::string& cwd) {
  if (!p->empty() && (*p)[0] != '/') *p = cwd + "/" + *p;
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = kDefaultConfig;
  bool foreground = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "-V" || a == "--version") {
      std::printf("vigild %s\n", VIGIL_VERSION);
      return 0;
    }
    if (a == "-F" || a == "--foreground") {
      foreground = true;
    } else if ((a == "-c" || a == "--config" || a == "--config-file") && i + 1 < argc) {
      config_path = argv[++i];
    } else if (a.starts_with("--config=")) {
      config_path = a.substr(9);
    } else if (a.starts_with("--config-file=")) {
      config_path = a.substr(14);
    } else {
      std::fprintf(stderr, "vigild: unknown option '%s' (see --help)\n", a.c_str());
      return 2;
    }
  }

  auto loaded = vigil::daemon::LoadConfig(config_path);
  if (!loaded.ok()) {
    std::fprintf(stderr, "vigild: %s\n", loaded.status().message().c_str());
    return 1;
  }
  vigil::daemon::Config cfg = std::move(loaded).value();
  foreground = foreground || cfg.foreground;
  char cwd_buf[PATH_MAX];
  std::string cwd = getcwd(cwd_buf, sizeof cwd_buf) ? cwd_buf : "/";
  for (std::string* p : {&cfg.local_socket, &cfg.database_directory, &cfg.log_file, &cfg.pid_file})
    Absolutize(p, cwd);

  // In the background: fork, and let the parent exit with the child's
  // start-up result, so that a failed start is still reported.
  int ready_pipe[2] = {-1, -1};
  if (!foreground) {
    if (pipe2(ready_pipe, O_CLOEXEC) != 0) {
      std::perror("vigild: pipe");
      return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
      std::perror("vigild: fork");
      return 1;
    }
    if (pid > 0) {
      close(ready_pipe[1]);
      char code = 1;
      ssize_t n;
      do n = read(ready_pipe[0], &code, 1);
      while (n < 0 && errno == EINTR);
      return n == 1 ? code : 1;
    }
    close(ready_pipe[0]);
    setsid();
  }
  if (chdir("/") != 0) std::perror("vigild: chdir /");

  vigil::daemon::Logger log;
  if (auto st = log.Open(cfg.log_file, cfg.log_time); !st.ok()) {
    std::fprintf(stderr, "vigild: %s\n", st.message().c_str());
    return 1;
  }
  vigil::daemon::BlockSignals();
  std::vector<int> activated = vigil::daemon::ActivatedSockets();
  vigil::daemon::Server server(cfg, &log);
  if (auto st = server.Start(activated); !st.ok()) {
    log.Log("ERROR: %s", st.message().c_str());
    if (!cfg.log_file.empty()) std::fprintf(stderr, "vigild: %s\n", st.message().c_str());
    Notify("STATUS=start-up failed");
    if (ready_pipe[1] >= 0) {
      char code = 1;
      (void)!write(ready_pipe[1], &code, 1);
    }
    return 1;
  }
  if (!cfg.pid_file.empty()) {
    if (FILE* f = std::fopen(cfg.pid_file.c_str(), "we")) {
      std::fprintf(f, "%d\n", static_cast<int>(getpid()));
      std::fclose(f);
    } else {
      log.Log("WARNING: cannot write PidFile %s: %s", cfg.pid_file.c_str(), std::strerror(errno));
    }
  }
  if (ready_pipe[1] >= 0) {
    char code = 0;
    (void)!write(ready_pipe[1], &code, 1);
    close(ready_pipe[1]);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      if (!cfg.log_file.empty()) dup2(null, 2);
      if (null > 2) close(null);
    }
  }
  Notify("READY=1\nSTATUS=serving");
  bool clean = server.Run();
  Notify("STOPPING=1");
  if (!cfg.pid_file.empty()) unlink(cfg.pid_file.c_str());
  if (!clean) _exit(0);  // workers still stuck in a scan: do not wait for them
  return 0;
}
