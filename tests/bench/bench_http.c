/*
 * A small HTTP/1.1 client over one kept-alive TCP connection, for the load generator.
 *
 * The generator must not be what limits a benchmark, so this client does the least that is
 * correct against the node's server (NNG): it writes the request in one buffer, reads the
 * headers, takes the body length from Content-Length (the node never answers chunked),
 * and keeps the connection for the next call. A connection the server closed is noticed
 * on the next write or read and reopened once.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tests/bench/bench.h"

uint64_t
bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void
bench_sleep_us(uint64_t us)
{
    struct timespec ts = {(time_t)(us / 1000000u), (long)(us % 1000000u) * 1000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int
bench_read_line_file(const char *path, char *buf, size_t n)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t got = fread(buf, 1, n - 1, f);
    fclose(f);
    while (got && (buf[got - 1] == '\n' || buf[got - 1] == '\r' || buf[got - 1] == ' '))
        got--;
    buf[got] = '\0';
    return 0;
}

int
bench_http_init(struct bench_http *c, const char *url, const char *token)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    const char *p = strncmp(url, "http://", 7) == 0 ? url + 7 : url;
    const char *colon = strrchr(p, ':');
    if (!colon || (size_t)(colon - p) >= sizeof(c->host))
        return -1;
    memcpy(c->host, p, (size_t)(colon - p));
    c->host[colon - p] = '\0';
    c->port = atoi(colon + 1);
    if (c->port <= 0 || c->port > 65535)
        return -1;
    if (token && token[0])
        snprintf(c->auth, sizeof(c->auth), "Bearer %s", token);
    return 0;
}

void
bench_http_close(struct bench_http *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->cap = c->len = 0;
}

static int
conn_open(struct bench_http *c)
{
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)c->port);
    if (inet_pton(AF_INET, c->host, &sa.sin_addr) != 1) {
        struct hostent *h = gethostbyname(c->host);
        if (!h || h->h_addrtype != AF_INET)
            return -1;
        memcpy(&sa.sin_addr, h->h_addr_list[0], sizeof(sa.sin_addr));
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    c->fd = fd;
    return 0;
}

static int
write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

static int
buf_reserve(struct bench_http *c, size_t need)
{
    if (need <= c->cap)
        return 0;
    size_t cap = c->cap ? c->cap : 65536;
    while (cap < need)
        cap *= 2;
    uint8_t *b = realloc(c->buf, cap);
    if (!b)
        return -1;
    c->buf = b;
    c->cap = cap;
    return 0;
}

/* Reads more bytes into the buffer; -1 on error or EOF. */
static int
read_more(struct bench_http *c)
{
    if (buf_reserve(c, c->len + 65536) != 0)
        return -1;
    for (;;) {
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len - 1, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c->len += (size_t)r;
        c->buf[c->len] = '\0';
        return 0;
    }
}

/* Reads one response; returns its status, or -1 if the connection failed. */
static int
read_response(struct bench_http *c, size_t *body_len)
{
    c->len = 0;
    char *end = NULL;
    while (!end) {
        if (read_more(c) != 0)
            return -1;
        end = strstr((char *)c->buf, "\r\n\r\n");
    }
    c->body_off = (size_t)(end - (char *)c->buf) + 4;
    int status = 0;
    if (sscanf((char *)c->buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    size_t clen = 0;
    for (char *line = strstr((char *)c->buf, "\r\n"); line && line < end;
         line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "Content-Length:", 15) == 0)
            clen = (size_t)strtoull(line + 17, NULL, 10);
    }
    while (c->len < c->body_off + clen)
        if (read_more(c) != 0)
            return -1;
    *body_len = clen;
    return status;
}

int
bench_http_call(struct bench_http *c, const char *method, const char *path, const void *body,
                size_t body_len, const uint8_t **out, size_t *out_len)
{
    return bench_http_call_typed(c, method, path, "application/json", body, body_len, out,
                                 out_len);
}

int
bench_http_call_typed(struct bench_http *c, const char *method, const char *path,
                      const char *type, const void *body, size_t body_len, const uint8_t **out,
                      size_t *out_len)
{
    char head[1024];
    int hn = snprintf(head, sizeof(head),
                      "%s %s HTTP/1.1\r\nHost: %s:%d\r\n%s%s%sContent-Length: %zu\r\n"
                      "%s%s%s\r\n",
                      method, path, c->host, c->port, c->auth[0] ? "Authorization: " : "",
                      c->auth, c->auth[0] ? "\r\n" : "", body ? body_len : 0,
                      body ? "Content-Type: " : "", body ? type : "", body ? "\r\n" : "");
    if (hn < 0 || (size_t)hn >= sizeof(head))
        return 0;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (c->fd < 0 && conn_open(c) != 0)
            return 0;
        size_t blen = 0;
        int status = -1;
        if (write_all(c->fd, head, (size_t)hn) == 0 &&
            (!body || write_all(c->fd, body, body_len) == 0))
            status = read_response(c, &blen);
        if (status > 0) {
            if (out)
                *out = c->buf + c->body_off;
            if (out_len)
                *out_len = blen;
            return status;
        }
        close(c->fd);
        c->fd = -1;
    }
    return 0;
}

int
bench_http_json(struct bench_http *c, const char *method, const char *path, json_t *body,
                json_t **reply)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    const uint8_t *out;
    size_t len;
    *reply = NULL;
    int status = bench_http_call(c, method, path, text, text ? strlen(text) : 0, &out, &len);
    free(text);
    if (status > 0 && len)
        *reply = json_loadb((const char *)out, len, 0, NULL);
    return status;
}
