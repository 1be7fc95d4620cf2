/*
 * The floor client of bench/client_fidelity.ts: the least a client can add to TTFT and ITL on this
 * machine. One thread, epoll, non-blocking sockets, no allocation in the loop, no parsing beyond
 * finding content: it stamps CLOCK_MONOTONIC right after each read() returns and gives that stamp to
 * every content event the read delivered. Whatever error it shows against the dial server's ground
 * truth is the server's, the kernel's and the machine's share, which no client can remove; the lab's
 * own client is judged by what it adds above this row.
 *
 * Closed loop: N connections (keep-alive), COUNT requests in all, each sent as soon as one finishes.
 * Output, one line per finished request: request_id t_send_ms t_chunk_ms... (content chunks only),
 * or "request_id FAIL reason".
 *
 *   cc -O2 -o floor_client floor_client.c
 *   ./floor_client PORT N COUNT ID_PREFIX OUT_FILE
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#define BUF 65536
#define MAX_CHUNKS 256

typedef struct {
  int fd;
  int req; /* request index, -1 when idle */
  char buf[BUF];
  size_t len, scanned;
  int body; /* offset of the body, -1 until the headers are in */
  double t_send;
  double chunks[MAX_CHUNKS];
  int n_chunks;
} Conn;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int port, n_conn, count, next_req = 0, done_reqs = 0;
static const char *prefix;
static FILE *out;

static int open_conn(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) { perror("socket"); exit(2); }
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { perror("connect"); exit(2); }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

static void send_next(Conn *c) {
  if (next_req >= count) { c->req = -1; return; }
  c->req = next_req++;
  char body[512], msg[1024];
  int bl = snprintf(body, sizeof body,
    "{\"model\":\"dial-model\",\"prompt\":\"servelab fidelity floor request %d: say something.\","
    "\"max_tokens\":16,\"temperature\":0,\"stream\":true,\"stream_options\":{\"include_usage\":true}}",
    c->req);
  int ml = snprintf(msg, sizeof msg,
    "POST /v1/completions HTTP/1.1\r\nhost: 127.0.0.1:%d\r\ncontent-type: application/json\r\n"
    "accept: text/event-stream\r\nx-request-id: %s-%d\r\ncontent-length: %d\r\n\r\n%s",
    port, prefix, c->req, bl, body);
  c->len = c->scanned = 0;
  c->body = -1;
  c->n_chunks = 0;
  c->t_send = now_ms();
  for (int off = 0; off < ml;) {
    ssize_t w = write(c->fd, msg + off, ml - off);
    if (w < 0) { if (errno == EAGAIN) continue; perror("write"); exit(2); }
    off += w;
  }
}

static void finish(Conn *c, const char *fail) {
  if (fail) fprintf(out, "%s-%d FAIL %s\n", prefix, c->req, fail);
  else {
    fprintf(out, "%s-%d %.4f", prefix, c->req, c->t_send);
    for (int i = 0; i < c->n_chunks; i++) fprintf(out, " %.4f", c->chunks[i]);
    fputc('\n', out);
  }
  done_reqs++;
  send_next(c);
}

/* Content events: `"text":"` followed by a character other than `"`. */
static void scan(Conn *c, double t) {
  static const char pat[] = "\"text\":\"";
  const size_t pl = sizeof pat - 1;
  size_t i = c->scanned;
  for (;;) {
    char *p = i < c->len ? memmem(c->buf + i, c->len - i, pat, pl) : NULL;
    if (!p) {
      /* A pattern cut by the read boundary starts within the last pl bytes: look there again. */
      c->scanned = c->len > i + pl ? c->len - pl : i;
      return;
    }
    size_t at = p - c->buf;
    if (at + pl >= c->len) { c->scanned = at; return; } /* the character after it is not in yet */
    if (c->buf[at + pl] != '"' && c->n_chunks < MAX_CHUNKS) c->chunks[c->n_chunks++] = t;
    i = at + pl + 1;
  }
}

int main(int argc, char **argv) {
  if (argc != 6) { fprintf(stderr, "usage: floor_client PORT N COUNT ID_PREFIX OUT_FILE\n"); return 2; }
  port = atoi(argv[1]); n_conn = atoi(argv[2]); count = atoi(argv[3]); prefix = argv[4];
  out = fopen(argv[5], "w");
  if (!out) { perror(argv[5]); return 2; }
  int ep = epoll_create1(0);
  Conn *conns = calloc(n_conn, sizeof(Conn));
  for (int i = 0; i < n_conn; i++) {
    conns[i].fd = open_conn();
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &conns[i]};
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }
  for (int i = 0; i < n_conn; i++) send_next(&conns[i]);
  struct epoll_event evs[1024];
  while (done_reqs < count) {
    int n = epoll_wait(ep, evs, 1024, 60000);
    if (n <= 0) { fprintf(stderr, "floor_client: no progress for 60 s (%d of %d done)\n", done_reqs, count); return 1; }
    for (int k = 0; k < n; k++) {
      Conn *c = evs[k].data.ptr;
      for (;;) {
        if (c->len >= BUF) { finish(c, "response larger than the buffer"); break; }
        ssize_t r = read(c->fd, c->buf + c->len, BUF - c->len);
        double t = now_ms();
        if (r < 0 && errno == EAGAIN) break;
        if (r <= 0) { if (c->req >= 0) finish(c, "connection closed"); c->req = -1; close(c->fd); break; }
        c->len += r;
        if (c->req < 0) continue;
        if (c->body < 0) {
          char *h = memmem(c->buf, c->len, "\r\n\r\n", 4);
          if (!h) continue;
          c->body = h - c->buf + 4;
          c->scanned = c->body;
        }
        scan(c, t);
        /* The chunked body ends with a zero-size chunk. */
        if (c->len >= (size_t)c->body + 5 && memcmp(c->buf + c->len - 5, "0\r\n\r\n", 5) == 0) finish(c, NULL);
      }
    }
  }
  fclose(out);
  return 0;
}
