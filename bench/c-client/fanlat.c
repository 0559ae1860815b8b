// fanlat: an independent fan-out latency client in C, for bench/compare.sh (CLIENT=c).
//
// Why C and by hand: issue 19 part 5 asks for latency confirmed by a client that shares no code
// with the server or with `tidings bench` (Node), and that costs so little per frame that what it
// measures is the server. No C WebSocket library on Debian does fan-out measurement; the client
// side of RFC 6455 it needs is small (an upgrade request, unmasked server frames, masked client
// text frames, ping/pong, close), so it is written here, single-threaded on epoll.
//
// It opens N WebSocket subscribers (Centrifuge JSON protocol: connect + subscribe commands; or
// Nchan: subscribed by the upgrade itself), publishes at a fixed rate over one keep-alive HTTP/1.1
// connection (pipelined, `POST /api/publish` or Nchan's `POST /pub?id=`), and for every delivery
// reads the send time the publication carries (`{"t":<epoch µs>,...}`), so latency is publish
// request written → frame read, on one clock. Warm-up publications are not counted. It reads the
// server's CPU from /proc/<pid>/stat over the measured window and prints one JSON report in the
// shape of `tidings bench --out`, so bench/compare-table.mjs reads both.
//
// Build: cc -O2 -o fanlat bench/c-client/fanlat.c     (bench/compare.sh does it with CLIENT=c)
// Usage: fanlat --url ws://127.0.0.1:8917/connection/websocket --api-url http://127.0.0.1:8917
//        [--proto centrifuge|nchan] [--token T] [--api-key K] [--prefix bench:fan-]
//        [--subscribers 2000] [--channels 1] [--rate 20] [--duration 10] [--warmup 2]
//        [--payload 100] [--server-pid PID] [--out FILE] [--transport NAME]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum proto { PROTO_CENTRIFUGE, PROTO_NCHAN };
enum state { ST_CONNECTING, ST_UPGRADING, ST_CONNECTED_WS, ST_SUBSCRIBED, ST_CLOSED };

typedef struct {
  int fd;
  int state;
  int channel;
  unsigned char *buf; // received bytes not yet parsed
  size_t len, cap;
  unsigned char *frag; // payload of a fragmented message
  size_t frag_len, frag_cap;
} sub_t;

static struct {
  const char *url, *api_url, *token, *api_key, *prefix, *out, *transport;
  enum proto proto;
  int subscribers, channels, payload;
  double rate, duration, warmup;
  int server_pid;
} opt = {.prefix = "bench:fan-", .subscribers = 2000, .channels = 1, .payload = 100, .rate = 20,
         .duration = 10, .warmup = 2, .proto = PROTO_CENTRIFUGE};

static char ws_host[256], ws_path[1024], api_host[256];
static int ws_port, api_port;
static int epfd;
static sub_t *subs;
static int connected, subscribed, closed_unexpected, connect_errors, protocol_errors;
static int64_t measure_from_us, measure_to_us; // publications sent in [from, to) are measured
static int measuring, stopping;
static int64_t deliveries_measured, deliveries_total;
// latency histogram: 10 µs buckets up to 20 s
#define BUCKET_US 10
#define BUCKETS 2000000
static uint32_t *hist;
static int64_t lat_max, lat_sum;

static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("fanlat: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  exit(1);
}

static int64_t now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void parse_url(const char *url, const char *scheme, char *host, int *port, char *path) {
  size_t sl = strlen(scheme);
  if (strncmp(url, scheme, sl) != 0) die("%s must start with %s", url, scheme);
  const char *p = url + sl;
  const char *slash = strchr(p, '/');
  const char *colon = strchr(p, ':');
  size_t hl = slash ? (size_t)(slash - p) : strlen(p);
  if (colon && (!slash || colon < slash)) {
    hl = (size_t)(colon - p);
    *port = atoi(colon + 1);
  } else {
    *port = 80;
  }
  if (hl >= 255) die("host too long in %s", url);
  memcpy(host, p, hl);
  host[hl] = 0;
  if (path) snprintf(path, 1024, "%s", slash ? slash : "/");
}

static void buf_reserve(unsigned char **b, size_t *cap, size_t need) {
  if (need <= *cap) return;
  size_t c = *cap ? *cap : 4096;
  while (c < need) c *= 2;
  *b = realloc(*b, c);
  if (!*b) die("out of memory");
  *cap = c;
}

static int tcp_connect(const char *host, int port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket: %s (raise the open-files limit: ulimit -n)", strerror(errno));
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) die("host %s must be an IPv4 address", host);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
    close(fd);
    return -1;
  }
  return fd;
}

// Writes all of `data` on a socket that is writable in practice (small writes, loopback); a
// short write is retried until done, which is fine for the few bytes a client sends.
static int write_all(int fd, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

// A masked client frame (RFC 6455 5.3: every client frame is masked).
static int send_frame(int fd, int opcode, const char *payload, size_t len) {
  unsigned char frame[16 + 4096];
  if (len > 4096) return -1;
  size_t h = 0;
  frame[h++] = (unsigned char)(0x80 | opcode);
  if (len < 126) {
    frame[h++] = (unsigned char)(0x80 | len);
  } else {
    frame[h++] = 0x80 | 126;
    frame[h++] = (unsigned char)(len >> 8);
    frame[h++] = (unsigned char)len;
  }
  static const unsigned char mask[4] = {0x37, 0xfa, 0x21, 0x3d};
  memcpy(frame + h, mask, 4);
  h += 4;
  for (size_t i = 0; i < len; i++) frame[h + i] = (unsigned char)payload[i] ^ mask[i & 3];
  return write_all(fd, frame, h + len);
}

static void record_latency(int64_t sent_us) {
  deliveries_total++;
  if (sent_us < measure_from_us || sent_us >= measure_to_us) return;
  int64_t lat = now_us() - sent_us;
  if (lat < 0) lat = 0;
  deliveries_measured++;
  lat_sum += lat;
  if (lat > lat_max) lat_max = lat;
  int64_t b = lat / BUCKET_US;
  if (b >= BUCKETS) b = BUCKETS - 1;
  hist[b]++;
}

// Every `{"t":<digits>` in a message is one delivery (a Centrifuge frame may join several pushes
// with newlines; a publication's data starts with its send time).
static void scan_deliveries(const unsigned char *p, size_t len) {
  static const char key[] = "{\"t\":";
  const size_t kl = sizeof key - 1;
  const unsigned char *end = p + len;
  while ((size_t)(end - p) > kl) {
    const unsigned char *hit = memmem(p, (size_t)(end - p), key, kl);
    if (!hit) return;
    const unsigned char *q = hit + kl;
    int64_t v = 0;
    int digits = 0;
    while (q < end && *q >= '0' && *q <= '9') {
      v = v * 10 + (*q - '0');
      q++;
      digits++;
    }
    if (digits > 0) record_latency(v);
    p = q;
  }
}

static void close_sub(sub_t *s, int unexpected) {
  if (s->state == ST_CLOSED) return;
  if (s->state == ST_SUBSCRIBED) subscribed--;
  if (unexpected && !stopping) closed_unexpected++;
  s->state = ST_CLOSED;
  epoll_ctl(epfd, EPOLL_CTL_DEL, s->fd, NULL);
  close(s->fd);
}

static void on_message(sub_t *s, const unsigned char *p, size_t len) {
  if (opt.proto == PROTO_NCHAN) {
    scan_deliveries(p, len);
    return;
  }
  // Centrifuge JSON: replies to our two commands, pings (`{}`), and pushes.
  const unsigned char *line = p, *end = p + len;
  while (line < end) {
    const unsigned char *nl = memchr(line, '\n', (size_t)(end - line));
    size_t ll = nl ? (size_t)(nl - line) : (size_t)(end - line);
    if (ll == 2 && line[0] == '{' && line[1] == '}') {
      if (send_frame(s->fd, 1, "{}", 2) < 0) close_sub(s, 1);
    } else if (s->state == ST_CONNECTED_WS && ll > 8 && memmem(line, ll, "\"id\":2", 6)) {
      if (memmem(line, ll, "\"error\"", 7)) {
        protocol_errors++;
        fprintf(stderr, "fanlat: subscribe refused: %.*s\n", (int)(ll > 200 ? 200 : ll), line);
        close_sub(s, 0);
        return;
      }
      s->state = ST_SUBSCRIBED;
      subscribed++;
    } else if (ll > 8 && memmem(line, ll, "\"id\":1", 6) && memmem(line, ll, "\"error\"", 7)) {
      protocol_errors++;
      fprintf(stderr, "fanlat: connect refused: %.*s\n", (int)(ll > 200 ? 200 : ll), line);
      close_sub(s, 0);
      return;
    } else {
      scan_deliveries(line, ll);
    }
    line += ll + 1;
  }
}

static void send_subscribe(sub_t *s) {
  char cmd[2048];
  int n;
  if (opt.token) n = snprintf(cmd, sizeof cmd, "{\"id\":1,\"connect\":{\"token\":\"%s\"}}", opt.token);
  else n = snprintf(cmd, sizeof cmd, "{\"id\":1,\"connect\":{}}");
  if (send_frame(s->fd, 1, cmd, (size_t)n) < 0) return close_sub(s, 1);
  n = snprintf(cmd, sizeof cmd, "{\"id\":2,\"subscribe\":{\"channel\":\"%s%d\"}}", opt.prefix, s->channel);
  if (send_frame(s->fd, 1, cmd, (size_t)n) < 0) return close_sub(s, 1);
}

// Parses whole frames out of s->buf; keeps a partial one for the next read.
static void parse_frames(sub_t *s) {
  size_t off = 0;
  while (s->state != ST_CLOSED) {
    size_t avail = s->len - off;
    if (avail < 2) break;
    unsigned char *f = s->buf + off;
    int fin = f[0] & 0x80, opcode = f[0] & 0x0f;
    uint64_t plen = f[1] & 0x7f;
    size_t h = 2;
    if (f[1] & 0x80) {
      protocol_errors++;
      return close_sub(s, 1); // a server must not mask
    }
    if (plen == 126) {
      if (avail < 4) break;
      plen = ((uint64_t)f[2] << 8) | f[3];
      h = 4;
    } else if (plen == 127) {
      if (avail < 10) break;
      plen = 0;
      for (int i = 0; i < 8; i++) plen = (plen << 8) | f[2 + i];
      h = 10;
    }
    if (avail < h + plen) break;
    unsigned char *payload = f + h;
    if (opcode == 0x8) {
      return close_sub(s, 1);
    } else if (opcode == 0x9) {
      if (send_frame(s->fd, 0xA, (const char *)payload, (size_t)plen) < 0) return close_sub(s, 1);
    } else if (opcode == 0x1 || opcode == 0x2 || opcode == 0x0) {
      if (opcode != 0 && fin) {
        on_message(s, payload, (size_t)plen);
      } else {
        if (opcode != 0) s->frag_len = 0;
        buf_reserve(&s->frag, &s->frag_cap, s->frag_len + plen);
        memcpy(s->frag + s->frag_len, payload, (size_t)plen);
        s->frag_len += plen;
        if (fin) {
          on_message(s, s->frag, s->frag_len);
          s->frag_len = 0;
        }
      }
    }
    off += h + plen;
  }
  if (s->state == ST_CLOSED) return;
  if (off > 0) {
    memmove(s->buf, s->buf + off, s->len - off);
    s->len -= off;
  }
}

static void on_sub_readable(sub_t *s) {
  for (;;) {
    buf_reserve(&s->buf, &s->cap, s->len + 65536);
    ssize_t n = read(s->fd, s->buf + s->len, s->cap - s->len);
    if (n == 0) return close_sub(s, 1);
    if (n < 0) {
      if (errno == EAGAIN) break;
      if (errno == EINTR) continue;
      return close_sub(s, 1);
    }
    s->len += (size_t)n;
    if (s->state == ST_UPGRADING) {
      unsigned char *eoh = memmem(s->buf, s->len, "\r\n\r\n", 4);
      if (!eoh) continue;
      if (s->len < 12 || memcmp(s->buf + 9, "101", 3) != 0) {
        connect_errors++;
        fprintf(stderr, "fanlat: upgrade refused: %.*s\n", (int)(s->len > 120 ? 120 : s->len), s->buf);
        return close_sub(s, 0);
      }
      size_t hl = (size_t)(eoh + 4 - s->buf);
      memmove(s->buf, s->buf + hl, s->len - hl);
      s->len -= hl;
      connected++;
      if (opt.proto == PROTO_NCHAN) {
        s->state = ST_SUBSCRIBED; // Nchan subscribes while it answers the upgrade
        subscribed++;
      } else {
        s->state = ST_CONNECTED_WS;
        send_subscribe(s);
        if (s->state == ST_CLOSED) return;
      }
    }
    parse_frames(s);
    if (s->state == ST_CLOSED) return;
  }
}

static void on_sub_writable(sub_t *s) {
  int err = 0;
  socklen_t el = sizeof err;
  getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el);
  if (err != 0) {
    connect_errors++;
    return close_sub(s, 0);
  }
  char req[2048];
  char path[1200];
  if (opt.proto == PROTO_NCHAN) snprintf(path, sizeof path, "%s?id=%s%d", ws_path, opt.prefix, s->channel);
  else snprintf(path, sizeof path, "%s", ws_path);
  int n = snprintf(req, sizeof req,
                   "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                   path, ws_host, ws_port);
  if (write_all(s->fd, req, (size_t)n) < 0) {
    connect_errors++;
    return close_sub(s, 0);
  }
  s->state = ST_UPGRADING;
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
  epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &ev);
}

// ---- publisher: one keep-alive HTTP/1.1 connection, requests pipelined ----
static int pub_fd = -1;
static unsigned char *pub_in;
static size_t pub_in_len, pub_in_cap;
static int64_t published, publish_errors, pub_inflight, pub_sent;
static int64_t published_measured;
// send time of each request in flight, in order (pipelining answers in order)
#define PUB_RING 65536
static int64_t pub_ring[PUB_RING];
static int64_t pub_ring_head, pub_ring_tail;

static void publish_one(void) {
  int64_t t = now_us();
  int channel = (int)(pub_sent % opt.channels);
  char data[8192];
  int dl = snprintf(data, sizeof data, "{\"t\":%lld,\"p\":\"", (long long)t);
  int pad = opt.payload - dl - 2;
  if (pad < 0) pad = 0;
  if (pad > (int)sizeof data - dl - 3) pad = (int)sizeof data - dl - 3;
  memset(data + dl, 'x', (size_t)pad);
  dl += pad;
  data[dl++] = '"';
  data[dl++] = '}';
  char body[9000];
  int bl;
  char head[1024];
  int hl;
  if (opt.proto == PROTO_NCHAN) {
    memcpy(body, data, (size_t)dl);
    bl = dl;
    hl = snprintf(head, sizeof head,
                  "POST /pub?id=%s%d HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                  "Content-Length: %d\r\n\r\n",
                  opt.prefix, channel, api_host, api_port, bl);
  } else {
    bl = snprintf(body, sizeof body, "{\"channel\":\"%s%d\",\"data\":%.*s}", opt.prefix, channel, dl, data);
    hl = snprintf(head, sizeof head,
                  "POST /api/publish HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                  "Content-Length: %d\r\n%s%s%s\r\n",
                  api_host, api_port, bl, opt.api_key ? "X-API-Key: " : "", opt.api_key ? opt.api_key : "",
                  opt.api_key ? "\r\n" : "");
  }
  char req[10240];
  memcpy(req, head, (size_t)hl);
  memcpy(req + hl, body, (size_t)bl);
  if (write_all(pub_fd, req, (size_t)(hl + bl)) < 0) die("publish connection lost: %s", strerror(errno));
  pub_sent++;
  pub_inflight++;
  pub_ring[pub_ring_tail++ % PUB_RING] = t;
}

// Reads whole responses (Content-Length or chunked bodies) and counts them.
static void on_pub_readable(void) {
  for (;;) {
    buf_reserve(&pub_in, &pub_in_cap, pub_in_len + 65536);
    ssize_t n = read(pub_fd, pub_in + pub_in_len, pub_in_cap - pub_in_len);
    if (n == 0) die("the server closed the publish connection");
    if (n < 0) {
      if (errno == EAGAIN) break;
      if (errno == EINTR) continue;
      die("publish connection: %s", strerror(errno));
    }
    pub_in_len += (size_t)n;
  }
  size_t off = 0;
  for (;;) {
    unsigned char *p = pub_in + off;
    size_t avail = pub_in_len - off;
    unsigned char *eoh = memmem(p, avail, "\r\n\r\n", 4);
    if (!eoh) break;
    size_t hl = (size_t)(eoh + 4 - p);
    int status = avail > 12 ? atoi((const char *)p + 9) : 0;
    size_t body = 0;
    int chunked = 0;
    for (unsigned char *q = p; q < eoh; q++) {
      if (*q != '\n') continue;
      if (strncasecmp((const char *)q + 1, "content-length:", 15) == 0) body = (size_t)atol((const char *)q + 16);
      if (strncasecmp((const char *)q + 1, "transfer-encoding: chunked", 26) == 0) chunked = 1;
    }
    size_t total;
    if (chunked) {
      unsigned char *last = memmem(eoh + 4, avail - hl, "0\r\n\r\n", 5);
      if (!last) break;
      total = (size_t)(last + 5 - p);
    } else {
      if (avail < hl + body) break;
      total = hl + body;
    }
    int ok = status >= 200 && status < 300;
    if (ok && opt.proto == PROTO_CENTRIFUGE && memmem(p + hl, total - hl, "\"error\"", 7)) ok = 0;
    int64_t sent_at = pub_ring[pub_ring_head++ % PUB_RING];
    pub_inflight--;
    if (ok) {
      published++;
      if (sent_at >= measure_from_us && sent_at < measure_to_us) published_measured++;
    } else {
      publish_errors++;
      if (publish_errors <= 3) fprintf(stderr, "fanlat: publish failed: %.*s\n", (int)(total > 200 ? 200 : total), p);
    }
    off += total;
  }
  memmove(pub_in, pub_in + off, pub_in_len - off);
  pub_in_len -= off;
}

// /proc/<pid>/stat: utime, stime (clock ticks); VmHWM from /proc/<pid>/status.
static int proc_cpu(int pid, double *user_s, double *sys_s) {
  char path[64], buf[4096];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long ut = 0, st = 0;
  // fields after ")": state(3) ... utime(14) stime(15)
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
  long hz = sysconf(_SC_CLK_TCK);
  *user_s = (double)ut / (double)hz;
  *sys_s = (double)st / (double)hz;
  return 0;
}

static double proc_hwm_mib(int pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  double v = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmHWM:", 6) == 0) v = atof(line + 6) / 1024.0;
  fclose(f);
  return v;
}

static double self_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int64_t percentile(double q, int64_t count) {
  if (count == 0) return 0;
  int64_t rank = (int64_t)(q * (double)count);
  if (rank >= count) rank = count - 1;
  int64_t seen = 0;
  for (int64_t b = 0; b < BUCKETS; b++) {
    seen += hist[b];
    if (seen > rank) return b * BUCKET_US + BUCKET_US / 2;
  }
  return lat_max;
}

static void poll_once(int timeout_ms) {
  struct epoll_event evs[512];
  int n = epoll_wait(epfd, evs, 512, timeout_ms);
  for (int i = 0; i < n; i++) {
    if (evs[i].data.ptr == NULL) {
      on_pub_readable();
      continue;
    }
    sub_t *s = evs[i].data.ptr;
    if (s->state == ST_CLOSED) continue;
    if (s->state == ST_CONNECTING) {
      if (evs[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) on_sub_writable(s);
    } else if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
      on_sub_readable(s);
    }
  }
}

int main(int argc, char **argv) {
  static struct option longopts[] = {
      {"url", 1, 0, 'u'},      {"api-url", 1, 0, 'a'},     {"proto", 1, 0, 'P'},   {"token", 1, 0, 't'},
      {"api-key", 1, 0, 'k'},  {"prefix", 1, 0, 'x'},      {"subscribers", 1, 0, 'n'}, {"channels", 1, 0, 'c'},
      {"rate", 1, 0, 'r'},     {"duration", 1, 0, 'd'},    {"warmup", 1, 0, 'w'},  {"payload", 1, 0, 'p'},
      {"server-pid", 1, 0, 's'}, {"out", 1, 0, 'o'},       {"transport", 1, 0, 'T'}, {0, 0, 0, 0}};
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'u': opt.url = optarg; break;
    case 'a': opt.api_url = optarg; break;
    case 'P':
      if (strcmp(optarg, "nchan") == 0) opt.proto = PROTO_NCHAN;
      else if (strcmp(optarg, "centrifuge") == 0) opt.proto = PROTO_CENTRIFUGE;
      else die("--proto must be centrifuge or nchan");
      break;
    case 't': opt.token = optarg; break;
    case 'k': opt.api_key = optarg; break;
    case 'x': opt.prefix = optarg; break;
    case 'n': opt.subscribers = atoi(optarg); break;
    case 'c': opt.channels = atoi(optarg); break;
    case 'r': opt.rate = atof(optarg); break;
    case 'd': opt.duration = atof(optarg); break;
    case 'w': opt.warmup = atof(optarg); break;
    case 'p': opt.payload = atoi(optarg); break;
    case 's': opt.server_pid = atoi(optarg); break;
    case 'o': opt.out = optarg; break;
    case 'T': opt.transport = optarg; break;
    default: die("unknown option; see the usage at the top of bench/c-client/fanlat.c");
    }
  }
  if (!opt.url || !opt.api_url) die("--url and --api-url are required");
  if (opt.subscribers < 1 || opt.channels < 1 || opt.rate <= 0 || opt.duration <= 0)
    die("--subscribers, --channels, --rate and --duration must be positive (no saturating mode)");
  parse_url(opt.url, "ws://", ws_host, &ws_port, ws_path);
  parse_url(opt.api_url, "http://", api_host, &api_port, NULL);
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  if ((rlim_t)opt.subscribers + 32 > rl.rlim_cur) die("%d subscribers need more open files than %lu", opt.subscribers, (unsigned long)rl.rlim_cur);
  hist = calloc(BUCKETS, sizeof *hist);
  subs = calloc((size_t)opt.subscribers, sizeof *subs);
  if (!hist || !subs) die("out of memory");
  epfd = epoll_create1(EPOLL_CLOEXEC);
  measure_from_us = INT64_MAX;
  measure_to_us = INT64_MAX;

  // Connect, at most 256 handshakes in flight.
  int64_t t0 = mono_us();
  int next = 0;
  while (subscribed + connect_errors + protocol_errors + closed_unexpected < opt.subscribers) {
    int inflight = next - (subscribed + connect_errors + protocol_errors + closed_unexpected);
    while (next < opt.subscribers && inflight < 256) {
      sub_t *s = &subs[next];
      s->channel = next % opt.channels;
      s->fd = tcp_connect(ws_host, ws_port);
      next++;
      if (s->fd < 0) {
        s->state = ST_CLOSED;
        connect_errors++;
        continue;
      }
      s->state = ST_CONNECTING;
      struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = s};
      epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev);
      inflight++;
    }
    poll_once(100);
    if (mono_us() - t0 > 60000000) die("only %d of %d subscribed after 60 s", subscribed, opt.subscribers);
  }
  double connect_s = (double)(mono_us() - t0) / 1e6;
  fprintf(stderr, "fanlat: %d of %d subscribed in %.1f s (%d connect errors)\n", subscribed, opt.subscribers, connect_s,
          connect_errors + protocol_errors);
  if (subscribed == 0) die("no subscriber is subscribed; is the server up at %s?", opt.url);

  pub_fd = tcp_connect(api_host, api_port);
  if (pub_fd < 0) die("cannot connect to %s", opt.api_url);
  {
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(epfd, EPOLL_CTL_ADD, pub_fd, &ev);
    // wait until the connect completed
    for (int i = 0; i < 100; i++) {
      int err = 0;
      socklen_t el = sizeof err;
      struct sockaddr_in peer;
      socklen_t pl = sizeof peer;
      getsockopt(pub_fd, SOL_SOCKET, SO_ERROR, &err, &el);
      if (err) die("cannot connect to %s: %s", opt.api_url, strerror(err));
      if (getpeername(pub_fd, (struct sockaddr *)&peer, &pl) == 0) break;
      usleep(10000);
    }
  }

  // Warm-up, then the measured window, then a drain of up to 5 s.
  int64_t start = mono_us();
  int64_t warm_end = start + (int64_t)(opt.warmup * 1e6);
  int64_t pub_end = warm_end + (int64_t)(opt.duration * 1e6);
  double su0 = 0, ss0 = 0, su1 = 0, ss1 = 0, cpu0 = 0, cpu1 = 0;
  int64_t sent_before_measure = 0; // publications of the warm-up
  int64_t measure_started_mono = 0;
  for (;;) {
    int64_t m = mono_us();
    if (!measuring && m >= warm_end) {
      measuring = 1;
      measure_from_us = now_us();
      measure_started_mono = m;
      sent_before_measure = pub_sent;
      if (opt.server_pid) proc_cpu(opt.server_pid, &su0, &ss0);
      cpu0 = self_cpu_s();
    }
    if (m >= pub_end) break;
    // publications due so far in this phase
    int64_t phase_start = measuring ? measure_started_mono : start;
    int64_t due = (int64_t)((double)(m - phase_start) / 1e6 * opt.rate) + (measuring ? sent_before_measure : 0);
    while (pub_sent < due) publish_one();
    poll_once(1);
  }
  measure_to_us = now_us();
  int64_t sent_measured = pub_sent - sent_before_measure;
  // Drain: until every measured delivery arrived and every request was answered, at most 30 s
  // (a server behind by seconds still answers its backlog of publish requests; a shorter drain
  // would count deliveries of publications whose answer had not arrived yet).
  int64_t drain_until = mono_us() + 30000000;
  while (mono_us() < drain_until) {
    poll_once(5);
    if (pub_inflight == 0 && deliveries_measured >= published_measured * (int64_t)subscribed / opt.channels) break;
    if (pub_inflight == 0 && mono_us() > drain_until - 25000000) break; // answered, deliveries missing: 5 s more
  }
  int64_t drained_mono = mono_us();
  if (opt.server_pid) proc_cpu(opt.server_pid, &su1, &ss1);
  cpu1 = self_cpu_s();
  stopping = 1;

  // Expected: every measured publication × the subscribers of its channel.
  int64_t expected = 0;
  {
    // publications go round-robin over channels; subscribers too
    for (int ch = 0; ch < opt.channels; ch++) {
      int64_t pubs = published_measured / opt.channels + (ch < published_measured % opt.channels ? 1 : 0);
      int64_t subs_on = 0;
      for (int i = 0; i < opt.subscribers; i++)
        if (subs[i].channel == ch && subs[i].state == ST_SUBSCRIBED) subs_on++;
      expected += pubs * subs_on;
    }
  }
  double window_s = (double)(drained_mono - measure_started_mono) / 1e6;
  double pub_window_s = opt.duration;
  double user_s = su1 - su0, sys_s = ss1 - ss0;
  FILE *out = stdout;
  if (opt.out) {
    out = fopen(opt.out, "w");
    if (!out) die("cannot write %s: %s", opt.out, strerror(errno));
  }
  int64_t cnt = deliveries_measured;
  fprintf(out,
          "{\"client\":\"fanlat (C, bench/c-client/fanlat.c)\",\"options\":{\"transport\":\"%s\",\"subscribers\":%d,"
          "\"channels\":%d,\"rate\":%g,\"duration\":%g,\"warmup\":%g,\"payloadBytes\":%d},",
          opt.transport ? opt.transport : (opt.proto == PROTO_NCHAN ? "nchan-ws" : "centrifuge-ws"), opt.subscribers,
          opt.channels, opt.rate, opt.duration, opt.warmup, opt.payload);
  fprintf(out, "\"subscribed\":%d,\"connectSeconds\":%.3f,\"published\":%lld,\"publishedMeasured\":%lld,\"sentMeasured\":%lld,",
          subscribed, connect_s, (long long)published, (long long)published_measured, (long long)sent_measured);
  fprintf(out, "\"deliveries\":%lld,\"expectedDeliveries\":%lld,\"deliveriesPerSec\":%.1f,",
          (long long)deliveries_measured, (long long)expected, (double)deliveries_measured / pub_window_s);
  fprintf(out,
          "\"latencyUs\":{\"p50\":%lld,\"p90\":%lld,\"p99\":%lld,\"p999\":%lld,\"max\":%lld,\"mean\":%.1f,\"count\":%lld},",
          (long long)percentile(0.5, cnt), (long long)percentile(0.9, cnt), (long long)percentile(0.99, cnt),
          (long long)percentile(0.999, cnt), (long long)lat_max, cnt ? (double)lat_sum / (double)cnt : 0.0, (long long)cnt);
  fprintf(out,
          "\"errors\":{\"total\":%d,\"connect\":%d,\"protocol\":%d,\"unexpectedCloses\":%d,\"publish\":%lld},",
          connect_errors + protocol_errors + closed_unexpected + (int)publish_errors, connect_errors, protocol_errors,
          closed_unexpected, (long long)publish_errors);
  fprintf(out, "\"loadCpuPercent\":%.1f", 100.0 * (cpu1 - cpu0) / window_s);
  if (opt.server_pid) {
    fprintf(out,
            ",\"server\":{\"pid\":%d,\"cpuPercent\":%.1f,\"userCpuUsPerDelivery\":%.3f,\"systemCpuUsPerDelivery\":%.3f,"
            "\"rssPeakMiB\":%.1f}",
            opt.server_pid, 100.0 * (user_s + sys_s) / window_s,
            deliveries_measured ? user_s * 1e6 / (double)deliveries_measured : 0.0,
            deliveries_measured ? sys_s * 1e6 / (double)deliveries_measured : 0.0, proc_hwm_mib(opt.server_pid));
  }
  fprintf(out, "}\n");
  if (out != stdout) fclose(out);
  fprintf(stderr, "fanlat: %lld/%lld deliveries, p50 %.2f ms, p99 %.2f ms, p99.9 %.2f ms\n", (long long)deliveries_measured,
          (long long)expected, percentile(0.5, cnt) / 1000.0, percentile(0.99, cnt) / 1000.0,
          percentile(0.999, cnt) / 1000.0);
  for (int i = 0; i < opt.subscribers; i++)
    if (subs[i].state != ST_CLOSED) close(subs[i].fd);
  return 0;
}
