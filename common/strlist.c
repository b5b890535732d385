#include "strlist.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for one more string and the terminating NULL. */
static int reserve(struct strlist *l)
{
    if (l->n + 2 > l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n] = NULL;
    return 0;
}

/* Takes s (malloc'ed) or frees it on failure. */
static int push_owned(struct strlist *l, char *s)
{
    if (!s || reserve(l) < 0) {
        free(s);
        return -1;
    }
    l->v[l->n++] = s;
    l->v[l->n] = NULL;
    return 0;
}

int strlist_push(struct strlist *l, const char *s)
{
    return push_owned(l, strdup(s));
}

int strlist_pushf(struct strlist *l, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int r = vasprintf(&s, fmt, ap);
    va_end(ap);
    return push_owned(l, r < 0 ? NULL : s);
}

int strlist_terminate(struct strlist *l)
{
    return reserve(l);
}

bool strlist_contains(const struct strlist *l, const char *s)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], s)) return true;
    return false;
}

bool strlist_equal(const struct strlist *a, const struct strlist *b)
{
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i])) return false;
    return true;
}

int strlist_extend(struct strlist *dst, const struct strlist *src)
{
    for (size_t i = 0; i < src->n; i++)
        if (strlist_push(dst, src->v[i]) < 0) return -1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void strlist_sort(struct strlist *l)
{
    if (l->n) qsort(l->v, l->n, sizeof *l->v, cmp_str);
}

char *strlist_join(const struct strlist *l, const char *sep)
{
    size_t len = 1, seplen = strlen(sep);
    for (size_t i = 0; i < l->n; i++)
        len += strlen(l->v[i]) + (i ? seplen : 0);
    char *out = malloc(len), *at = out;
    if (!out) return NULL;
    for (size_t i = 0; i < l->n; i++) {
        if (i) at = stpcpy(at, sep);
        at = stpcpy(at, l->v[i]);
    }
    *at = '\0';
    return out;
}

void strlist_clear(struct strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}
