/*
 * echo_client.c - the closed-loop load client for the echo benchmark.
 *
 * N connections, each in a loop: send an M-byte message, wait until all M
 * bytes have come back, note the latency, send the next one.  One thread and
 * epoll, so the client costs little per request and stays off the critical
 * path; benchmarks/README.md states its measured ceiling (against the C
 * server).  The run has two phases: a warm-up (nothing counted), then the
 * measured window of D seconds.
 *
 * Output on stdout, one line each: "START" when the measured window opens,
 * "STOP" the moment it closes (the harness reads the server's CPU counters
 * on both), then one JSON object with the counts and latency percentiles.
 * "errors" counts connections that failed (and were reopened); "stalled"
 * counts connections that stayed open but completed nothing in the window.
 *
 * Latencies go into the histogram of loadgen.h (shared with http_client.c).
 * With --idle K, K extra connections are opened first and then left silent:
 * the idle crowd of benchmarks/idle.py (see open_idle).
 *
 * Usage: echo_client --port P [--host H] [--connections N] [--size M]
 *                    [--duration D] [--warmup W] [--idle K]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "loadgen.h"

#define RECV_SIZE 65536
#define MAX_EVENTS 256

typedef struct {
    int fd;
    int alive;
    unsigned events;   /* epoll interest currently registered */
    size_t sent;       /* bytes of the current message sent */
    size_t received;   /* bytes of its echo received */
    uint64_t t_start;  /* ns, when the current message was first sent */
    uint64_t done;     /* messages completed in the measured window */
} conn_t;

static struct {
    const char *host;
    int port, connections, idle;
    size_t size;
    double duration, warmup;
} opt = {"127.0.0.1", 0, 100, 0, 1024, 3.0, 1.0};

static uint64_t requests, errors, bytes_in;
static int measuring;
static char *payload;
static char scratch[RECV_SIZE];
static int ep;

static void set_interest(conn_t *c, unsigned events) {
    if (c->events == events) return;
    struct epoll_event ev = {.events = events, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->events = events;
}

/* Open (or reopen) one connection with a blocking connect; 0 on success. */
static int open_conn(conn_t *c) {
    struct sockaddr_in addr = server_addr("echo_client", opt.host, opt.port);
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        if (c->fd >= 0) close(c->fd);
        c->alive = 0;
        return -1;
    }
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    c->events = EPOLLIN;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    c->alive = 1;
    return 0;
}

static void send_more(conn_t *c);

/*
 * Open `count` idle connections: the crowd of benchmarks/idle.py.  Each one
 * echoes a single byte once, which proves the server has accepted it and
 * watches it, and is then silent for good.  Without that proof a server
 * still accepting the crowd (or the kernel retrying handshakes it dropped
 * from a full accept queue) would be measured along with the active load.
 * They open in batches well under the listen backlog, so no handshake is
 * dropped.  SO_LINGER 0 makes their close at exit a reset, so thousands of
 * them leave no TIME_WAIT behind.  Returns how many are ready.
 */
static int open_idle(int count) {
    struct sockaddr_in addr = server_addr("echo_client", opt.host, opt.port);
    struct linger reset = {.l_onoff = 1, .l_linger = 0};
    struct timeval patience = {.tv_sec = 10};
    enum { BATCH = 256 };
    int fds[BATCH], ready = 0;
    for (int first = 0; first < count; first += BATCH) {
        int n = count - first < BATCH ? count - first : BATCH, opened = 0;
        for (; opened < n; opened++) {
            int fd = socket(AF_INET, SOCK_STREAM, 0);
            if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
                perror("echo_client: idle connection (is the descriptor limit high enough?)");
                if (fd >= 0) close(fd);
                break;
            }
            setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &patience, sizeof patience);
            fds[opened] = fd;
        }
        for (int i = 0; i < opened; i++) {
            char byte = 'i';
            if (send(fds[i], &byte, 1, MSG_NOSIGNAL) == 1 && recv(fds[i], &byte, 1, 0) == 1)
                ready++;
        }
        if (opened < n) break;
    }
    return ready;
}

/* Begin the next message on this connection. */
static void start_request(conn_t *c) {
    c->sent = c->received = 0;
    c->t_start = now_ns();
    send_more(c);
}

/* A connection failed: count it, and replace it so the load stays at N. */
static void fail_conn(conn_t *c) {
    errors++;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (open_conn(c) == 0) start_request(c);
}

static void send_more(conn_t *c) {
    while (c->sent < opt.size) {
        ssize_t n = send(c->fd, payload + c->sent, opt.size - c->sent, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            fail_conn(c);
            return;
        }
        c->sent += (size_t)n;
    }
    set_interest(c, c->sent < opt.size ? EPOLLIN | EPOLLOUT : EPOLLIN);
}

static void on_readable(conn_t *c) {
    ssize_t n = recv(c->fd, scratch, RECV_SIZE, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n <= 0 || c->received + (size_t)n > c->sent) {  /* closed, failed, or echoed unsent bytes */
        fail_conn(c);
        return;
    }
    c->received += (size_t)n;
    if (measuring) bytes_in += (uint64_t)n;
    if (c->received < opt.size) return;
    if (measuring) {
        requests++;
        c->done++;
        hist[bucket_of(now_ns() - c->t_start)]++;
    }
    start_request(c);
}

static void parse_args(int argc, char **argv) {
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--host")) opt.host = v;
        else if (!strcmp(k, "--port")) opt.port = atoi(v);
        else if (!strcmp(k, "--connections")) opt.connections = atoi(v);
        else if (!strcmp(k, "--idle")) opt.idle = atoi(v);
        else if (!strcmp(k, "--size")) opt.size = (size_t)atol(v);
        else if (!strcmp(k, "--duration")) opt.duration = atof(v);
        else if (!strcmp(k, "--warmup")) opt.warmup = atof(v);
        else {
            fprintf(stderr, "echo_client: unknown option %s\n", k);
            exit(2);
        }
    }
    if (opt.port <= 0 || opt.connections <= 0 || opt.idle < 0 || opt.size == 0 || opt.duration <= 0) {
        fprintf(stderr, "echo_client: need --port > 0, --connections > 0, --size > 0, --duration > 0\n");
        exit(2);
    }
}

/* Drive every connection until `until` (ns); returns when time is up or all are dead. */
static void run_until(conn_t *conns, uint64_t until) {
    struct epoll_event events[MAX_EVENTS];
    while (now_ns() < until) {
        int alive = 0;
        for (int i = 0; i < opt.connections; i++) alive += conns[i].alive;
        if (alive == 0) return;
        /* 10 ms timeout: the phase ends on time even if the server stalls. */
        int n = epoll_wait(ep, events, MAX_EVENTS, 10);
        for (int i = 0; i < n; i++) {
            conn_t *c = events[i].data.ptr;
            if (!c->alive) continue;
            if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) on_readable(c);
            if (c->alive && (events[i].events & EPOLLOUT)) send_more(c);
        }
    }
}

int main(int argc, char **argv) {
    parse_args(argc, argv);
    payload = malloc(opt.size);
    for (size_t i = 0; i < opt.size; i++) payload[i] = (char)('a' + i % 26);
    ep = epoll_create1(0);
    conn_t *conns = calloc((size_t)opt.connections, sizeof *conns);
    if (!payload || !conns || ep < 0) {
        perror("echo_client: setup");
        return 1;
    }
    int idle = open_idle(opt.idle);
    int opened = 0;
    for (int i = 0; i < opt.connections; i++) opened += open_conn(&conns[i]) == 0;
    if (opened == 0) {
        fprintf(stderr, "echo_client: cannot connect to %s:%d\n", opt.host, opt.port);
        return 1;
    }
    errors = (uint64_t)(opt.connections - opened + opt.idle - idle);
    for (int i = 0; i < opt.connections; i++)
        if (conns[i].alive) start_request(&conns[i]);

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
    /* A connection open all window long that completed nothing is stuck:
       the server accepted it (or the kernel did) but never answered. */
    int stalled = 0;
    for (int i = 0; i < opt.connections; i++) stalled += conns[i].alive && conns[i].done == 0;

    printf("{\"requests\": %llu, \"errors\": %llu, \"stalled\": %d, \"bytes\": %llu, "
           "\"duration_s\": %.6f, "
           "\"connections\": %d, \"idle\": %d, \"size\": %zu, \"p50_us\": %.2f, \"p90_us\": %.2f, "
           "\"p99_us\": %.2f, \"p999_us\": %.2f",
           (unsigned long long)requests, (unsigned long long)errors, stalled,
           (unsigned long long)bytes_in, elapsed, opt.connections, idle, opt.size,
           percentile_us(0.50), percentile_us(0.90), percentile_us(0.99), percentile_us(0.999));
    print_hist_json();
    printf("}\n");
    fflush(stdout);
    return 0;
}
