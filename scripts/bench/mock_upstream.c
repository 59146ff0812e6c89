/*
 * A fast OpenAI-compatible mock upstream for the benchmark: one thread, epoll, keep-alive.
 *
 * Every request (any method, any path) is read in full (Content-Length bodies) and answered with
 * a fixed chat completion. A body whose "stream" key is true gets a 16-chunk SSE stream instead
 * (role, 13 content chunks, finish, usage), then `data: [DONE]`, written at once. Listens on
 * 127.0.0.1 only.
 *
 * Build: gcc -O2 -o mock_upstream mock_upstream.c      Run: ./mock_upstream PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_EVENTS 256
#define MAX_REQUEST (64 * 1024 * 1024)
#define CONTENT_CHUNKS 13

typedef struct {
    char *in;
    size_t in_len, in_cap;
    char *out;
    size_t out_len, out_off, out_cap;
    int close_after;
} conn_t;

static char *json_response, *sse_response;
static size_t json_len, sse_len;
static conn_t **conns;
static int conns_cap;

static const char *COMPLETION =
    "{\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion\",\"created\":1767225600,"
    "\"model\":\"bench-upstream\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
    "\"content\":\"Hello! This is a fixed answer from the benchmark's mock upstream.\"},"
    "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,"
    "\"completion_tokens\":14,\"total_tokens\":26},\"system_fingerprint\":null}";

static const char *CHUNK_HEAD =
    "data: {\"id\":\"chatcmpl-bench\",\"object\":\"chat.completion.chunk\",\"created\":1767225600,"
    "\"model\":\"bench-upstream\",";

static void die(const char *what) {
    perror(what);
    exit(1);
}

static char *build_response(const char *content_type, const char *body, size_t body_len,
                            size_t *out_len) {
    char head[256];
    int head_len = snprintf(head, sizeof head,
                            "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                            "Connection: keep-alive\r\n\r\n",
                            content_type, body_len);
    char *response = malloc((size_t)head_len + body_len);
    if (!response) die("malloc");
    memcpy(response, head, (size_t)head_len);
    memcpy(response + head_len, body, body_len);
    *out_len = (size_t)head_len + body_len;
    return response;
}

static void build_responses(void) {
    json_response = build_response("application/json", COMPLETION, strlen(COMPLETION), &json_len);
    static const char *words[CONTENT_CHUNKS] = {"Hello", "!", " This", " is", " a", " fixed",
                                                " answer", " from", " the", " benchmark",
                                                "'s", " mock", " upstream."};
    size_t cap = 16384, len = 0;
    char *body = malloc(cap);
    if (!body) die("malloc");
#define APPEND(...) len += (size_t)snprintf(body + len, cap - len, __VA_ARGS__)
    APPEND("%s\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
           "\"finish_reason\":null}]}\n\n", CHUNK_HEAD);
    for (int i = 0; i < CONTENT_CHUNKS; i++)
        APPEND("%s\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"},"
               "\"finish_reason\":null}]}\n\n", CHUNK_HEAD, words[i]);
    APPEND("%s\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
           CHUNK_HEAD);
    APPEND("%s\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":14,"
           "\"total_tokens\":26}}\n\n", CHUNK_HEAD);
    APPEND("data: [DONE]\n\n");
#undef APPEND
    sse_response = build_response("text/event-stream", body, len, &sse_len);
    free(body);
}

/* Whether a JSON body says "stream": true (whitespace around the colon allowed). */
static int wants_stream(const char *body, size_t len) {
    const char *key = "\"stream\"";
    const char *p = body, *end = body + len;
    while ((p = memmem(p, (size_t)(end - p), key, 8)) != NULL) {
        p += 8;
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
        if (p >= end || *p != ':') continue;
        p++;
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) p++;
        if (end - p >= 4 && memcmp(p, "true", 4) == 0) return 1;
    }
    return 0;
}

/* The value of a header in the block [head, head+len), or NULL. */
static const char *header_value(const char *head, size_t len, const char *name) {
    size_t name_len = strlen(name);
    const char *p = head, *end = head + len;
    while (p < end) {
        const char *line_end = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!line_end) line_end = end;
        if ((size_t)(line_end - p) > name_len && p[name_len] == ':' &&
            strncasecmp(p, name, name_len) == 0) {
            p += name_len + 1;
            while (p < line_end && *p == ' ') p++;
            return p;
        }
        p = line_end + 2;
    }
    return NULL;
}

static conn_t *conn_for(int fd) {
    if (fd >= conns_cap) {
        int cap = conns_cap ? conns_cap : 1024;
        while (cap <= fd) cap *= 2;
        conns = realloc(conns, sizeof(conn_t *) * (size_t)cap);
        if (!conns) die("realloc");
        memset(conns + conns_cap, 0, sizeof(conn_t *) * (size_t)(cap - conns_cap));
        conns_cap = cap;
    }
    if (!conns[fd]) {
        conns[fd] = calloc(1, sizeof(conn_t));
        if (!conns[fd]) die("calloc");
    }
    return conns[fd];
}

static void close_conn(int epfd, int fd) {
    epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    conn_t *c = conns[fd];
    if (c) {
        free(c->in);
        free(c->out);
        free(c);
        conns[fd] = NULL;
    }
}

static void queue_output(conn_t *c, const char *data, size_t len) {
    if (c->out_len + len > c->out_cap) {
        size_t cap = c->out_cap ? c->out_cap : 8192;
        while (cap < c->out_len + len) cap *= 2;
        c->out = realloc(c->out, cap);
        if (!c->out) die("realloc");
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, data, len);
    c->out_len += len;
}

/* Answer every complete request in the input buffer. Returns -1 for a malformed request. */
static int process_input(conn_t *c) {
    size_t consumed = 0;
    for (;;) {
        char *start = c->in + consumed;
        size_t avail = c->in_len - consumed;
        char *head_end = memmem(start, avail, "\r\n\r\n", 4);
        if (!head_end) break;
        size_t head_len = (size_t)(head_end - start) + 4;
        const char *cl = header_value(start, head_len, "content-length");
        size_t body_len = cl ? strtoul(cl, NULL, 10) : 0;
        if (body_len > MAX_REQUEST) return -1;
        if (avail < head_len + body_len) break;
        const char *connection = header_value(start, head_len, "connection");
        if (connection && strncasecmp(connection, "close", 5) == 0) c->close_after = 1;
        if (wants_stream(start + head_len, body_len))
            queue_output(c, sse_response, sse_len);
        else
            queue_output(c, json_response, json_len);
        consumed += head_len + body_len;
        if (c->close_after) break;
    }
    if (consumed) {
        memmove(c->in, c->in + consumed, c->in_len - consumed);
        c->in_len -= consumed;
    }
    return 0;
}

/* Write what is queued. Returns 1 when all is written, 0 when the socket is full, -1 on error. */
static int flush_output(conn_t *c, int fd) {
    while (c->out_off < c->out_len) {
        ssize_t n = send(fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -1;
        c->out_off += (size_t)n;
    }
    c->out_off = c->out_len = 0;
    return 1;
}

static void on_readable(int epfd, int fd) {
    conn_t *c = conn_for(fd);
    for (;;) {
        if (c->in_cap - c->in_len < 65536) {
            size_t cap = c->in_cap ? c->in_cap * 2 : 131072;
            if (cap > MAX_REQUEST + 65536) {
                close_conn(epfd, fd);
                return;
            }
            c->in = realloc(c->in, cap);
            if (!c->in) die("realloc");
            c->in_cap = cap;
        }
        ssize_t n = recv(fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n == 0) {
            close_conn(epfd, fd);
            return;
        }
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            close_conn(epfd, fd);
            return;
        }
        c->in_len += (size_t)n;
    }
    if (process_input(c) < 0) {
        close_conn(epfd, fd);
        return;
    }
    int flushed = flush_output(c, fd);
    if (flushed < 0 || (flushed == 1 && c->close_after)) {
        close_conn(epfd, fd);
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | (flushed ? 0 : EPOLLOUT), .data.fd = fd};
    epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
}

static void on_writable(int epfd, int fd) {
    conn_t *c = conn_for(fd);
    int flushed = flush_output(c, fd);
    if (flushed < 0 || (flushed == 1 && c->close_after)) {
        close_conn(epfd, fd);
        return;
    }
    if (flushed) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
        epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &ev);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    build_responses();
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (listener < 0) die("socket");
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
    if (listen(listener, 4096) < 0) die("listen");
    int epfd = epoll_create1(0);
    if (epfd < 0) die("epoll_create1");
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = listener};
    epoll_ctl(epfd, EPOLL_CTL_ADD, listener, &ev);
    printf("listening on 127.0.0.1:%s\n", argv[1]);
    fflush(stdout);
    struct epoll_event events[MAX_EVENTS];
    for (;;) {
        int n = epoll_wait(epfd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        for (int i = 0; i < n; i++) {
            int fd = events[i].data.fd;
            if (fd == listener) {
                for (;;) {
                    int client = accept4(listener, NULL, NULL, SOCK_NONBLOCK);
                    if (client < 0) break;
                    setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    conn_for(client);
                    struct epoll_event cev = {.events = EPOLLIN, .data.fd = client};
                    epoll_ctl(epfd, EPOLL_CTL_ADD, client, &cev);
                }
                continue;
            }
            if (events[i].events & (EPOLLERR | EPOLLHUP)) {
                close_conn(epfd, fd);
                continue;
            }
            if (events[i].events & EPOLLOUT) on_writable(epfd, fd);
            if ((events[i].events & EPOLLIN) && conns[fd]) on_readable(epfd, fd);
        }
    }
}
