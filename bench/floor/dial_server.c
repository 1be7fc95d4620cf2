/*
 * The tight ground truth of bench/client_fidelity.ts: the dial server's timing in C. It streams
 * /v1/completions as vLLM does (one chunk per token, the last with finish_reason, a usage chunk, [DONE])
 * with a dialled first-token delay and gap, and stamps CLOCK_MONOTONIC right before the write() of each
 * token: on loopback, write() hands the bytes to the client's socket inside the call, so a stamp is the
 * moment the token reaches the client's kernel to within the syscall. The Deno dial server stamps when it
 * enqueues a chunk, before its HTTP stack writes it; with hundreds of streams that gap is milliseconds,
 * and it was charged to the client. One thread, epoll, nanosecond waits (epoll_pwait2).
 *
 *   cc -O2 -o dial_server dial_server.c
 *   ./dial_server TTFT_MS ITL_MS TOKENS_BASE TOKENS_SPREAD TRUTH_FILE
 *
 * Prints its port on stdout; exits when its standard input (a pipe from the parent) closes. Output lengths are TOKENS_BASE + (arrival index % TOKENS_SPREAD). Each
 * finished request appends to TRUTH_FILE: request_id, arrival index, arrival ms, each token's write ms
 * (space separated), then a tab and the request's "prompt" string as sent (JSON-escaped). Also serves
 * GET /health and /v1/models; anything else is a 404.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 4096
#define IN_BUF 65536
#define MAX_TOKENS 512
#define PROMPT_MAX 4096

typedef struct {
  int fd;
  int streaming;
  char in[IN_BUF];
  size_t in_len;
  char id[128];
  char prompt[PROMPT_MAX];
  int index, tokens, sent;
  double arrival, due;
  double token_ms[MAX_TOKENS];
} Conn;

static double ttft_ms, itl_ms;
static int tokens_base, tokens_spread, next_index = 0;
static FILE *truth;
static Conn *conns[MAX_CONNS];

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void write_all(Conn *c, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(c->fd, p, n);
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR) continue; /* the client is slow: wait for room */
      return; /* the client went away: its read side ends the connection */
    }
    p += w;
    n -= (size_t)w;
  }
}

/* One HTTP chunk holding one SSE event. */
static void write_event(Conn *c, const char *data) {
  char buf[2048];
  int dl = (int)strlen(data);
  int n = snprintf(buf, sizeof buf, "%x\r\ndata: %s\n\n\r\n", dl + 8, data);
  write_all(c, buf, (size_t)n);
}

static void close_conn(Conn *c, int ep) {
  epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  conns[c->fd] = NULL;
  free(c);
}

static void respond_json(Conn *c, int status, const char *body) {
  char buf[1024];
  int n = snprintf(buf, sizeof buf,
                   "HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %zu\r\n\r\n%s", status,
                   status == 200 ? "OK" : "Not Found", strlen(body), body);
  write_all(c, buf, (size_t)n);
}

/* The value of a header (case-insensitive name), copied into out; 0 if absent. */
static int header(const char *head, size_t len, const char *name, char *out, size_t out_len) {
  size_t nl = strlen(name);
  for (const char *p = head; p < head + len;) {
    const char *e = memmem(p, head + len - p, "\r\n", 2);
    if (!e) e = head + len;
    if ((size_t)(e - p) > nl + 1 && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
      const char *v = p + nl + 1;
      while (v < e && *v == ' ') v++;
      size_t vl = (size_t)(e - v) < out_len - 1 ? (size_t)(e - v) : out_len - 1;
      memcpy(out, v, vl);
      out[vl] = 0;
      return 1;
    }
    p = e + 2;
  }
  return 0;
}

/* The "prompt" string of a JSON body, still escaped; empty when absent or not a string. */
static void prompt_of(const char *body, size_t len, char *out) {
  out[0] = 0;
  const char *p = memmem(body, len, "\"prompt\"", 8);
  if (!p) return;
  p += 8;
  while (p < body + len && (*p == ' ' || *p == ':')) p++;
  if (p >= body + len || *p != '"') return;
  p++;
  size_t o = 0;
  while (p < body + len && *p != '"' && o < PROMPT_MAX - 2) {
    if (*p == '\\' && p + 1 < body + len) out[o++] = *p++;
    out[o++] = *p++;
  }
  out[o] = 0;
}

/* Handles every complete request in the input buffer (keep-alive; one response at a time). */
static void on_input(Conn *c) {
  while (!c->streaming) {
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end) return;
    size_t head_len = (size_t)(end - c->in) + 4;
    char cl[32] = "0";
    header(c->in, head_len, "content-length", cl, sizeof cl);
    size_t body_len = (size_t)atol(cl);
    if (c->in_len < head_len + body_len) return;
    double arrival = now_ms();
    int is_post = strncmp(c->in, "POST ", 5) == 0;
    int completions = is_post && strncmp(c->in + 5, "/v1/completions ", 16) == 0;
    if (completions) {
      c->index = next_index++;
      if (!header(c->in, head_len, "x-request-id", c->id, sizeof c->id)) snprintf(c->id, sizeof c->id, "c-%d", c->index);
      prompt_of(c->in + head_len, body_len, c->prompt);
    }
    int health = strncmp(c->in, "GET /health ", 12) == 0;
    int models = strncmp(c->in, "GET /v1/models ", 15) == 0;
    memmove(c->in, c->in + head_len + body_len, c->in_len - head_len - body_len);
    c->in_len -= head_len + body_len;
    if (health) respond_json(c, 200, "{}");
    else if (models) {
      respond_json(c, 200,
                   "{\"object\":\"list\",\"data\":[{\"id\":\"dial-model\",\"object\":\"model\",\"created\":0,"
                   "\"owned_by\":\"servelab\",\"max_model_len\":4096}]}");
    } else if (!completions) respond_json(c, 404, "{\"error\":{\"message\":\"not found\",\"code\":404}}");
    else {
      char head[256];
      int n = snprintf(head, sizeof head,
                       "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
                       "x-request-id: %s\r\n\r\n",
                       c->id);
      write_all(c, head, (size_t)n);
      c->streaming = 1;
      c->arrival = arrival;
      c->tokens = tokens_base + (tokens_spread > 0 ? c->index % tokens_spread : 0);
      if (c->tokens > MAX_TOKENS) c->tokens = MAX_TOKENS;
      c->sent = 0;
      c->due = arrival + ttft_ms;
    }
  }
}

static void write_token(Conn *c) {
  char data[1024];
  int last = c->sent == c->tokens - 1;
  snprintf(data, sizeof data,
           "{\"id\":\"cmpl-%s\",\"object\":\"text_completion\",\"created\":0,\"model\":\"dial-model\","
           "\"choices\":[{\"index\":0,\"text\":\" tok%d\",\"logprobs\":null,\"finish_reason\":%s,"
           "\"stop_reason\":null}],\"usage\":null}",
           c->id, c->sent, last ? "\"length\"" : "null");
  double t = now_ms();
  write_event(c, data);
  c->token_ms[c->sent++] = t;
  if (!last) {
    c->due = c->arrival + ttft_ms + c->sent * itl_ms;
    return;
  }
  snprintf(data, sizeof data,
           "{\"id\":\"cmpl-%s\",\"object\":\"text_completion\",\"created\":0,\"model\":\"dial-model\","
           "\"choices\":[],\"usage\":{\"prompt_tokens\":%d,\"total_tokens\":%d,\"completion_tokens\":%d}}",
           c->id, 16, 16 + c->tokens, c->tokens);
  /* The truth is on disk before the response ends: a client that saw the end can read it. */
  fprintf(truth, "%s %d %.4f", c->id, c->index, c->arrival);
  for (int i = 0; i < c->sent; i++) fprintf(truth, " %.4f", c->token_ms[i]);
  fprintf(truth, "\t%s\n", c->prompt);
  fflush(truth);
  write_event(c, data);
  write_event(c, "[DONE]");
  write_all(c, "0\r\n\r\n", 5);
  c->streaming = 0;
  on_input(c); /* a request that came while this one streamed */
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: dial_server TTFT_MS ITL_MS TOKENS_BASE TOKENS_SPREAD TRUTH_FILE\n");
    return 2;
  }
  ttft_ms = atof(argv[1]);
  itl_ms = atof(argv[2]);
  tokens_base = atoi(argv[3]);
  tokens_spread = atoi(argv[4]);
  truth = fopen(argv[5], "w");
  if (!truth) {
    perror(argv[5]);
    return 2;
  }
  int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {0};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 4096) < 0 ||
      getsockname(ls, (struct sockaddr *)&a, &al) < 0) {
    perror("listen");
    return 2;
  }
  printf("%d\n", ntohs(a.sin_port));
  fflush(stdout);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &ev);
  /* Standard input is the parent's pipe: its end (the parent exited, even killed) ends the server. */
  struct epoll_event in = {.events = EPOLLIN | EPOLLHUP, .data.fd = 0};
  int watch_stdin = epoll_ctl(ep, EPOLL_CTL_ADD, 0, &in) == 0;
  struct epoll_event evs[256];
  for (;;) {
    double due = -1;
    for (int fd = 0; fd < MAX_CONNS; fd++) {
      Conn *c = conns[fd];
      if (c && c->streaming && (due < 0 || c->due < due)) due = c->due;
    }
    struct timespec wait, *w = NULL;
    if (due >= 0) {
      double d = due - now_ms();
      if (d < 0) d = 0;
      wait.tv_sec = (time_t)(d / 1e3);
      wait.tv_nsec = (long)((d - wait.tv_sec * 1e3) * 1e6);
      w = &wait;
    }
    int n = epoll_pwait2(ep, evs, 256, w, NULL);
    if (n < 0 && errno != EINTR) {
      perror("epoll_pwait2");
      return 1;
    }
    for (int k = 0; k < n; k++) {
      if (watch_stdin && evs[k].data.fd == 0) {
        char b[256];
        if (read(0, b, sizeof b) <= 0) return 0;
        continue;
      }
      if (evs[k].data.fd == ls) {
        int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0) continue;
        if (fd >= MAX_CONNS) {
          close(fd);
          continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        Conn *c = calloc(1, sizeof(Conn));
        c->fd = fd;
        conns[fd] = c;
        struct epoll_event ce = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
        continue;
      }
      Conn *c = conns[evs[k].data.fd];
      if (!c) continue;
      for (;;) {
        if (c->in_len >= IN_BUF) { /* a request larger than the buffer: not a client of this bench */
          close_conn(c, ep);
          c = NULL;
          break;
        }
        ssize_t r = read(c->fd, c->in + c->in_len, IN_BUF - c->in_len);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) break;
        if (r <= 0) {
          close_conn(c, ep);
          c = NULL;
          break;
        }
        c->in_len += (size_t)r;
      }
      if (c) on_input(c);
    }
    double t = now_ms();
    for (int fd = 0; fd < MAX_CONNS; fd++) {
      Conn *c = conns[fd];
      if (c && c->streaming && c->due <= t) write_token(c);
    }
  }
}
