/*
 * echo_server.c - the reference echo server: one thread, epoll, no framework.
 *
 * This is the floor every Python server in benchmarks/ is measured against:
 * the kernel's cost of accepting, reading and writing, with nothing on top.
 * It is level-triggered: a connection is watched for EPOLLIN while it has
 * nothing queued, and switched to EPOLLOUT (and *not* EPOLLIN) while a reply
 * did not fit in the socket buffer.  Not reading while a reply is pending is
 * the whole of its flow control, and it bounds each connection's buffer to
 * one read (64 KiB).
 *
 * Usage:  echo_server [--host 127.0.0.1] [--port 0] [--backlog 1024]
 * Prints "READY <port>" on stdout once listening; runs until SIGTERM.
 *
 * Built on demand by benchmarks/build.py (gcc -O2).  Read next: echo_client.c.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536
#define MAX_EVENTS 256

/* One client connection: its descriptor and the unsent tail of a reply. */
typedef struct {
    int fd;
    size_t pending_off;  /* first unsent byte in buf */
    size_t pending_len;  /* bytes still to send; 0 = nothing pending */
    char buf[BUF_SIZE];
} conn_t;

static void die(const char *what) {
    perror(what);
    exit(1);
}

static void set_interest(int ep, conn_t *c, unsigned events) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl MOD");
}

static void close_conn(int ep, conn_t *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    free(c);
}

/* Send what is pending; return -1 on a dead connection, else bytes left. */
static long flush_pending(conn_t *c) {
    while (c->pending_len > 0) {
        ssize_t n = send(c->fd, c->buf + c->pending_off, c->pending_len, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            if (errno == EINTR) continue;
            return -1;
        }
        c->pending_off += (size_t)n;
        c->pending_len -= (size_t)n;
    }
    return (long)c->pending_len;
}

static void on_readable(int ep, conn_t *c) {
    ssize_t n = recv(c->fd, c->buf, BUF_SIZE, 0);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        close_conn(ep, c);
        return;
    }
    if (n < 0) return;
    c->pending_off = 0;
    c->pending_len = (size_t)n;
    long left = flush_pending(c);
    if (left < 0) close_conn(ep, c);
    else if (left > 0) set_interest(ep, c, EPOLLOUT);  /* stop reading until drained */
}

static void on_writable(int ep, conn_t *c) {
    long left = flush_pending(c);
    if (left < 0) close_conn(ep, c);
    else if (left == 0) set_interest(ep, c, EPOLLIN);
}

static void accept_all(int ep, int lfd) {
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
        if (fd < 0) return;  /* EAGAIN: queue empty; anything else: try again next time */
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conn_t *c = calloc(1, sizeof *c);
        if (!c) die("calloc");
        c->fd = fd;
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl ADD");
    }
}

static int listen_on(const char *host, int port, int backlog) {
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (lfd < 0) die("socket");
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "echo_server: --host must be an IPv4 address, got %s\n", host);
        exit(2);
    }
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(lfd, backlog) < 0) die("listen");
    socklen_t len = sizeof addr;
    getsockname(lfd, (struct sockaddr *)&addr, &len);
    printf("READY %d\n", ntohs(addr.sin_port));
    fflush(stdout);
    return lfd;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    int port = 0, backlog = 1024;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--host")) host = argv[i + 1];
        else if (!strcmp(argv[i], "--port")) port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--backlog")) backlog = atoi(argv[i + 1]);
        else {
            fprintf(stderr, "usage: echo_server [--host H] [--port P] [--backlog B]\n");
            return 2;
        }
    }
    int lfd = listen_on(host, port, backlog);
    int ep = epoll_create1(0);
    if (ep < 0) die("epoll_create1");
    /* The listener is told apart from connections by a NULL data pointer. */
    struct epoll_event lev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &lev) < 0) die("epoll_ctl listener");

    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(ep, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            conn_t *c = events[i].data.ptr;
            if (c == NULL) accept_all(ep, lfd);
            else if (events[i].events & EPOLLOUT) on_writable(ep, c);
            else on_readable(ep, c);  /* EPOLLIN, EPOLLHUP, EPOLLERR: recv tells which */
        }
    }
}
