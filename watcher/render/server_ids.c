/*
 * Synapse's server-id map, and the ids of a haproxy.cfg found at start.
 */
#include "server_ids.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A known entry with its input position: of equal names the first wins. */
struct pos_ref {
    const char *name;
    int id;
    size_t pos;
};

static int cmp_pos_ref(const void *a, const void *b)
{
    const struct pos_ref *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    return r ? r : (x->pos > y->pos) - (x->pos < y->pos);
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* An id and the server holding it, to find two servers keeping one id. */
struct id_at {
    int id;
    size_t at;
};

static int cmp_id_at(const void *a, const void *b)
{
    const struct id_at *x = a, *y = b;
    if (x->id != y->id) return (x->id > y->id) - (x->id < y->id);
    return (x->at > y->at) - (x->at < y->at);
}

/* The id name held (the first entry of that name in sorted), or 0. */
static int known_id(const struct pos_ref *sorted, size_t n, const char *name)
{
    size_t lo = 0, hi = n;
    while (lo < hi) { /* lower bound */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(sorted[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && strcmp(sorted[lo].name, name) == 0 ? sorted[lo].id : 0;
}

static bool in_sorted(const int *v, size_t n, int x)
{
    return n && bsearch(&x, v, n, sizeof *v, cmp_int) != NULL;
}

int server_ids_assign(const char *const *names, const int *fixed, size_t n,
                      const struct server_id_ref *known, size_t nknown, int max_id, int *ids)
{
    struct pos_ref *sorted = malloc((nknown ? nknown : 1) * sizeof *sorted);
    int *used = malloc((nknown + n + 1) * sizeof *used);
    int *fixed_ids = malloc((n ? n : 1) * sizeof *fixed_ids);
    struct id_at *kept = malloc((n ? n : 1) * sizeof *kept);
    size_t nused = 0, nsorted = 0, nfixed = 0, nkept = 0;
    int rc = -1;
    if (!sorted || !used || !fixed_ids || !kept) goto out;
    for (size_t i = 0; i < nknown; i++) {
        if (!known[i].name || known[i].id <= 0 || known[i].id > max_id) continue;
        sorted[nsorted++] = (struct pos_ref){known[i].name, known[i].id, i};
        used[nused++] = known[i].id;
    }
    if (nsorted > 1) qsort(sorted, nsorted, sizeof *sorted, cmp_pos_ref);
    for (size_t i = 0; i < n; i++) {
        ids[i] = fixed && fixed[i] > 0 ? fixed[i] : 0;
        if (ids[i]) used[nused++] = fixed_ids[nfixed++] = ids[i];
    }
    if (nfixed > 1) qsort(fixed_ids, nfixed, sizeof *fixed_ids, cmp_int);
    /* A name keeps its id, unless a registration claims that id itself. */
    for (size_t i = 0; i < n; i++) {
        if (ids[i]) continue;
        int k = known_id(sorted, nsorted, names[i]);
        if (k && !in_sorted(fixed_ids, nfixed, k)) {
            ids[i] = k;
            kept[nkept++] = (struct id_at){k, i};
        }
    }
    /* Two names keeping one id (a hand-edited file): the first keeps it. */
    if (nkept > 1) qsort(kept, nkept, sizeof *kept, cmp_id_at);
    for (size_t i = 1; i < nkept; i++)
        if (kept[i].id == kept[i - 1].id) ids[kept[i].at] = 0;
    if (nused > 1) qsort(used, nused, sizeof *used, cmp_int);
    /* New ids: the smallest free, one cursor over the sorted used ids. */
    size_t at = 0;
    long next = 1;
    for (size_t i = 0; i < n; i++) {
        if (ids[i]) continue;
        while (at < nused && used[at] <= next) {
            if (used[at] == next) next++;
            at++;
        }
        if (next > max_id) break; /* none left: the rest get no id */
        ids[i] = (int)next++;
    }
    rc = 0;
out:
    free(sorted);
    free(used);
    free(fixed_ids);
    free(kept);
    return rc;
}

int server_ids_in_options(const char *options)
{
    bool next_is_id = false;
    for (const char *p = options; p && *p;) {
        p += strspn(p, " \t");
        size_t len = strcspn(p, " \t");
        if (!len) break;
        if (next_is_id) {
            char *end;
            long v = strtol(p, &end, 10);
            return end == p + len && v > 0 && v <= INT_MAX ? (int)v : 0;
        }
        next_is_id = len == 2 && memcmp(p, "id", 2) == 0;
        p += len;
    }
    return 0;
}

struct seed_section {
    char *backend;
    struct server_id_ref *v; /* names owned */
    size_t n, cap;
};

struct server_id_seed {
    struct seed_section *v; /* sorted by backend once parsed */
    size_t n, cap;
};

void server_id_seed_free(struct server_id_seed *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->n; i++) {
        for (size_t j = 0; j < s->v[i].n; j++)
            free((char *)s->v[i].v[j].name);
        free(s->v[i].v);
        free(s->v[i].backend);
    }
    free(s->v);
    free(s);
}

/* Word k (0-based) of line into buf; false when there is none or it does not fit. */
static bool word(const char *line, size_t len, int k, char *buf, size_t buflen)
{
    const char *p = line, *end = line + len;
    for (int i = 0;; i++) {
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        const char *w = p;
        while (p < end && *p != ' ' && *p != '\t')
            p++;
        if (p == w) return false;
        if (i == k) {
            if ((size_t)(p - w) >= buflen) return false;
            memcpy(buf, w, (size_t)(p - w));
            buf[p - w] = '\0';
            return true;
        }
    }
}

static int seed_add(struct seed_section *sec, const char *name, int id)
{
    if (sec->n == sec->cap) {
        size_t cap = sec->cap ? sec->cap * 2 : 16;
        struct server_id_ref *v = realloc(sec->v, cap * sizeof *v);
        if (!v) return -1;
        sec->v = v;
        sec->cap = cap;
    }
    char *dup = strdup(name);
    if (!dup) return -1;
    sec->v[sec->n++] = (struct server_id_ref){dup, id};
    return 0;
}

static struct seed_section *seed_section_new(struct server_id_seed *s, const char *backend)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 16;
        struct seed_section *v = realloc(s->v, cap * sizeof *v);
        if (!v) return NULL;
        s->v = v;
        s->cap = cap;
    }
    struct seed_section *sec = &s->v[s->n];
    memset(sec, 0, sizeof *sec);
    if (!(sec->backend = strdup(backend))) return NULL;
    s->n++;
    return sec;
}

static int cmp_section(const void *a, const void *b)
{
    return strcmp(((const struct seed_section *)a)->backend,
                  ((const struct seed_section *)b)->backend);
}

struct server_id_seed *server_id_seed_parse(const char *text)
{
    struct server_id_seed *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    ptrdiff_t cur = -1; /* index of the section being read, or -1 */
    for (const char *line = text; line && *line;) {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        char kw[32], a[256], b[32];
        if (len && line[0] != ' ' && line[0] != '\t' && line[0] != '#') {
            cur = -1;
            if (word(line, len, 0, kw, sizeof kw) && word(line, len, 1, a, sizeof a) &&
                (strcmp(kw, "backend") == 0 || strcmp(kw, "listen") == 0)) {
                if (!seed_section_new(s, a)) goto oom;
                cur = (ptrdiff_t)s->n - 1;
            }
        } else if (cur >= 0 && word(line, len, 0, kw, sizeof kw) && strcmp(kw, "server") == 0 &&
                   word(line, len, 1, a, sizeof a)) {
            for (int k = 3; word(line, len, k, kw, sizeof kw); k++) {
                if (strcmp(kw, "id") != 0 || !word(line, len, k + 1, b, sizeof b)) continue;
                char opt[40];
                snprintf(opt, sizeof opt, "id %s", b);
                int id = server_ids_in_options(opt);
                if (id && seed_add(&s->v[cur], a, id) < 0) goto oom;
                break;
            }
        }
        line = nl ? nl + 1 : NULL;
    }
    if (s->n > 1) qsort(s->v, s->n, sizeof *s->v, cmp_section);
    return s;
oom:
    server_id_seed_free(s);
    return NULL;
}

const struct server_id_ref *server_id_seed_get(const struct server_id_seed *s, const char *backend,
                                               size_t *n)
{
    struct seed_section key = {.backend = (char *)backend};
    const struct seed_section *hit =
        s && s->n ? bsearch(&key, s->v, s->n, sizeof *s->v, cmp_section) : NULL;
    *n = hit ? hit->n : 0;
    return hit ? hit->v : NULL;
}
