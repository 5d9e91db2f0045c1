/*
 * loadgen.h - what the C load clients share: a clock, a latency histogram,
 * percentiles, the server's address.
 *
 * Included by echo_client.c and http_client.c (each is one translation unit,
 * so the functions here are static).  Latencies go into a log-linear
 * histogram in nanoseconds: exact below 1024 ns, then 512 buckets per power
 * of two (under 0.2 % error), so the memory is fixed and recording is a few
 * instructions.
 */
#ifndef LOADGEN_H
#define LOADGEN_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define SUB_BITS 9                      /* 512 sub-buckets per power of two */
#define SUB_COUNT (1u << SUB_BITS)
#define LINEAR_LIMIT (2u * SUB_COUNT)   /* values below this are exact */
#define HIST_SIZE (LINEAR_LIMIT + 48u * SUB_COUNT)

static uint64_t hist[HIST_SIZE];

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Bucket of a latency: exact below LINEAR_LIMIT, then log-linear. */
static size_t bucket_of(uint64_t v) {
    if (v < LINEAR_LIMIT) return (size_t)v;
    unsigned shift = (unsigned)(63 - __builtin_clzll(v)) - SUB_BITS;  /* v >> shift in [512, 1024) */
    size_t idx = LINEAR_LIMIT + (size_t)(shift - 1) * SUB_COUNT + (size_t)((v >> shift) - SUB_COUNT);
    return idx < HIST_SIZE ? idx : HIST_SIZE - 1;
}

/* Midpoint of a bucket, the inverse of bucket_of. */
static double value_of(size_t idx) {
    if (idx < LINEAR_LIMIT) return (double)idx;
    size_t k = idx - LINEAR_LIMIT;
    unsigned shift = (unsigned)(k / SUB_COUNT) + 1;
    uint64_t low = (uint64_t)(k % SUB_COUNT + SUB_COUNT) << shift;
    return (double)low + (double)(1ull << shift) / 2.0;
}

static double percentile_us(double q) {
    uint64_t total = 0, seen = 0;
    for (size_t i = 0; i < HIST_SIZE; i++) total += hist[i];
    if (total == 0) return 0.0;
    uint64_t rank = (uint64_t)(q * (double)total);
    if (rank >= total) rank = total - 1;
    for (size_t i = 0; i < HIST_SIZE; i++) {
        seen += hist[i];
        if (seen > rank) return value_of(i) / 1000.0;
    }
    return 0.0;
}

/* The non-empty buckets as a JSON member, `, "hist": [[us, count], ...]`,
   for callers (the lab's load()) that want the whole latency distribution. */
static void print_hist_json(void) {
    printf(", \"hist\": [");
    int first = 1;
    for (size_t i = 0; i < HIST_SIZE; i++) {
        if (!hist[i]) continue;
        printf("%s[%.3f, %llu]", first ? "" : ", ", value_of(i) / 1000.0,
               (unsigned long long)hist[i]);
        first = 0;
    }
    printf("]");
}

/* The server's address, or exit(2) with a message naming the program. */
static struct sockaddr_in server_addr(const char *prog, const char *host, int port) {
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "%s: --host must be an IPv4 address, got %s\n", prog, host);
        exit(2);
    }
    return addr;
}

#endif
