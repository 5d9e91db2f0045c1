/*
 * http_client.c - a lean closed-loop HTTP/1.1 keep-alive load client.
 *
 * What wrk does for the HTTP benchmark, cut down to what we measure: N
 * keep-alive connections, each in a loop: send one GET, read the whole
 * response, check it, note the latency, send the next.  No pipelining (one
 * request in flight per connection), one thread, epoll.  Every response is
 * verified: the status must be 200, the body must be framed by
 * Content-Length and equal --expect; anything else (wrong status or body,
 * chunked framing, "Connection: close", a closed connection) counts as an
 * error, and the connection is replaced so the load stays at N.
 *
 * Output on stdout, the same as echo_client.c's (benchmarks/http.py reads
 * both alike): "START" when the measured window opens, "STOP" when it
 * closes, then one JSON object with the counts and latency percentiles.
 *
 * Usage: http_client --port P [--host H] [--connections N] [--path /]
 *                    [--expect hello] [--duration D] [--warmup W]
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>

#include "loadgen.h"

#define BUF_SIZE 65536
#define MAX_EVENTS 256

typedef struct {
    int fd;
    int alive;
    size_t have;       /* bytes of the current response buffered */
    uint64_t t_start;  /* ns, when the current request was sent */
    uint64_t done;     /* responses completed in the measured window */
    char buf[BUF_SIZE];
} conn_t;

static struct {
    const char *host, *path, *expect;
    int port, connections;
    double duration, warmup;
} opt = {"127.0.0.1", "/", "hello", 0, 50, 3.0, 1.0};

static uint64_t requests, errors, bytes_in;
static int measuring, ep, verbose_errors = 5;
static char request[1024];
static size_t request_len, expect_len;

static void complain(const char *why) {
    if (verbose_errors > 0) {
        verbose_errors--;
        fprintf(stderr, "http_client: bad response: %s\n", why);
    }
}

static int open_conn(conn_t *c) {
    struct sockaddr_in addr = server_addr("http_client", opt.host, opt.port);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        if (c->fd >= 0) close(c->fd);
        c->alive = 0;
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    c->alive = 1;
    return 0;
}

static void fail_conn(conn_t *c);

/* Send the next request; it is small, so one send() takes it all. */
static void send_request(conn_t *c) {
    c->have = 0;
    c->t_start = now_ns();
    ssize_t n = send(c->fd, request, request_len, MSG_NOSIGNAL);
    if (n != (ssize_t)request_len) fail_conn(c);
}

static void fail_conn(conn_t *c) {
    errors++;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (open_conn(c) == 0) send_request(c);
}

/* The value of header `name` in head[0..len), or NULL; *vlen gets its length. */
static const char *header_value(const char *head, size_t len, const char *name, size_t *vlen) {
    size_t nlen = strlen(name);
    const char *end = head + len;
    const char *line = memchr(head, '\n', len);  /* skip the status line */
    while (line && line + 1 < end) {
        line++;
        const char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol) break;
        if ((size_t)(eol - line) > nlen && line[nlen] == ':' && !strncasecmp(line, name, nlen)) {
            const char *v = line + nlen + 1;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            const char *ve = eol;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ')) ve--;
            *vlen = (size_t)(ve - v);
            return v;
        }
        line = eol;
    }
    return NULL;
}

/*
 * Is a whole response buffered?  Returns its total length, 0 when more bytes
 * are needed, or -1 when it is not the response we expect.
 */
static ssize_t check_response(conn_t *c) {
    char *sep = memmem(c->buf, c->have, "\r\n\r\n", 4);
    if (!sep) return c->have >= BUF_SIZE ? (complain("head too large"), -1) : 0;
    size_t head_len = (size_t)(sep - c->buf) + 4;
    if (c->have < 12 || memcmp(c->buf, "HTTP/1.", 7) || memcmp(c->buf + 8, " 200", 4)) {
        complain("status is not 200");
        return -1;
    }
    size_t vlen;
    const char *v = header_value(c->buf, head_len, "Connection", &vlen);
    if (v && vlen == 5 && !strncasecmp(v, "close", 5)) {
        complain("the server closes the connection (Connection: close)");
        return -1;
    }
    v = header_value(c->buf, head_len, "Content-Length", &vlen);
    if (!v) {
        complain("no Content-Length (chunked or close-delimited bodies are not supported)");
        return -1;
    }
    size_t body_len = strtoul(v, NULL, 10);
    if (body_len != expect_len) {
        complain("body length differs from --expect");
        return -1;
    }
    if (c->have < head_len + body_len) return 0;
    if (c->have > head_len + body_len || memcmp(c->buf + head_len, opt.expect, expect_len)) {
        complain(c->have > head_len + body_len ? "bytes after the response" : "body differs");
        return -1;
    }
    return (ssize_t)(head_len + body_len);
}

static void on_readable(conn_t *c) {
    ssize_t n = recv(c->fd, c->buf + c->have, BUF_SIZE - c->have, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0) {
        complain(n == 0 ? "the server closed the connection" : strerror(errno));
        fail_conn(c);
        return;
    }
    c->have += (size_t)n;
    if (measuring) bytes_in += (uint64_t)n;
    ssize_t whole = check_response(c);
    if (whole == 0) return;
    if (whole < 0) {
        fail_conn(c);
        return;
    }
    if (measuring) {
        requests++;
        c->done++;
        hist[bucket_of(now_ns() - c->t_start)]++;
    }
    send_request(c);
}

static void parse_args(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--host")) opt.host = v;
        else if (!strcmp(k, "--port")) opt.port = atoi(v);
        else if (!strcmp(k, "--connections")) opt.connections = atoi(v);
        else if (!strcmp(k, "--path")) opt.path = v;
        else if (!strcmp(k, "--expect")) opt.expect = v;
        else if (!strcmp(k, "--duration")) opt.duration = atof(v);
        else if (!strcmp(k, "--warmup")) opt.warmup = atof(v);
        else {
            fprintf(stderr, "http_client: unknown option %s\n", k);
            exit(2);
        }
    }
    if (opt.port <= 0 || opt.connections <= 0 || opt.duration <= 0 || strlen(opt.path) > 900) {
        fprintf(stderr, "http_client: need --port > 0, --connections > 0, --duration > 0, "
                        "a --path under 900 bytes\n");
        exit(2);
    }
}

static void run_until(conn_t *conns, uint64_t until) {
    struct epoll_event events[MAX_EVENTS];
    while (now_ns() < until) {
        int alive = 0;
        for (int i = 0; i < opt.connections; i++) alive += conns[i].alive;
        if (alive == 0) return;
        int n = epoll_wait(ep, events, MAX_EVENTS, 10);  /* 10 ms: phases end on time */
        for (int i = 0; i < n; i++) {
            conn_t *c = events[i].data.ptr;
            if (c->alive) on_readable(c);
        }
    }
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    request_len = (size_t)snprintf(request, sizeof request,
                                   "GET %s HTTP/1.1\r\nHost: %s:%d\r\n\r\n", opt.path, opt.host,
                                   opt.port);
    expect_len = strlen(opt.expect);
    ep = epoll_create1(0);
    conn_t *conns = calloc((size_t)opt.connections, sizeof *conns);
    if (!conns || ep < 0) {
        perror("http_client: setup");
        return 1;
    }
    int opened = 0;
    for (int i = 0; i < opt.connections; i++) opened += open_conn(&conns[i]) == 0;
    if (opened == 0) {
        fprintf(stderr, "http_client: cannot connect to %s:%d\n", opt.host, opt.port);
        return 1;
    }
    errors = (uint64_t)(opt.connections - opened);
    for (int i = 0; i < opt.connections; i++)
        if (conns[i].alive) send_request(&conns[i]);

    run_until(conns, now_ns() + (uint64_t)(opt.warmup * 1e9));
    printf("START\n");
    fflush(stdout);
    measuring = 1;
    uint64_t t0 = now_ns();
    run_until(conns, t0 + (uint64_t)(opt.duration * 1e9));
    double elapsed = (double)(now_ns() - t0) / 1e9;
    measuring = 0;
    printf("STOP\n");
    fflush(stdout);
    int stalled = 0;
    for (int i = 0; i < opt.connections; i++) stalled += conns[i].alive && conns[i].done == 0;
    printf("{\"requests\": %llu, \"errors\": %llu, \"stalled\": %d, \"bytes\": %llu, "
           "\"duration_s\": %.6f, \"connections\": %d, \"p50_us\": %.2f, \"p90_us\": %.2f, "
           "\"p99_us\": %.2f, \"p999_us\": %.2f",
           (unsigned long long)requests, (unsigned long long)errors, stalled,
           (unsigned long long)bytes_in, elapsed, opt.connections, percentile_us(0.50),
           percentile_us(0.90), percentile_us(0.99), percentile_us(0.999));
    print_hist_json();
    printf("}\n");
    fflush(stdout);
    return 0;
}
