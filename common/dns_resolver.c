#include "dns_resolver.h"

#include "log.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DNS_TIMEOUT_MS 2000 /* per try; c-ares doubles it for each server round */
#define DNS_TRIES 2

struct dns_resolver {
    struct loop *loop;
    ares_channel channel;
    uint64_t timer;             /* c-ares' next timeout, or 0 */
    struct dns_socket *sockets; /* watched by the loop */
    bool destroying;            /* callbacks from ares_destroy are dropped */
    bool freed;                 /* dns_resolver_free ran; answers still posted */
    int posted;                 /* answers posted, not yet delivered */
};

struct dns_lookup {
    struct dns_resolver *r;
    dns_resolved_fn *fn;
    void *arg;
    char *name;
};

static void schedule(struct dns_resolver *r);

bool dns_is_ip_address(const char *s)
{
    unsigned char buf[sizeof(struct in6_addr)];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

static void on_timeout(void *arg)
{
    struct dns_resolver *r = arg;
    r->timer = 0;
    ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    schedule(r);
}

/* Re-arms the loop timer for c-ares' nearest retransmission or deadline. */
static void schedule(struct dns_resolver *r)
{
    if (r->timer) loop_timer_cancel(r->loop, r->timer);
    r->timer = 0;
    struct timeval tv, *next = ares_timeout(r->channel, NULL, &tv);
    if (!next) return;
    uint64_t ms = (uint64_t)next->tv_sec * 1000 + (uint64_t)(next->tv_usec + 999) / 1000;
    r->timer = loop_timer(r->loop, ms, on_timeout, r);
}

/* One socket c-ares asked the loop to watch. */
struct dns_socket {
    struct dns_socket *next;
    struct dns_resolver *r;
    ares_socket_t fd;
};

static void on_fd(void *arg, short revents)
{
    struct dns_socket *s = arg;
    struct dns_resolver *r = s->r;
    bool readable = revents & (POLLIN | POLLERR | POLLHUP);
    ares_socket_t fd = s->fd; /* s may go while c-ares processes it */
    ares_process_fd(r->channel, readable ? fd : ARES_SOCKET_BAD,
                    revents & POLLOUT ? fd : ARES_SOCKET_BAD);
    schedule(r);
}

static void on_socket_state(void *arg, ares_socket_t fd, int readable, int writable)
{
    struct dns_resolver *r = arg;
    struct dns_socket **p = &r->sockets;
    while (*p && (*p)->fd != fd)
        p = &(*p)->next;
    if (!readable && !writable) {
        loop_unwatch_fd(r->loop, fd);
        if (*p) {
            struct dns_socket *gone = *p;
            *p = gone->next;
            free(gone);
        }
        return;
    }
    if (!*p) {
        struct dns_socket *s = calloc(1, sizeof *s);
        if (!s) {
            log_error("dns: cannot watch a resolver socket (out of memory)");
            return;
        }
        s->r = r;
        s->fd = fd;
        s->next = r->sockets;
        r->sockets = s;
        p = &r->sockets;
    }
    short events = (short)((readable ? POLLIN : 0) | (writable ? POLLOUT : 0));
    if (loop_watch_fd(r->loop, fd, events, on_fd, *p) < 0)
        log_error("dns: cannot watch a resolver socket (out of memory)");
}

struct dns_resolver *dns_resolver_new(struct loop *l, const struct strlist *nameservers, char *err,
                                      size_t errlen)
{
    static bool library_ready;
    if (!library_ready) {
        int rc = ares_library_init(ARES_LIB_INIT_ALL);
        if (rc != ARES_SUCCESS) {
            snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
            return NULL;
        }
        library_ready = true;
    }
    struct dns_resolver *r = calloc(1, sizeof *r);
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    r->loop = l;
    struct ares_options opts = {0};
    opts.sock_state_cb = on_socket_state;
    opts.sock_state_cb_data = r;
    opts.timeout = DNS_TIMEOUT_MS;
    opts.tries = DNS_TRIES;
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    bool dns_only = nameservers && nameservers->n > 0;
    if (dns_only) {
        opts.lookups = (char *)"b";
        mask |= ARES_OPT_LOOKUPS;
    }
    int rc = ares_init_options(&r->channel, &opts, mask);
    if (rc != ARES_SUCCESS) {
        snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
        free(r);
        return NULL;
    }
    if (dns_only) {
        size_t len = 1;
        for (size_t i = 0; i < nameservers->n; i++)
            len += strlen(nameservers->v[i]) + 1;
        char *csv = calloc(1, len);
        if (csv)
            for (size_t i = 0; i < nameservers->n; i++) {
                if (i) strcat(csv, ",");
                strcat(csv, nameservers->v[i]);
            }
        rc = csv ? ares_set_servers_ports_csv(r->channel, csv) : ARES_ENOMEM;
        if (rc != ARES_SUCCESS) {
            snprintf(err, errlen, "nameserver \"%s\": %s", csv ? csv : "", ares_strerror(rc));
            free(csv);
            ares_destroy(r->channel);
            free(r);
            return NULL;
        }
        free(csv);
    }
    return r;
}

void dns_resolver_free(struct dns_resolver *r)
{
    if (!r) return;
    r->destroying = true;
    if (r->timer) loop_timer_cancel(r->loop, r->timer);
    r->timer = 0;
    ares_destroy(r->channel); /* closes its sockets through on_socket_state */
    while (r->sockets) {      /* in case c-ares closed one without saying so */
        struct dns_socket *s = r->sockets;
        r->sockets = s->next;
        loop_unwatch_fd(r->loop, s->fd);
        free(s);
    }
    r->freed = true;
    if (r->posted == 0) free(r); /* else the last posted answer frees it */
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What one answer carried, posted so fn never runs inside a c-ares call. */
struct dns_answer {
    struct dns_lookup *lk;
    int ok;
    const char *why;
    struct strlist addrs;
};

static void deliver(void *arg)
{
    struct dns_answer *a = arg;
    struct dns_lookup *lk = a->lk;
    struct dns_resolver *r = lk->r;
    r->posted--;
    if (!r->freed)
        lk->fn(lk->arg, lk->name, a->ok, (const char *const *)a->addrs.v, a->addrs.n, a->why);
    else if (r->posted == 0)
        free(r);
    strlist_clear(&a->addrs);
    free(lk->name);
    free(lk);
    free(a);
}

static void on_answer(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
    (void)timeouts;
    struct dns_lookup *lk = arg;
    struct dns_answer *a = lk->r->destroying ? NULL : calloc(1, sizeof *a);
    if (!a) {
        if (!lk->r->destroying) log_error("dns: %s: answer lost (out of memory)", lk->name);
        ares_freeaddrinfo(res);
        free(lk->name);
        free(lk);
        return;
    }
    a->lk = lk;
    if (status == ARES_SUCCESS && res) {
        for (struct ares_addrinfo_node *n = res->nodes; n; n = n->ai_next) {
            char text[INET6_ADDRSTRLEN];
            const void *addr = NULL;
            if (n->ai_family == AF_INET)
                addr = &((const struct sockaddr_in *)(const void *)n->ai_addr)->sin_addr;
            else if (n->ai_family == AF_INET6)
                addr = &((const struct sockaddr_in6 *)(const void *)n->ai_addr)->sin6_addr;
            if (!addr || !inet_ntop(n->ai_family, addr, text, sizeof text)) continue;
            if (strlist_contains(&a->addrs, text)) continue;
            strlist_push(&a->addrs, text);
        }
        if (a->addrs.n > 1) qsort(a->addrs.v, a->addrs.n, sizeof *a->addrs.v, cmp_str);
    }
    a->ok = a->addrs.n > 0;
    a->why = status == ARES_SUCCESS ? (a->ok ? "" : "no addresses") : ares_strerror(status);
    ares_freeaddrinfo(res);
    if (loop_post(lk->r->loop, deliver, a) < 0) {
        log_error("dns: %s: answer lost (out of memory)", lk->name);
        strlist_clear(&a->addrs);
        free(lk->name);
        free(lk);
        free(a);
        return;
    }
    lk->r->posted++;
}

int dns_resolver_lookup(struct dns_resolver *r, const char *name, dns_resolved_fn *fn, void *arg)
{
    struct dns_lookup *lk = calloc(1, sizeof *lk);
    if (!lk || !(lk->name = strdup(name))) {
        free(lk);
        return -1;
    }
    lk->r = r;
    lk->fn = fn;
    lk->arg = arg;
    struct ares_addrinfo_hints hints = {0};
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags = ARES_AI_NOSORT;
    ares_getaddrinfo(r->channel, name, NULL, &hints, on_answer, lk);
    schedule(r);
    return 0;
}
