// kiln_paced: the half-peak run's open-loop load generator in C++, so that it takes little of the
// cores it shares with the server (bench/lib/paced.mjs, the Node generator it replaces when built,
// costs ~90-125 µs of CPU per request; see docs/benchmarks.md, "Load generators").
//
//   kiln_paced --url http://127.0.0.1:PORT/path --bodies FILE --rate R --seconds S
//              [--connections 32] [--content-type application/json] [--max-bodies N]
//
// The same schedule and figures as paced.mjs: request k is due at start + k/rate whatever happened
// to the earlier ones, goes out on the least recently used free keep-alive connection (one request
// in flight on each) or waits in a FIFO for the first one free, and its latency runs from its due
// time, so the generator's own lag and the wait for a connection count against the server. Bodies
// are the file's non-empty lines, cycled. Responses are framed by Content-Length (or chunked); any
// status but 200, a dropped connection or a request unanswered DRAIN after the last due time is an
// error. Prints one JSON line with paced.mjs's fields (ms; generatorCpuUsPerRequest in µs).
//
// One thread, no runtime, no allocation per request. Where the kernel stamps received bytes with
// their arrival time (Linux, SO_TIMESTAMPNS; TCP gives the time of the last segment a read took),
// the thread wakes only on the schedule: it sleeps until the next due time, reads what has arrived
// (a zero-timeout poll), timing each response by its stamp, not by when it was read, then sends.
// That halves the wake-ups, which are most of a paced generator's CPU beyond the kernel's loopback
// work (see docs/benchmarks.md). Elsewhere, or with --wake responses, it sleeps in poll() until the
// next due time or a response, and times a response when it reads it. "wake" in the output says which.
#include <arpa/inet.h>
#include <cerrno>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/epoll.h>
#include <sys/prctl.h>
#endif

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <stdexcept>
#include <string>
#include <time.h>
#include <vector>

namespace {

// After the last due time, how long outstanding requests may take to finish (as paced.mjs).
constexpr int64_t kDrainNs = 10'000'000'000;
// Read buffer per connection: a predict response is a few hundred bytes; larger ones grow it.
constexpr size_t kReadChunk = 16 * 1024;

struct Options {
  std::string host;
  std::string port;
  std::string target;  // path and query
  std::string bodies_path;
  std::string content_type = "application/json";
  double rate = 0;
  double seconds = 0;
  int connections = 32;
  size_t max_bodies = SIZE_MAX;
  bool wake_on_responses = false;  // --wake responses: also where receive times are not available
};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "kiln_paced: %s\n", what.c_str());
  std::exit(2);
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Sleeps until the monotonic time t_ns (ns).
void SleepUntil(int64_t t_ns) {
  const timespec ts{time_t(t_ns / 1'000'000'000), long(t_ns % 1'000'000'000)};
#if defined(__linux__)
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
#else
  const int64_t wait = t_ns - NowNs();
  if (wait > 0) {
    const timespec rel{time_t(wait / 1'000'000'000), long(wait % 1'000'000'000)};
    nanosleep(&rel, nullptr);
  }
#endif
}

// Asks the kernel to stamp what the socket receives with its arrival time (Linux: TCP gives the
// time of the last segment a read consumed, SCM_TIMESTAMPNS, CLOCK_REALTIME).
bool StampReceives(int fd) {
#if defined(__linux__)
  const int one = 1;
  return setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one) == 0;
#else
  (void)fd;
  return false;
#endif
}

// The monotonic time (ns) the kernel stamped on a read, or -1.
int64_t ReceivedAt(msghdr& msg) {
#if defined(__linux__)
  for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_TIMESTAMPNS) continue;
    timespec stamp, real;
    std::memcpy(&stamp, CMSG_DATA(cm), sizeof stamp);
    clock_gettime(CLOCK_REALTIME, &real);
    const int64_t mono = NowNs();
    return mono - ((int64_t(real.tv_sec) - stamp.tv_sec) * 1'000'000'000 + (real.tv_nsec - stamp.tv_nsec));
  }
#else
  (void)msg;
#endif
  return -1;
}

double CpuUs() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

// http://host:port/path only: the bench serves on loopback, plain HTTP/1.1.
void ParseUrl(const std::string& url, Options& o) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0) Fail("only http:// URLs: " + url);
  const size_t slash = url.find('/', scheme.size());
  const std::string authority = url.substr(scheme.size(), slash == std::string::npos ? std::string::npos : slash - scheme.size());
  o.target = slash == std::string::npos ? "/" : url.substr(slash);
  const size_t colon = authority.rfind(':');
  if (colon == std::string::npos) {
    o.host = authority;
    o.port = "80";
  } else {
    o.host = authority.substr(0, colon);
    o.port = authority.substr(colon + 1);
  }
  if (o.host.size() > 2 && o.host.front() == '[') o.host = o.host.substr(1, o.host.size() - 2);
}

Options ParseArgs(int argc, char** argv) {
  Options o;
  std::string url;
  for (int i = 1; i < argc; i++) {
    const std::string a = argv[i];
    if (i + 1 >= argc) Fail("missing value for " + a);
    const char* v = argv[++i];
    if (a == "--url") url = v;
    else if (a == "--bodies") o.bodies_path = v;
    else if (a == "--rate") o.rate = std::atof(v);
    else if (a == "--seconds") o.seconds = std::atof(v);
    else if (a == "--connections") o.connections = std::atoi(v);
    else if (a == "--content-type") o.content_type = v;
    else if (a == "--max-bodies") o.max_bodies = std::strtoull(v, nullptr, 10);
    else if (a == "--wake") o.wake_on_responses = std::string(v) == "responses";
    else Fail("unknown option " + a);
  }
  if (url.empty() || o.bodies_path.empty()) Fail("--url and --bodies are required");
  if (!(o.rate > 0) || !(o.seconds > 0) || o.connections < 1) Fail("--rate, --seconds and --connections must be positive");
  ParseUrl(url, o);
  return o;
}

// One prebuilt POST per body line.
std::vector<std::string> Requests(const Options& o) {
  std::ifstream in(o.bodies_path, std::ios::binary);
  if (!in) Fail("cannot read " + o.bodies_path);
  std::vector<std::string> out;
  std::string line;
  const std::string host = o.host.find(':') != std::string::npos ? "[" + o.host + "]:" + o.port : o.host + ":" + o.port;
  while (out.size() < o.max_bodies && std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    out.push_back("POST " + o.target + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Type: " + o.content_type +
                  "\r\nContent-Length: " + std::to_string(line.size()) + "\r\n\r\n" + line);
  }
  if (out.empty()) Fail("no bodies in " + o.bodies_path);
  return out;
}

int Connect(const addrinfo* ai) {
  const int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
  if (fd < 0) return -1;
  if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
    close(fd);
    return -1;
  }
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
#if defined(SO_NOSIGPIPE)
  setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// Whether the text at p starts with `name` (lower case), ignoring case.
bool HeaderIs(const char* p, const char* end, const char* name) {
  const size_t n = std::strlen(name);
  if (size_t(end - p) < n || (p[0] | 0x20) != name[0]) return false;
  for (size_t i = 0; i < n; i++)
    if (std::tolower(static_cast<unsigned char>(p[i])) != name[i]) return false;
  return true;
}

// Length of the first complete response in [p, p+n), 0 while incomplete, -1 if it cannot be
// framed. Sets *status, and *close when the server says it closes the connection after it.
long ResponseLength(const char* p, size_t n, int* status, bool* close) {
  const char* end = p + n;
  const char* head_end = static_cast<const char*>(memmem(p, n, "\r\n\r\n", 4));
  if (!head_end) return 0;
  if (head_end - p < 12 || std::memcmp(p, "HTTP/1.", 7) != 0) return -1;
  *status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
  const char* body = head_end + 4;
  long content_length = -1;
  bool chunked = false;
  for (const char* line = std::find(p, head_end, '\n') + 1; line < head_end; line = std::find(line, head_end, '\n') + 1) {
    if (HeaderIs(line, head_end, "content-length:")) {
      content_length = std::strtol(line + 15, nullptr, 10);
    } else if (HeaderIs(line, head_end, "connection:")) {
      const char* eol = std::find(line, head_end, '\r');
      for (const char* c = line + 11; c + 5 <= eol; c++)
        if (HeaderIs(c, eol, "close")) *close = true;
    } else if (HeaderIs(line, head_end, "transfer-encoding:")) {
      const char* eol = std::find(line, head_end, '\r');
      for (const char* c = line + 18; c + 7 <= eol; c++)
        if (HeaderIs(c, eol, "chunked")) chunked = true;
    }
  }
  if (content_length >= 0) return end - body >= content_length ? long(body - p) + content_length : 0;
  if (*status == 204 || *status == 304) return long(body - p);
  if (!chunked) return -1;
  for (const char* at = body;;) {  // chunk-size CRLF data CRLF ... 0 CRLF CRLF (no trailers)
    const char* eol = nullptr;
    for (const char* q = at; q + 2 <= end; q++)
      if (q[0] == '\r' && q[1] == '\n') {
        eol = q;
        break;
      }
    if (!eol) return 0;
    char* parsed = nullptr;
    const long size = std::strtol(at, &parsed, 16);
    if (parsed == at || size < 0) return -1;
    if (size == 0) return end - eol >= 4 ? long(eol + 4 - p) : 0;
    at = eol + 2 + size + 2;
    if (at > end) return 0;
  }
}

struct Conn {
  int fd = -1;
  long k = -1;          // request in flight, -1 when idle
  int64_t sent_at = 0;  // ns
  size_t write_off = 0; // bytes of request k already written
  bool queued = false;  // in the idle queue
  std::string in;       // unparsed response bytes
};

double Percentile(std::vector<double>& sorted, double p) {
  if (sorted.empty()) return NAN;
  const double rank = std::ceil(p / 100 * double(sorted.size())) - 1;
  return sorted[size_t(std::min(double(sorted.size() - 1), std::max(0.0, rank)))];
}

void PrintNumber(const char* name, double v, bool last = false) {
  if (std::isfinite(v)) std::printf("\"%s\":%.10g%s", name, v, last ? "" : ",");
  else std::printf("\"%s\":null%s", name, last ? "" : ",");
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = ParseArgs(argc, argv);
  signal(SIGPIPE, SIG_IGN);
#if defined(__linux__)
  // The default 50 µs timer slack would send each request up to that late (charged to the server).
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
#endif
  const std::vector<std::string> reqs = Requests(o);

  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* ai = nullptr;
  if (getaddrinfo(o.host.c_str(), o.port.c_str(), &hints, &ai) != 0 || !ai) Fail("cannot resolve " + o.host);
  std::vector<Conn> conns(o.connections);
  bool stamped = !o.wake_on_responses;
  for (Conn& c : conns) {
    c.fd = Connect(ai);
    if (c.fd < 0) Fail("cannot connect to " + o.host + ":" + o.port + ": " + std::strerror(errno));
    c.in.reserve(kReadChunk);
    if (stamped) stamped = StampReceives(c.fd);
  }
#if defined(__linux__)
  // Woken by the schedule, what has arrived is found with epoll (the ready sockets only) rather
  // than poll() (every busy one).
  const int ep = stamped ? epoll_create1(EPOLL_CLOEXEC) : -1;
  if (stamped && ep < 0) Fail(std::string("epoll: ") + std::strerror(errno));
  const auto watch = [&](int i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = uint32_t(i);
    if (epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev) != 0) Fail(std::string("epoll_ctl: ") + std::strerror(errno));
  };
  if (stamped)
    for (int i = 0; i < o.connections; i++) watch(i);
  std::vector<epoll_event> events(o.connections);
#endif
  bool partial_writes = false;  // a request not wholly written yet (full socket buffer; rare)

  const long total = std::max(1L, std::lround(o.rate * o.seconds));
  const double interval_ns = 1e9 / o.rate;
  std::vector<double> latency(total, -1), service(total, -1), late(total, -1);  // ms
  std::deque<int> idle;    // free connections, least recently used first (as paced.mjs)
  std::deque<long> backlog;  // due, waiting for a free connection
  const auto make_idle = [&](int i) {
    if (!conns[i].queued) idle.push_back(i);
    conns[i].queued = true;
  };
  const auto take_idle = [&]() {
    const int i = idle.front();
    idle.pop_front();
    conns[i].queued = false;
    return i;
  };
  for (int i = 0; i < o.connections; i++) make_idle(i);
  long issued = 0, done = 0, errors = 0;
  std::vector<pollfd> fds(o.connections);
  std::vector<int> fd_conn(o.connections);  // fds[j] belongs to conns[fd_conn[j]]
  std::vector<char> chunk(kReadChunk);

  const int64_t start = NowNs() + 1'000'000;
  const auto due = [&](long k) { return start + int64_t(std::llround(double(k) * interval_ns)); };
  const double cpu0 = CpuUs();

  const auto write_some = [&](Conn& c) {
    const std::string& r = reqs[size_t(c.k) % reqs.size()];
    while (c.write_off < r.size()) {
      const ssize_t w = send(c.fd, r.data() + c.write_off, r.size() - c.write_off,
#if defined(MSG_NOSIGNAL)
                             MSG_NOSIGNAL
#else
                             0
#endif
      );
      if (w > 0) c.write_off += size_t(w);
      else if (w < 0 && errno == EINTR) continue;
      else return w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);  // false: the socket is gone
    }
    return true;
  };
  // The connection failed or the server closed it: its request, if any, is an error; reconnect.
  // (If the reconnect fails while the connection is queued idle, a send on it drops it again.)
  const auto drop = [&](int i) {
    Conn& c = conns[i];
    if (c.k >= 0) errors++;
    close(c.fd);
    c.k = -1;
    c.in.clear();
    c.fd = Connect(ai);
    if (c.fd < 0) return;
    if (stamped) {
      if (!StampReceives(c.fd)) Fail("cannot stamp receives on a new connection");
#if defined(__linux__)
      watch(i);
#endif
    }
    make_idle(i);
  };
  const auto send_on = [&](int i, long k) {
    Conn& c = conns[i];
    const int64_t now = NowNs();
    c.k = k;
    c.sent_at = now;
    c.write_off = 0;
    late[k] = double(now - due(k)) / 1e6;
    if (!write_some(c)) drop(i);
    else if (c.write_off < reqs[size_t(k) % reqs.size()].size()) partial_writes = true;
  };

  // Reads what connection i has received; completes its request when the response is whole.
  // `at` is when the bytes arrived: the kernel's receive time when the socket gives it.
  const auto receive = [&](int i) {
    Conn& c = conns[i];
    bool closed = false;
    int64_t at = -1;
    for (;;) {
      iovec iov{chunk.data(), chunk.size()};
      alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
      msghdr msg{};
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = stamped ? control : nullptr;
      msg.msg_controllen = stamped ? sizeof control : 0;
      const ssize_t r = recvmsg(c.fd, &msg, 0);
      if (r > 0) {
        c.in.append(chunk.data(), size_t(r));
        at = ReceivedAt(msg);
        if (size_t(r) < chunk.size()) break;
      } else if (r < 0 && errno == EINTR) {
        continue;
      } else {
        closed = r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
        break;
      }
    }
    if (!closed && c.in.empty()) return;  // nothing yet (or an event of a socket since replaced)
    int status = 0;
    bool server_closes = false;
    const long len = c.k >= 0 ? ResponseLength(c.in.data(), c.in.size(), &status, &server_closes) : -1;
    if (len > 0) {
      if (at < 0) at = NowNs();
      const long k = c.k;
      if (status == 200) {
        latency[k] = double(at - due(k)) / 1e6;
        service[k] = double(at - c.sent_at) / 1e6;
        done++;
      } else {
        errors++;
      }
      c.in.erase(0, size_t(len));
      c.k = -1;
      if (!c.in.empty() || server_closes) closed = true;  // (bytes nobody asked for: out of step)
    } else if (len < 0) {
      closed = true;
    }
    if (closed) {
      drop(i);
    } else if (c.k < 0) {
      if (!backlog.empty()) {
        const long k = backlog.front();
        backlog.pop_front();
        send_on(i, k);
      } else {
        make_idle(i);
      }
    }
  };
  // Waits up to wait_ns for the busy connections (0: only what has arrived already).
  const auto poll_connections = [&](int64_t wait_ns) {
    int nfds = 0;
    for (int i = 0; i < o.connections; i++) {
      const Conn& c = conns[i];
      if (c.fd < 0 || c.k < 0) continue;
      const bool writing = c.write_off < reqs[size_t(c.k) % reqs.size()].size();
      fd_conn[nfds] = i;
      fds[nfds++] = pollfd{c.fd, short(POLLIN | (writing ? POLLOUT : 0)), 0};
    }
    if (nfds == 0 && wait_ns == 0) return;
#if defined(__linux__)
    timespec ts{time_t(wait_ns / 1'000'000'000), long(wait_ns % 1'000'000'000)};
    const int ready = ppoll(fds.data(), nfds_t(nfds), &ts, nullptr);
#else
    // poll() has whole milliseconds: rounded down, so a due request is never slept past (this
    // spins through the last millisecond before it).
    const int ready = poll(fds.data(), nfds_t(nfds), int(wait_ns / 1'000'000));
#endif
    if (ready < 0 && errno != EINTR) Fail(std::string("poll: ") + std::strerror(errno));
    for (int j = 0; ready > 0 && j < nfds; j++) {
      if (fds[j].revents == 0) continue;
      const int i = fd_conn[j];
      if ((fds[j].revents & POLLOUT) && !write_some(conns[i])) drop(i);
      else if (fds[j].revents & (POLLIN | POLLERR | POLLHUP)) receive(i);
    }
  };

  // Schedule mode: reads the responses that have arrived, and finishes partial writes.
  const auto collect_arrived = [&]() {
#if defined(__linux__)
    const int n = epoll_wait(ep, events.data(), int(events.size()), 0);
    for (int j = 0; j < n; j++) receive(int(events[j].data.u32));
    if (partial_writes) {
      partial_writes = false;
      for (int i = 0; i < o.connections; i++) {
        Conn& c = conns[i];
        if (c.fd < 0 || c.k < 0 || c.write_off == reqs[size_t(c.k) % reqs.size()].size()) continue;
        if (!write_some(c)) drop(i);
        else if (c.write_off < reqs[size_t(c.k) % reqs.size()].size()) partial_writes = true;
      }
    }
#else
    poll_connections(0);
#endif
  };

  const int64_t deadline = due(total - 1) + kDrainNs;
  for (;;) {
    const int64_t now = NowNs();
    while (issued < total && due(issued) <= now) {
      if (!idle.empty()) {
        send_on(take_idle(), issued);
      } else {
        backlog.push_back(issued);
      }
      issued++;
    }
    if (done + errors >= total || now >= deadline) break;
    if (stamped && issued < total) {
      // Woken by the schedule alone: responses wait in their sockets, stamped with their arrival
      // time, and are read on the next wake, before that due request goes out.
      SleepUntil(due(issued));
      collect_arrived();
    } else {
      poll_connections(std::max<int64_t>(0, (issued < total ? due(issued) : deadline) - now));
    }
  }
  const double elapsed_s = double(NowNs() - start) / 1e9;
  const double cpu_us = CpuUs() - cpu0;
  for (Conn& c : conns)
    if (c.fd >= 0) close(c.fd);
#if defined(__linux__)
  if (ep >= 0) close(ep);
#endif
  freeaddrinfo(ai);

  // As paced.mjs: latencies of the answered requests; service and lateness of every sent one.
  std::vector<double> lat, srv, lt;
  for (long k = 0; k < total; k++) {
    if (latency[k] >= 0) lat.push_back(latency[k]);
    if (service[k] >= 0) srv.push_back(service[k]);
    if (late[k] >= 0) lt.push_back(late[k]);
  }
  std::sort(lat.begin(), lat.end());
  std::sort(srv.begin(), srv.end());
  std::sort(lt.begin(), lt.end());
  long over10 = 0;
  for (double v : lat) over10 += v > 10;
  std::printf("{");
  PrintNumber("n", double(done));
  PrintNumber("achieved", double(done) / elapsed_s);
  PrintNumber("p50", Percentile(lat, 50));
  PrintNumber("p99", Percentile(lat, 99));
  PrintNumber("p999", Percentile(lat, 99.9));
  PrintNumber("max", lat.empty() ? NAN : lat.back());
  PrintNumber("serviceP99", Percentile(srv, 99));
  PrintNumber("lateP99", Percentile(lt, 99));
  PrintNumber("lateMax", lt.empty() ? NAN : lt.back());
  PrintNumber("over10", double(over10));
  PrintNumber("errors", double(total - done));  // anything not answered 200 in time
  PrintNumber("generatorCpuUsPerRequest", cpu_us / double(std::max(1L, issued)));
  std::printf("\"wake\":\"%s\"", stamped ? "schedule" : "responses");
  std::printf("}\n");
  return 0;
}
