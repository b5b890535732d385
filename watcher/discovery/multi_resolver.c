#include "multi_resolver.h"

#include <stdlib.h>
#include <string.h>

struct child {
    struct backend_list view;
    bool answered;
    enum multi_child_link link;
};

struct multi_resolver {
    enum syn_resolver kind;
    bool use_previous;
    struct child *children;
    size_t n;
    size_t current;
    bool taken; /* a view was taken at least once */
    struct backend_list last;
};

struct multi_resolver *multi_resolver_new(enum syn_resolver kind, size_t nchildren,
                                          bool use_previous_backends)
{
    struct multi_resolver *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->children = calloc(nchildren ? nchildren : 1, sizeof *r->children);
    if (!r->children) {
        free(r);
        return NULL;
    }
    r->kind = kind;
    r->n = nchildren;
    r->use_previous = use_previous_backends;
    return r;
}

void multi_resolver_free(struct multi_resolver *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++)
        backend_list_clear(&r->children[i].view);
    free(r->children);
    backend_list_clear(&r->last);
    free(r);
}

bool multi_resolver_update(struct multi_resolver *r, size_t i, struct backend_list *backends)
{
    if (i >= r->n) {
        backend_list_clear(backends);
        return false;
    }
    struct child *c = &r->children[i];
    c->answered = true;
    if (backends->n == 0 && c->view.n > 0 && r->use_previous) {
        backend_list_clear(backends);
        return true;
    }
    backend_list_clear(&c->view);
    c->view = *backends;
    memset(backends, 0, sizeof *backends);
    return false;
}

void multi_resolver_link(struct multi_resolver *r, size_t i, enum multi_child_link link)
{
    if (i < r->n) r->children[i].link = link;
}

static bool undecided(const struct child *c)
{
    return !c->answered && c->link == MULTI_CHILD_UNKNOWN;
}

static bool usable(const struct child *c)
{
    return c->answered && c->link != MULTI_CHILD_DOWN && c->view.n > 0;
}

/* sequential's choice, or -1 while a child before it is undecided. */
static long pick(const struct multi_resolver *r)
{
    for (size_t i = 0; i < r->n; i++) {
        if (undecided(&r->children[i])) return -1;
        if (usable(&r->children[i])) return (long)i;
    }
    return 0;
}

static int append(struct backend_list *out, const struct backend_list *in)
{
    for (size_t i = 0; i < in->n; i++) {
        struct backend b;
        if (backend_copy(&b, &in->v[i]) < 0) return -1;
        if (backend_list_push(out, &b) < 0) {
            backend_clear(&b);
            return -1;
        }
    }
    return 0;
}

bool multi_resolver_take(struct multi_resolver *r, struct backend_list *out)
{
    struct backend_list now = {0};
    if (r->kind == SYN_RESOLVER_SEQUENTIAL) {
        long p = pick(r);
        if (p < 0 || !r->children[p].answered) return false;
        r->current = (size_t)p;
        if (append(&now, &r->children[p].view) < 0) goto oom;
    } else {
        bool any = false;
        for (size_t i = 0; i < r->n; i++) {
            if (undecided(&r->children[i])) return false;
            any = any || r->children[i].answered;
        }
        if (!any) return false;
        for (size_t i = 0; i < r->n; i++)
            if (append(&now, &r->children[i].view) < 0) goto oom;
    }
    if (r->taken && backend_list_equal(&now, &r->last)) {
        backend_list_clear(&now);
        return false;
    }
    struct backend_list copy = {0};
    if (backend_list_copy(&copy, &now) < 0) {
        backend_list_clear(&copy);
        goto oom;
    }
    backend_list_clear(&r->last);
    r->last = now;
    r->taken = true;
    *out = copy;
    return true;
oom:
    backend_list_clear(&now);
    return false;
}

size_t multi_resolver_current(const struct multi_resolver *r)
{
    return r->current;
}

bool multi_resolver_healthy(const struct multi_resolver *r)
{
    if (r->kind == SYN_RESOLVER_SEQUENTIAL)
        return r->n && r->children[r->current].link != MULTI_CHILD_DOWN;
    for (size_t i = 0; i < r->n; i++)
        if (r->children[i].link != MULTI_CHILD_DOWN) return true;
    return false;
}
