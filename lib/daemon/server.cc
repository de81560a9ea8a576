#include "daemon/server.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <mutex>
#include <regex>
#include <string>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include "daemon/protocol.h"
#include "vigil/engine.h"

namespace vigil::daemon {
namespace {

constexpr size_t kRecvSize = 64 * 1024;       // bytes read per recv in the loop
constexpr size_t kMaxQueuedFds = 8;            // descriptors a client may send ahead
constexpr int kShutdownGraceMs = 5000;         // in-flight commands may finish this long
constexpr int kReloadDebounceMs = 1000;        // wait for a database update to settle
constexpr int kLoopTickMs = 250;               // timeout sweep period
constexpr uint64_t kMinStreamRate = 64 * 1024; // bytes/s an INSTREAM must keep up when others wait

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Waits until `fd` is ready for `events` or `timeout_ms` passes.
// Returns >0 ready, 0 timed out, <0 error.
int WaitFd(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  while (true) {
    int r = poll(&p, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r > 0 && (p.revents & (POLLERR | POLLNVAL)) && !(p.revents & events)) return -1;
    return r;
  }
}

// Sends all of `data`, waiting at most `timeout_ms` each time the socket
// buffer is full. False if the client is gone or too slow.
bool SendAll(int fd, std::string_view data, int timeout_ms) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (WaitFd(fd, POLLOUT, timeout_ms) <= 0) return false;
      continue;
    }
    return false;
  }
  return true;
}

// Peak resident set size (VmHWM) in KiB, or 0.
uint64_t PeakRssKb(const char* key = "VmHWM:") {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::strtoull(line.c_str() + std::strlen(key), nullptr, 10);
  return 0;
}

// One client connection. Owned by the loop while it waits for a command,
// by exactly one worker while a command runs.
struct Conn {
  int fd = -1;
  bool unix_socket = false;
  std::string in;          // received bytes not yet consumed
  std::deque<int> fds;     // received descriptors not yet used
  bool eof = false;        // the client closed its side
  bool broken = false;     // an error ended the conversation
  int64_t deadline = 0;    // loop: the next command must arrive before this
  bool in_session = false; // inside IDSESSION
  Delimiter session_delimiter = Delimiter::kNewline;
  uint64_t session_id = 0; // number of the last command of the session

  ~Conn() {
    for (int f : fds) close(f);
    if (fd >= 0) close(fd);
  }

  // Receives what is available (non-blocking), keeping any descriptors
  // passed with SCM_RIGHTS. Returns bytes read, 0 at EOF, -1 with errno.
  ssize_t Receive(size_t max = kRecvSize) {
    size_t old = in.size();
    in.resize(old + max);
    iovec iov{in.data() + old, max};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)];
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (unix_socket) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
    }
    ssize_t n;
    do n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    in.resize(old + (n > 0 ? static_cast<size_t>(n) : 0));
    if (unix_socket && n >= 0) {
      for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        const unsigned char* p = CMSG_DATA(c);
        for (size_t i = 0; i < count; ++i) {
          int f;
          std::memcpy(&f, p + i * sizeof(int), sizeof f);
          if (fds.size() < kMaxQueuedFds) fds.push_back(f);
          else close(f);
        }
      }
    }
    if (n == 0) eof = true;
    return n;
  }
};

// A scanner for the engine a command runs on, rebuilt when the engine
// changes (per worker: Hyperscan scratch is per thread).
class ScannerCache {
 public:
  Scanner& For(const std::shared_ptr<const Engine>& e) {
    if (e != engine_) {
      scanner_.reset();
      engine_ = e;
      scanner_ = std::make_unique<Scanner>(e);
    }
    return *scanner_;
  }
  // Drops a scanner for an engine that is no longer live, freeing it.
  void DropUnless(const std::shared_ptr<const Engine>& live) {
    if (engine_ && engine_ != live) {
      scanner_.reset();
      engine_.reset();
    }
  }

 private:
  std::shared_ptr<const Engine> engine_;
  std::unique_ptr<Scanner> scanner_;
};

// Files of one MULTISCAN, scanned by its worker and by helper jobs.
struct MultiBatch {
  std::shared_ptr<const Engine> engine;
  std::vector<std::string> files;
  std::atomic<size_t> next{0};
  ScanOptions options;
  Conn* conn = nullptr;
  Delimiter delimiter = Delimiter::kNewline;
  int send_timeout_ms = 0;
  std::atomic<uint64_t> infected{0};
  std::mutex mu;             // guards the fields below and writes to conn
  std::condition_variable cv;
  bool closed = false;       // the owner has finished; helpers must not start
  int active = 0;            // helpers running
  bool write_failed = false;
};

struct Job {
  std::unique_ptr<Conn> conn;   // a command to run...
  Request request;
  uint64_t id = 0;              // its IDSESSION number, 0 outside a session
  std::shared_ptr<MultiBatch> batch;  // ...or help with a MULTISCAN
};

}  // namespace

void BlockSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR2}) sigaddset(&set, s);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

std::vector<int> ActivatedSockets() {
  std::vector<int> fds;
  const char* pid = std::getenv("LISTEN_PID");
  const char* n = std::getenv("LISTEN_FDS");
  if (pid && n && std::strtol(pid, nullptr, 10) == static_cast<long>(getpid())) {
    long count = std::strtol(n, nullptr, 10);
    for (long i = 0; i < count && i < 64; ++i) {
      int fd = 3 + static_cast<int>(i);
      fcntl(fd, F_SETFD, FD_CLOEXEC);
      fds.push_back(fd);
    }
  }
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  return fds;
}

struct Server::Impl {
  Config cfg;
  Logger* log;
  std::vector<std::regex> excludes;

  // Engine, swapped by reloads.
  std::mutex engine_mu;
  std::shared_ptr<const Engine> engine;
  std::atomic<uint64_t> generation{0};
  std::string db_fingerprint;

  // Sockets.
  struct Listener {
    int fd;
    bool unix_socket;
  };
  std::vector<Listener> listeners;
  std::string unix_path_created;  // unlinked at exit
  int epfd = -1, sigfd = -1, wakefd = -1, inofd = -1;
  bool accepting = true;
  size_t max_connections = 1024;

  // Loop-owned connections waiting for a command, and those waiting for
  // room in the queue.
  std::unordered_map<Conn*, std::unique_ptr<Conn>> idle;
  std::deque<Job> pending;

  // Work queue and workers. Workers come and go as clamd's do: one starts
  // when a job is queued and none is waiting for work, up to MaxThreads; one
  // that has waited IdleTimeout seconds for a job exits (0: never).
  std::mutex q_mu;
  std::condition_variable q_cv;
  std::deque<Job> queue;
  bool q_closed = false;
  std::vector<std::thread> workers;  // one slot per possible worker
  std::vector<bool> slot_alive;      // under q_mu
  unsigned alive = 0;                // under q_mu: workers started and not exited
  unsigned waiting = 0;              // under q_mu: workers blocked waiting for a job
  std::atomic<unsigned> busy{0};
  std::atomic<size_t> open_connections{0};
  // What each worker is doing, for STATS.
  struct WorkerState {
    Command command = Command::kPing;
    int64_t since = 0;  // 0: idle
    int fd = -1;        // connection being served, for shutdown
  };
  std::mutex ws_mu;
  std::vector<WorkerState> worker_state;

  // Connections handed back by workers (IDSESSION goes on).
  std::mutex back_mu;
  std::vector<std::unique_ptr<Conn>> back;

  // Reloads.
  std::mutex reload_mu;
  std::condition_variable reload_cv;
  bool reload_requested = false;
  bool reload_running = false;
  bool reload_stop = false;
  std::thread reload_thread;
  int64_t reload_due = 0;  // debounced reload after a database change
  int64_t next_self_check = 0;

  std::atomic<bool> stopping{false};

  Impl(Config c, Logger* l) : cfg(std::move(c)), log(l) {}

  ~Impl() {
    for (int fd : {epfd, sigfd, wakefd, inofd})
      if (fd >= 0) close(fd);
    for (auto& l : listeners) close(l.fd);
    if (!unix_path_created.empty()) unlink(unix_path_created.c_str());
  }

  std::shared_ptr<const Engine> CurrentEngine() {
    std::lock_guard<std::mutex> l(engine_mu);
    return engine;
  }

  void Wake() {
    uint64_t one = 1;
    ssize_t r = write(wakefd, &one, sizeof one);
    (void)r;
  }

  int SendTimeoutMs() const { return static_cast<int>(std::max(cfg.send_buf_timeout, 100u)); }
  int ReadTimeoutMs() const { return static_cast<int>(cfg.read_timeout) * 1000; }

  // ---- Database -------------------------------------------------------

  // Names, sizes and times of the database files: a change means reload.
  std::string Fingerprint() {
    std::string fp;
    DIR* d = opendir(cfg.database_directory.c_str());
    if (!d) return "missing";
    std::vector<std::string> rows;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::string p = cfg.database_directory + "/" + e->d_name;
      struct stat st {};
      if (stat(p.c_str(), &st) != 0) continue;
      rows.push_back(std::string(e->d_name) + ":" + std::to_string(st.st_size) + ":" +
                     std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec));
    }
    closedir(d);
    std::sort(rows.begin(), rows.end());
    for (auto& r : rows) fp += r + "\n";
    return fp;
  }

  // Loads and compiles the database beside the live engine, then swaps.
  Status LoadDatabase(bool initial) {
    // Reset the peak-RSS mark so that VmHWM tells this load's peak.
    if (FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
      std::fputs("5", f);
      std::fclose(f);
    }
    std::string fp = Fingerprint();
    auto t0 = std::chrono::steady_clock::now();
    auto r = LoadEngine({cfg.database_directory}, EngineOptions{});
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    uint64_t peak_mb = PeakRssKb() / 1024;
    if (!r.ok()) {
      if (!initial)
        log->Log("Database reload failed, keeping the old database: %s",
                 r.status().message().c_str());
      return r.status();
    }
    std::shared_ptr<const Engine> fresh = std::move(r).value();
    const EngineInfo& info = GetEngineInfo(*fresh);
    for (const auto& w : info.warnings) log->Log("WARNING: %s", w.c_str());
    {
      std::lock_guard<std::mutex> l(engine_mu);
      engine.swap(fresh);
    }
    {
      std::lock_guard<std::mutex> l(engine_mu);
      db_fingerprint = fp;
    }
    generation++;
    q_cv.notify_all();  // idle workers drop scanners of the old engine
    fresh.reset();      // the old engine goes when its last scan ends
    log->Log("%s %llu signatures from %s in %.2f s (peak RSS %llu MB)",
             initial ? "Loaded" : "Database correctly reloaded:",
             static_cast<unsigned long long>(info.known_signatures),
             cfg.database_directory.c_str(), secs, static_cast<unsigned long long>(peak_mb));
    return Status::Ok();
  }

  bool DatabaseChanged() {
    std::string now = Fingerprint();
    std::lock_guard<std::mutex> l(engine_mu);
    return now != db_fingerprint;
  }

  void RequestReload(const char* why) {
    std::lock_guard<std::mutex> l(reload_mu);
    if (!reload_requested) log->Log("Reloading the database (%s)", why);
    reload_requested = true;
    reload_cv.notify_all();
  }

  void ReloadThread() {
    std::unique_lock<std::mutex> l(reload_mu);
    while (true) {
      reload_cv.wait(l, [&] { return reload_requested || reload_stop; });
      if (reload_stop) return;
      reload_requested = false;
      reload_running = true;
      l.unlock();
      Status st = LoadDatabase(false);
      (void)st;  // logged
      l.lock();
      reload_running = false;
    }
  }

  // ---- Sockets --------------------------------------------------------

  Status ListenUnix(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return Status::InvalidArgument("LocalSocket path too long: " + path);
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    struct stat st {};
    if (lstat(path.c_str(), &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) return Status::InvalidArgument(path + ": exists and is not a socket");
      int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      bool live = connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
      close(probe);
      if (live) return Status::InvalidArgument(path + ": another daemon is listening there");
      unlink(path.c_str());  // stale socket from a crashed run
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return Status::IoError(std::string("socket: ") + std::strerror(errno));
    // Create it with no access, then set the configured mode and group.
    mode_t old = umask(0777);
    int r = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    int err = errno;
    umask(old);
    if (r != 0) {
      close(fd);
      return Status::IoError(path + ": bind: " + std::strerror(err));
    }
    unix_path_created = path;
    if (!cfg.local_socket_group.empty()) {
      group* g = getgrnam(cfg.local_socket_group.c_str());
      if (!g) {
        close(fd);
        return Status::InvalidArgument("LocalSocketGroup: no group '" + cfg.local_socket_group + "'");
      }
      if (chown(path.c_str(), static_cast<uid_t>(-1), g->gr_gid) != 0) {
        err = errno;
        close(fd);
        return Status::IoError(path + ": chown: " + std::strerror(err));
      }
    }
    if (chmod(path.c_str(), cfg.local_socket_mode) != 0 ||
        listen(fd, cfg.max_connection_queue_length) != 0) {
      err = errno;
      close(fd);
      return Status::IoError(path + ": " + std::strerror(err));
    }
    listeners.push_back({fd, true});
    log->Log("LOCAL: Unix socket file %s (mode %03o)", path.c_str(), cfg.local_socket_mode);
    return Status::Ok();
  }

  Status ListenTcp(const std::string& host, int port) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    std::string service = std::to_string(port);
    int gr = getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
    if (gr != 0) return Status::InvalidArgument("TCPAddr " + host + ": " + gai_strerror(gr));
    Status result = Status::IoError("TCPAddr " + host + ": no address to bind");
    for (addrinfo* a = res; a; a = a->ai_next) {
      int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
      if (fd < 0) continue;
      int one = 1;
      setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (a->ai_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
      if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, cfg.max_connection_queue_length) != 0) {
        result = Status::IoError("TCP " + host + ":" + service + ": " + std::strerror(errno));
        close(fd);
        continue;
      }
      listeners.push_back({fd, false});
      log->Log("TCP: Bound to %s port %d", host.c_str(), port);
      result = Status::Ok();
      break;
    }
    freeaddrinfo(res);
    return result;
  }

  Status OpenSockets(const std::vector<int>& activated) {
    if (!activated.empty()) {
      for (int fd : activated) {
        sockaddr_storage ss{};
        socklen_t len = sizeof ss;
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0)
          return Status::IoError("activated socket: " + std::string(std::strerror(errno)));
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        listeners.push_back({fd, ss.ss_family == AF_UNIX});
      }
      log->Log("Received %zu socket(s) from systemd", activated.size());
      return Status::Ok();
    }
    if (!cfg.local_socket.empty()) VIGIL_RETURN_IF_ERROR(ListenUnix(cfg.local_socket));
    if (cfg.tcp_socket > 0) {
      std::vector<std::string> addrs = cfg.tcp_addr;
      if (addrs.empty()) addrs.push_back("127.0.0.1");  // loopback unless configured
      for (const auto& a : addrs) VIGIL_RETURN_IF_ERROR(ListenTcp(a, cfg.tcp_socket));
    }
    if (listeners.empty()) return Status::InvalidArgument("no LocalSocket or TCPSocket configured");
    return Status::Ok();
  }

  // ---- Start ----------------------------------------------------------

  Status Start(std::vector<int> activated) {
    if (cfg.database_directory.empty())
      return Status::InvalidArgument("DatabaseDirectory is not set");
    try {
      for (const auto& e : cfg.exclude_path)
        excludes.emplace_back(e, std::regex::extended | std::regex::nosubs);
    } catch (const std::regex_error& e) {
      return Status::InvalidArgument(std::string("ExcludePath: bad regular expression: ") + e.what());
    }
    // Idle connections cost a descriptor each: allow as many as permitted.
    rlimit rl{};
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
      rl.rlim_cur = rl.rlim_max;
      setrlimit(RLIMIT_NOFILE, &rl);
      getrlimit(RLIMIT_NOFILE, &rl);
      size_t reserve = 64 + 2 * cfg.max_threads;
      max_connections = rl.rlim_cur > reserve + 16 ? static_cast<size_t>(rl.rlim_cur) - reserve : 16;
      max_connections = std::min<size_t>(max_connections, 1u << 20);
    }
    VIGIL_RETURN_IF_ERROR(LoadDatabase(true));
    VIGIL_RETURN_IF_ERROR(OpenSockets(activated));

    epfd = epoll_create1(EPOLL_CLOEXEC);
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGTERM, SIGINT, SIGHUP, SIGUSR2}) sigaddset(&set, s);
    sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (epfd < 0 || sigfd < 0 || wakefd < 0) return Status::IoError(std::strerror(errno));
    inofd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    if (inofd >= 0 &&
        inotify_add_watch(inofd, cfg.database_directory.c_str(),
                          IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_CREATE | IN_DELETE |
                              IN_ATTRIB) < 0) {
      close(inofd);
      inofd = -1;
    }
    AddSpecial(sigfd, kTagSignal);
    AddSpecial(wakefd, kTagWake);
    if (inofd >= 0) AddSpecial(inofd, kTagInotify);
    for (size_t i = 0; i < listeners.size(); ++i) AddSpecial(listeners[i].fd, kTagListener + i);

    worker_state.resize(cfg.max_threads);
    workers.resize(cfg.max_threads);
    slot_alive.assign(cfg.max_threads, false);
    reload_thread = std::thread([this] { ReloadThread(); });
    next_self_check = NowMs() + static_cast<int64_t>(cfg.self_check) * 1000;
    if (!cfg.concurrent_database_reload)
      log->Log("ConcurrentDatabaseReload no: ignored, Vigil always loads beside the live engine");
    log->Log("vigild %s ready: %u threads, queue %u, stream limit %llu bytes", VIGIL_VERSION,
             cfg.max_threads, cfg.max_queue, static_cast<unsigned long long>(cfg.stream_max_length));
    return Status::Ok();
  }

  // ---- Event loop -----------------------------------------------------

  static constexpr uint64_t kTagSignal = 1, kTagWake = 2, kTagInotify = 3, kTagListener = 16;
  static constexpr uint64_t kTagMax = 4096;  // smaller values are not Conn pointers

  void AddSpecial(int fd, uint64_t tag) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = tag;
    epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
  }

  void SetAccepting(bool on) {
    if (on == accepting) return;
    accepting = on;
    for (size_t i = 0; i < listeners.size(); ++i) {
      epoll_event ev{};
      ev.events = on ? static_cast<uint32_t>(EPOLLIN) : 0u;
      ev.data.u64 = kTagListener + i;
      epoll_ctl(epfd, EPOLL_CTL_MOD, listeners[i].fd, &ev);
    }
  }

  void UpdateAccepting() {
    SetAccepting(!stopping && pending.empty() && open_connections.load() < max_connections);
  }

  void Accept(const Listener& l) {
    for (int i = 0; i < 64; ++i) {
      if (open_connections.load() >= max_connections) break;
      int fd = accept4(l.fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        if (errno == EMFILE || errno == ENFILE) log->Log("accept: %s", std::strerror(errno));
        break;
      }
      auto c = std::make_unique<Conn>();
      c->fd = fd;
      c->unix_socket = l.unix_socket;
      c->deadline = NowMs() + static_cast<int64_t>(cfg.command_read_timeout) * 1000;
      open_connections++;
      Watch(std::move(c));
    }
  }

  // Gives a connection to the loop to wait for its next command.
  void Watch(std::unique_ptr<Conn> c) {
    Conn* p = c.get();
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = p;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, p->fd, &ev) != 0) {
      Drop(std::move(c));
      return;
    }
    idle.emplace(p, std::move(c));
    // Commands the client sent ahead (IDSESSION pipelining) are read now.
    if (!p->in.empty()) Process(p, false);
  }

  // Takes a connection away from the loop.
  std::unique_ptr<Conn> Unwatch(Conn* p) {
    auto it = idle.find(p);
    std::unique_ptr<Conn> c = std::move(it->second);
    idle.erase(it);
    epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, nullptr);
    return c;
  }

  void Drop(std::unique_ptr<Conn> c) {
    c.reset();
    open_connections--;
  }

  void Close(Conn* p) { Drop(Unwatch(p)); }

  // Replies from the loop: small, so a client that does not read them is
  // dropped rather than waited for long.
  bool LoopReply(Conn* p, std::string_view data) {
    return SendAll(p->fd, data, std::min(SendTimeoutMs(), 200));
  }

  void OnReadable(Conn* p) {
    // The loop holds at most one command's worth of bytes per connection,
    // so idle and slow clients cost little memory however many there are.
    size_t want = p->in.size() <= kMaxCommandLength ? kMaxCommandLength + 1 - p->in.size() : 1;
    ssize_t n = p->Receive(want);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return;
      Close(p);
      return;
    }
    Process(p, static_cast<size_t>(n) < want);
  }

  // Runs the complete commands at the front of p->in.
  void Process(Conn* p, bool drained) {
    while (true) {
      Frame f = NextFrame(p->in, drained);
      if (f.status == Frame::Status::kTooLong) {
        LoopReply(p, Reply(kCommandTooLong, f.delimiter));
        Close(p);
        return;
      }
      if (f.status == Frame::Status::kNeedMore) {
        if (p->eof) Close(p);  // the client left before finishing a command
        return;
      }
      Request req;
      ParseError pe = ParseCommand(f.text, f.delimiter, &req);
      p->in.erase(0, f.consumed);
      uint64_t id = 0;
      if (p->in_session) {
        id = ++p->session_id;
        if (pe != ParseError::kNone || f.delimiter == Delimiter::kPlain ||
            !AllowedInSession(req.command)) {
          Delimiter d = f.delimiter == Delimiter::kPlain ? p->session_delimiter : f.delimiter;
          LoopReply(p, Reply(kInvalidInSession, d, id));
          Close(p);
          return;
        }
      } else if (pe != ParseError::kNone) {
        LoopReply(p, Reply(kUnknownCommand, f.delimiter));
        Close(p);
        return;
      }
      if (!RunInLoop(p, req, id)) return;  // p was closed or handed to a worker
    }
  }

  // Runs a cheap command in the loop, or queues a scanning one. Returns
  // true if the connection stays with the loop for more commands.
  bool RunInLoop(Conn* p, const Request& req, uint64_t id) {
    const Delimiter d = req.delimiter;
    auto answer = [&](std::string_view body) {
      bool ok = LoopReply(p, Reply(body, d, id));
      if (!ok || !p->in_session) {
        Close(p);
        return false;
      }
      p->deadline = NowMs() + ReadTimeoutMs();
      return true;
    };
    switch (req.command) {
      case Command::kPing:
        return answer(kPong);
      case Command::kVersion:
        if (!cfg.enable_version_command) return answer(kCommandUnavailable);
        return answer(VersionText());
      case Command::kVersionCommands:
        if (!cfg.enable_version_command) return answer(kCommandUnavailable);
        return answer(VersionText() + "| COMMANDS: " + std::string(CommandList()));
      case Command::kStats:
        if (!cfg.enable_stats_command) return answer(kCommandUnavailable);
        return answer(StatsText());
      case Command::kReload:
        if (!cfg.enable_reload_command) return answer(kCommandUnavailable);
        RequestReload("RELOAD command");
        return answer(kReloading);
      case Command::kShutdown:
        if (!cfg.enable_shutdown_command) return answer(kCommandUnavailable);
        log->Log("SHUTDOWN command received");
        stopping = true;
        Close(p);
        return false;
      case Command::kIdSession:
        p->in_session = true;
        p->session_delimiter = d;
        p->deadline = NowMs() + ReadTimeoutMs();
        return true;
      case Command::kEnd:
        // END closes a session; outside one, clamd does not know it.
        if (!p->in_session) LoopReply(p, Reply(kUnknownCommand, d));
        Close(p);
        return false;
      default:
        break;
    }
    Job job;
    job.conn = Unwatch(p);
    job.request = req;
    job.id = id;
    if (!pending.empty() || !TryQueue(job)) {
      pending.push_back(std::move(job));
      UpdateAccepting();
    }
    return false;
  }

  std::string VersionText() const { return std::string("Vigil ") + VIGIL_VERSION; }

  // STATS in clamd's layout, with Vigil's numbers.
  std::string StatsText() {
    int64_t now = NowMs();
    size_t queued;
    {
      std::lock_guard<std::mutex> l(q_mu);
      queued = queue.size() + pending.size();
    }
    std::string threads;
    unsigned live = 0, idle = 0;
    {
      std::lock_guard<std::mutex> l(q_mu);
      idle = waiting;
    }
    {
      std::lock_guard<std::mutex> l(ws_mu);
      for (const auto& w : worker_state) {
        if (w.since == 0) continue;
        ++live;
        char line[96];
        std::snprintf(line, sizeof line, "\t%.*s %.6f \n", static_cast<int>(CommandName(w.command).size()),
                      CommandName(w.command).data(), static_cast<double>(now - w.since) / 1000.0);
        threads += line;
      }
    }
    threads += "\tSTATS 0.000000 \n";
    double rss_mb = static_cast<double>(PeakRssKb("VmRSS:")) / 1024.0;
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "POOLS: 1\n\nSTATE: VALID PRIMARY\nTHREADS: live %u  idle %u max %u idle-timeout %u\n"
                  "QUEUE: %zu items\n",
                  live + 1, idle, cfg.max_threads, cfg.idle_timeout, queued);
    std::string out = buf;
    out += threads;
    std::snprintf(buf, sizeof buf,
                  "\nMEMSTATS: heap N/A mmap N/A used N/A free N/A releasable N/A pools 1 "
                  "pools_used %.3fM pools_total %.3fM\nEND",
                  rss_mb, rss_mb);
    out += buf;
    return out;
  }

  bool TryQueue(Job& job) {
    std::lock_guard<std::mutex> l(q_mu);
    if (queue.size() >= cfg.max_queue) return false;
    queue.push_back(std::move(job));
    StartWorkersLocked();
    q_cv.notify_one();
    return true;
  }

  // Starts workers for queued jobs that no waiting worker will take, up to
  // MaxThreads. Called with q_mu held.
  void StartWorkersLocked() {
    while (!q_closed && alive < cfg.max_threads && queue.size() > waiting) {
      unsigned slot = 0;
      while (slot < slot_alive.size() && slot_alive[slot]) ++slot;
      if (slot == slot_alive.size()) return;
      // A thread that left this slot has released q_mu and is returning.
      if (workers[slot].joinable()) workers[slot].join();
      slot_alive[slot] = true;
      ++alive;
      ++waiting;  // counted as waiting until it takes a job
      try {
        workers[slot] = std::thread([this, slot] { Worker(slot, /*counted_waiting=*/true); });
      } catch (const std::system_error& e) {  // out of threads: the ones alive carry on
        slot_alive[slot] = false;
        --alive;
        --waiting;
        if (alive == 0) log->Log("Cannot start a worker thread: %s", e.what());
        return;
      }
    }
  }

  void DrainPending() {
    while (!pending.empty() && TryQueue(pending.front())) pending.pop_front();
    UpdateAccepting();
  }

  void OnWake() {
    uint64_t v;
    while (read(wakefd, &v, sizeof v) > 0) {
    }
    std::vector<std::unique_ptr<Conn>> got;
    {
      std::lock_guard<std::mutex> l(back_mu);
      got.swap(back);
    }
    for (auto& c : got) {
      if (c->in.capacity() > 2 * kMaxCommandLength) c->in.shrink_to_fit();
      c->deadline = NowMs() + ReadTimeoutMs();
      Watch(std::move(c));
    }
    DrainPending();
  }

  void OnSignal() {
    signalfd_siginfo si;
    while (read(sigfd, &si, sizeof si) == sizeof si) {
      switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
          log->Log("Received signal %u, stopping", si.ssi_signo);
          stopping = true;
          break;
        case SIGUSR2:
          RequestReload("SIGUSR2");
          break;
        case SIGHUP: {
          Status st = log->Reopen();
          log->Log(st.ok() ? "SIGHUP: log file reopened" : "SIGHUP: %s", st.message().c_str());
          break;
        }
        default:
          break;
      }
    }
  }

  void OnInotify() {
    char buf[4096];
    while (read(inofd, buf, sizeof buf) > 0) {
    }
    reload_due = NowMs() + kReloadDebounceMs;
  }

  void Sweep(int64_t now) {
    std::vector<Conn*> expired;
    for (auto& [p, c] : idle)
      if (now >= c->deadline) expired.push_back(p);
    for (Conn* p : expired) {
      LoopReply(p, kReadTimedOut);
      Close(p);
    }
    if (reload_due && now >= reload_due) {
      reload_due = 0;
      if (DatabaseChanged()) RequestReload("database directory changed");
    }
    if (cfg.self_check > 0 && now >= next_self_check) {
      next_self_check = now + static_cast<int64_t>(cfg.self_check) * 1000;
      if (DatabaseChanged()) RequestReload("SelfCheck: database changed");
    }
  }

  bool Run() {
    epoll_event events[128];
    int64_t next_sweep = NowMs() + kLoopTickMs;
    while (!stopping) {
      int n = epoll_wait(epfd, events, 128, kLoopTickMs);
      for (int i = 0; i < n && !stopping; ++i) {
        uint64_t tag = events[i].data.u64;
        if (tag == kTagSignal) OnSignal();
        else if (tag == kTagWake) OnWake();
        else if (tag == kTagInotify) OnInotify();
        else if (tag >= kTagListener && tag < kTagMax) Accept(listeners[tag - kTagListener]);
        else {
          auto* p = static_cast<Conn*>(events[i].data.ptr);
          if (idle.count(p)) OnReadable(p);
        }
      }
      int64_t now = NowMs();
      if (now >= next_sweep) {
        Sweep(now);
        next_sweep = now + kLoopTickMs;
      }
      UpdateAccepting();
    }
    return Stop();
  }

  // Clean stop: no new work, in-flight commands get kShutdownGraceMs.
  bool Stop() {
    SetAccepting(false);
    for (auto& l : listeners) close(l.fd);
    listeners.clear();
    if (!unix_path_created.empty()) {
      unlink(unix_path_created.c_str());
      unix_path_created.clear();
    }
    while (!idle.empty()) Close(idle.begin()->first);
    while (!pending.empty()) {
      Drop(std::move(pending.front().conn));
      pending.pop_front();
    }
    {
      std::lock_guard<std::mutex> l(q_mu);
      q_closed = true;
      for (auto& j : queue)
        if (j.conn) Drop(std::move(j.conn));
      queue.clear();
    }
    q_cv.notify_all();
    {
      std::lock_guard<std::mutex> l(reload_mu);
      reload_stop = true;
    }
    reload_cv.notify_all();

    int64_t deadline = NowMs() + kShutdownGraceMs;
    bool cut = false;
    while (busy.load() > 0) {
      int64_t now = NowMs();
      if (now >= deadline) {
        if (cut) break;
        // Interrupt the I/O of commands still running.
        log->Log("Stopping: %u command(s) still running, closing their connections", busy.load());
        std::lock_guard<std::mutex> l(ws_mu);
        for (auto& w : worker_state)
          if (w.fd >= 0) shutdown(w.fd, SHUT_RDWR);
        cut = true;
        deadline = now + 2000;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    bool clean = busy.load() == 0;
    {
      std::lock_guard<std::mutex> l(reload_mu);
      clean = clean && !reload_running;
    }
    if (!clean) {
      log->Log("Stopping with work still running");
      for (auto& w : workers)
        if (w.joinable()) w.detach();
      reload_thread.detach();
      return false;
    }
    for (auto& w : workers)
      if (w.joinable()) w.join();
    reload_thread.join();
    std::vector<std::unique_ptr<Conn>> rest;
    {
      std::lock_guard<std::mutex> l(back_mu);
      rest.swap(back);
    }
    for (auto& c : rest) Drop(std::move(c));
    log->Log("vigild stopped");
    return true;
  }

  // ---- Workers --------------------------------------------------------

  void Worker(unsigned index, bool counted_waiting) {
    ScannerCache scanners;
    std::string stream_buf;
    uint64_t seen_generation = generation.load();
    const auto idle = std::chrono::seconds(cfg.idle_timeout);
    while (true) {
      Job job;
      {
        std::unique_lock<std::mutex> l(q_mu);
        if (!counted_waiting) ++waiting;
        counted_waiting = false;
        auto ready = [&] { return q_closed || !queue.empty() || generation.load() != seen_generation; };
        bool woken = true;
        if (cfg.idle_timeout == 0) q_cv.wait(l, ready);
        else woken = q_cv.wait_for(l, idle, ready);
        --waiting;
        if (!woken || (queue.empty() && q_closed)) {  // idle for IdleTimeout, or shutting down
          slot_alive[index] = false;
          --alive;
          return;
        }
        if (queue.empty()) {
          seen_generation = generation.load();
          l.unlock();
          scanners.DropUnless(CurrentEngine());
          continue;
        }
        job = std::move(queue.front());
        queue.pop_front();
      }
      Wake();  // room in the queue: the loop may queue pending commands
      busy++;
      {
        std::lock_guard<std::mutex> l(ws_mu);
        worker_state[index].command = job.batch ? Command::kMultiScan : job.request.command;
        worker_state[index].since = NowMs();
        worker_state[index].fd = job.conn ? job.conn->fd : -1;  // helpers write to their owner's
      }
      if (job.batch) Help(*job.batch, scanners);
      else RunJob(job, scanners, stream_buf);
      {
        std::lock_guard<std::mutex> l(ws_mu);
        worker_state[index] = WorkerState{};
      }
      busy--;
      if (stream_buf.capacity() > (16u << 20)) std::string().swap(stream_buf);
      scanners.DropUnless(CurrentEngine());
    }
  }

  void RunJob(Job& job, ScannerCache& scanners, std::string& stream_buf) {
    Conn& c = *job.conn;
    auto eng = CurrentEngine();
    Scanner& scanner = scanners.For(eng);
    bool keep = false;
    switch (job.request.command) {
      case Command::kInstream:
        keep = Instream(c, job, scanner, stream_buf);
        break;
      case Command::kFildes:
        keep = Fildes(c, job, scanner);
        break;
      case Command::kMultiScan:
        keep = MultiScan(c, job, eng, scanner);
        break;
      default:
        keep = ScanPath(c, job, scanner);
        break;
    }
    if (keep && c.in_session && !stopping) {
      {
        std::lock_guard<std::mutex> l(back_mu);
        back.push_back(std::move(job.conn));
      }
      Wake();
    } else {
      job.conn.reset();
      open_connections--;
      Wake();  // a connection slot is free
    }
  }

  bool Send(Conn& c, std::string_view data) {
    if (!SendAll(c.fd, data, SendTimeoutMs())) {
      c.broken = true;
      return false;
    }
    return true;
  }

  // Progress of one INSTREAM. A stream still slower than kMinStreamRate
  // after ReadTimeout gives up its worker when other commands wait for
  // one, so that slow-drip clients cannot hold the pool.
  struct Pace {
    int64_t start = NowMs();
    uint64_t bytes = 0;
  };

  bool TooSlow(const Pace& p) {
    int64_t elapsed = NowMs() - p.start;
    if (elapsed < ReadTimeoutMs()) return false;
    if (p.bytes * 1000 / static_cast<uint64_t>(std::max<int64_t>(elapsed, 1)) >= kMinStreamRate) return false;
    std::lock_guard<std::mutex> l(q_mu);
    return !queue.empty();
  }

  // Waits until the client sends data. True when there is some; false on
  // ReadTimeout or a too slow stream (the client is told) or an error.
  bool WaitReadable(Conn& c, Pace* pace) {
    int64_t deadline = NowMs() + ReadTimeoutMs();
    while (true) {
      if (pace && TooSlow(*pace)) {
        log->Log("INSTREAM: %llu bytes in %lld ms while commands wait: dropped as too slow",
                 static_cast<unsigned long long>(pace->bytes), static_cast<long long>(NowMs() - pace->start));
        SendAll(c.fd, kReadTimedOut, SendTimeoutMs());
        return false;
      }
      int64_t left = deadline - NowMs();
      if (left <= 0) {
        SendAll(c.fd, kReadTimedOut, SendTimeoutMs());
        return false;
      }
      int w = WaitFd(c.fd, POLLIN, static_cast<int>(pace ? std::min<int64_t>(left, 500) : left));
      if (w > 0) return true;
      if (w < 0) return false;
    }
  }

  // Waits for and receives more data from the client. False on timeout
  // (the client is told), EOF or error.
  bool ReceiveMore(Conn& c, size_t max = kRecvSize, Pace* pace = nullptr) {
    while (true) {
      if (pace && TooSlow(*pace)) return WaitReadable(c, pace);  // tells and fails
      ssize_t n = c.Receive(max);
      if (n > 0) {
        if (pace) pace->bytes += static_cast<uint64_t>(n);
        return true;
      }
      if (n == 0) return false;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
      if (!WaitReadable(c, pace)) return false;
    }
  }

  ScanOptions Options(bool all_match) const {
    ScanOptions o;
    o.all_match = all_match;
    o.max_filesize = cfg.max_file_size;
    // The container limits, as clamd applies them (0: clamd's "no limit").
    o.max_scansize = cfg.max_scan_size ? cfg.max_scan_size : UINT64_MAX;
    o.max_files = cfg.max_files ? cfg.max_files : UINT64_MAX;
    o.max_recursion = cfg.max_recursion ? cfg.max_recursion : UINT32_MAX;
    o.max_scantime_ms = cfg.max_scan_time ? static_cast<uint32_t>(std::min<uint64_t>(cfg.max_scan_time, UINT32_MAX))
                                          : UINT32_MAX;
    o.scan_archive = cfg.scan_archive;
    o.alert_exceeds_max = cfg.alert_exceeds_max;
    o.alert_encrypted = cfg.alert_encrypted;
    return o;
  }

  // INSTREAM: chunks of <big-endian uint32 length><data>, ended by a zero length.
  bool Instream(Conn& c, const Job& job, Scanner& scanner, std::string& buf) {
    const Delimiter d = job.request.delimiter;
    buf.clear();
    Pace pace;
    pace.bytes = c.in.size();
    while (true) {
      while (c.in.size() < 4)
        if (!ReceiveMore(c, kRecvSize, &pace)) return false;
      uint32_t len = (static_cast<uint32_t>(static_cast<uint8_t>(c.in[0])) << 24) |
                     (static_cast<uint32_t>(static_cast<uint8_t>(c.in[1])) << 16) |
                     (static_cast<uint32_t>(static_cast<uint8_t>(c.in[2])) << 8) |
                     static_cast<uint32_t>(static_cast<uint8_t>(c.in[3]));
      c.in.erase(0, 4);
      if (len == 0) break;
      if (static_cast<uint64_t>(buf.size()) + len > cfg.stream_max_length) {
        log->Log("INSTREAM: size limit (%llu bytes) exceeded",
                 static_cast<unsigned long long>(cfg.stream_max_length));
        Send(c, Reply(kSizeLimitExceeded, d, job.id));
        return false;
      }
      size_t off = buf.size();
      buf.resize(off + len);
      size_t have = std::min<size_t>(c.in.size(), len);
      std::memcpy(buf.data() + off, c.in.data(), have);
      c.in.erase(0, have);
      off += have;
      // The rest of the chunk goes straight into the stream buffer.
      while (off < buf.size()) {
        ssize_t n = recv(c.fd, buf.data() + off, buf.size() - off, MSG_DONTWAIT);
        if (n > 0) {
          off += static_cast<size_t>(n);
          pace.bytes += static_cast<uint64_t>(n);
          continue;
        }
        if (n == 0) return false;
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return false;
        if (!WaitReadable(c, &pace)) return false;
      }
    }
    ScanResult r = scanner.ScanBuffer(buf, Options(false));
    if (r.verdict == Verdict::kInfected) log->Log("stream: %s FOUND", r.names.front().c_str());
    return Send(c, ResultLines("stream", r, false, d, job.id));
  }

  // FILDES: one byte of data follows, carrying a descriptor (SCM_RIGHTS).
  bool Fildes(Conn& c, const Job& job, Scanner& scanner) {
    const Delimiter d = job.request.delimiter;
    while (c.in.empty())
      if (!ReceiveMore(c, 1)) return false;
    c.in.erase(0, 1);
    if (c.fds.empty()) {
      Send(c, Reply(kNoFdReceived, d, job.id));
      return false;
    }
    int fd = c.fds.front();
    c.fds.pop_front();
    std::string name = "fd[" + std::to_string(fd) + "]";
    struct stat st {};
    ScanResult r;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      // Pipes and sockets could stall a worker forever: regular files only.
      r.verdict = Verdict::kError;
      r.error_text = "Not supported file type";
    } else {
      // The client's offset may be anywhere (clamdscan reuses descriptors);
      // the whole file is scanned, as clamd does.
      lseek(fd, 0, SEEK_SET);
      r = scanner.ScanFd(fd, Options(false));
    }
    close(fd);
    if (r.verdict == Verdict::kInfected) log->Log("%s: %s FOUND", name.c_str(), r.names.front().c_str());
    return Send(c, ResultLines(name, r, false, d, job.id));
  }

  bool Excluded(const std::string& path) const {
    for (const auto& re : excludes)
      if (std::regex_search(path, re)) return true;
    return false;
  }

  // Walks a directory (not following symlinks inside it, as clamd by
  // default), calling file(path) per regular file and error(path, reason)
  // for directories that cannot be read. Stops when a callback says false.
  template <typename FileFn, typename ErrFn>
  bool WalkDir(const std::string& dir, unsigned depth, FileFn& file, ErrFn& error) {
    if (stopping) return false;
    DIR* dp = opendir(dir.c_str());
    if (!dp) return error(dir, "Can't open directory.");
    std::vector<std::string> names;
    while (dirent* e = readdir(dp)) {
      if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
      names.emplace_back(e->d_name);
    }
    closedir(dp);
    std::sort(names.begin(), names.end());
    std::string base = dir.ends_with('/') ? dir : dir + "/";
    for (const auto& n : names) {
      std::string child = base + n;
      struct stat st {};
      if (lstat(child.c_str(), &st) != 0) continue;
      if (Excluded(child)) continue;
      if (S_ISDIR(st.st_mode)) {
        if (depth + 1 > cfg.max_directory_recursion) continue;
        if (!WalkDir(child, depth + 1, file, error)) return false;
      } else if (S_ISREG(st.st_mode)) {
        if (!file(child)) return false;
      }
    }
    return true;
  }

  // SCAN, CONTSCAN, ALLMATCHSCAN of a file or directory.
  bool ScanPath(Conn& c, const Job& job, Scanner& scanner) {
    const Request& req = job.request;
    const Delimiter d = req.delimiter;
    const std::string& path = req.argument;
    const bool all = req.command == Command::kAllMatchScan;
    const bool stop_at_first = req.command != Command::kContScan;
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return Send(c, Reply(PathCheckFailure(path, errno), d, job.id));
    ScanOptions opt = Options(all);
    if (!S_ISDIR(st.st_mode)) {
      if (Excluded(path)) return Send(c, Reply(OkLine(path), d, job.id));
      ScanResult r = scanner.ScanFile(path, opt);
      if (r.verdict == Verdict::kInfected) log->Log("%s: %s FOUND", path.c_str(), r.names.front().c_str());
      return Send(c, ResultLines(path, r, all, d, job.id));
    }
    uint64_t infected = 0;
    auto on_file = [&](const std::string& f) {
      ScanResult r = scanner.ScanFile(f, opt);
      if (r.verdict == Verdict::kClean || r.verdict == Verdict::kSkipped) return true;
      if (r.verdict == Verdict::kInfected) {
        ++infected;
        log->Log("%s: %s FOUND", f.c_str(), r.names.front().c_str());
      }
      if (!Send(c, ResultLines(f, r, all, d, job.id))) return false;
      return !(stop_at_first && r.verdict == Verdict::kInfected);
    };
    auto on_error = [&](const std::string& p, const char* reason) {
      return Send(c, Reply(ErrorLine(p, reason), d, job.id));
    };
    if (!Excluded(path)) WalkDir(path, 0, on_file, on_error);
    if (c.broken) return false;
    if (infected == 0) return Send(c, Reply(OkLine(path), d, job.id));
    return true;
  }

  // MULTISCAN: the directory's files are scanned by this worker and by up
  // to MaxThreads-1 helper jobs; replies come in completion order.
  bool MultiScan(Conn& c, const Job& job, const std::shared_ptr<const Engine>& eng, Scanner& scanner) {
    const Request& req = job.request;
    const Delimiter d = req.delimiter;
    const std::string& path = req.argument;
    struct stat st {};
    if (stat(path.c_str(), &st) != 0) return Send(c, Reply(PathCheckFailure(path, errno), d, job.id));
    if (!S_ISDIR(st.st_mode)) return ScanPath(c, job, scanner);
    auto batch = std::make_shared<MultiBatch>();
    batch->engine = eng;
    batch->options = Options(false);
    batch->conn = &c;
    batch->delimiter = d;
    batch->send_timeout_ms = SendTimeoutMs();
    auto on_file = [&](const std::string& f) {
      batch->files.push_back(f);
      return true;
    };
    auto on_error = [&](const std::string& p, const char* reason) {
      return Send(c, Reply(ErrorLine(p, reason), d, job.id));
    };
    if (!Excluded(path)) WalkDir(path, 0, on_file, on_error);
    if (c.broken) return false;
    size_t helpers = std::min<size_t>(cfg.max_threads - 1, batch->files.size() / 2);
    {
      std::lock_guard<std::mutex> l(q_mu);
      for (size_t i = 0; i < helpers && !q_closed; ++i) {
        Job h;
        h.batch = batch;
        queue.push_front(std::move(h));  // helpers go first: their owner is waiting
      }
      StartWorkersLocked();
    }
    q_cv.notify_all();
    ScanFiles(*batch, scanner);
    {
      std::unique_lock<std::mutex> l(batch->mu);
      batch->closed = true;
      batch->cv.wait(l, [&] { return batch->active == 0; });
      if (batch->write_failed) c.broken = true;
    }
    if (c.broken) return false;
    if (batch->infected.load() == 0) return Send(c, Reply(OkLine(path), d, job.id));
    return true;
  }

  void ScanFiles(MultiBatch& b, Scanner& scanner) {
    while (!stopping) {
      size_t i = b.next.fetch_add(1);
      if (i >= b.files.size()) return;
      ScanResult r = scanner.ScanFile(b.files[i], b.options);
      if (r.verdict == Verdict::kClean || r.verdict == Verdict::kSkipped) continue;
      if (r.verdict == Verdict::kInfected) {
        b.infected++;
        log->Log("%s: %s FOUND", b.files[i].c_str(), r.names.front().c_str());
      }
      std::lock_guard<std::mutex> l(b.mu);
      if (b.write_failed) return;
      if (!SendAll(b.conn->fd, ResultLines(b.files[i], r, false, b.delimiter, 0), b.send_timeout_ms)) {
        b.write_failed = true;
        return;
      }
    }
  }

  void Help(MultiBatch& b, ScannerCache& scanners) {
    {
      std::lock_guard<std::mutex> l(b.mu);
      if (b.closed || b.next.load() >= b.files.size()) return;
      ++b.active;
    }
    ScanFiles(b, scanners.For(b.engine));
    std::lock_guard<std::mutex> l(b.mu);
    --b.active;
    b.cv.notify_all();
  }
};

Server::Server(Config config, Logger* log) : impl_(std::make_unique<Impl>(std::move(config), log)) {}
Server::~Server() = default;
Status Server::Start(std::vector<int> activated) { return impl_->Start(std::move(activated)); }
bool Server::Run() { return impl_->Run(); }

}  // namespace vigil::daemon
