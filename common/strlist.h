/*
 * A growable list of owned strings: config warnings, match problems, HAProxy
 * lines. v stays NULL-terminated once anything was pushed (or after
 * strlist_terminate), so it can be handed on as a plain char ** array.
 *
 * A zeroed struct is an empty list; strlist_clear frees every string and the
 * array and leaves the list empty again.
 */
#ifndef SMARTDOCK_STRLIST_H
#define SMARTDOCK_STRLIST_H

#include <stdbool.h>
#include <stddef.h>

struct strlist {
    char **v; /* n strings, then NULL (when v is not NULL) */
    size_t n, cap;
};

/* Both copy; 0, or -1 on allocation failure (the list is unchanged). */
int strlist_push(struct strlist *l, const char *s);
int strlist_pushf(struct strlist *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Makes v a (possibly empty) NULL-terminated array even when nothing was
 * pushed, so callers can always iterate; -1 on allocation failure. */
int strlist_terminate(struct strlist *l);
bool strlist_contains(const struct strlist *l, const char *s);
/* Same strings in the same order. */
bool strlist_equal(const struct strlist *a, const struct strlist *b);
/* Appends a copy of every string of src to dst; -1 on allocation failure. */
int strlist_extend(struct strlist *dst, const struct strlist *src);
void strlist_sort(struct strlist *l); /* by strcmp */
/* The strings joined by sep ("" for an empty list); caller frees; NULL on
 * allocation failure. */
char *strlist_join(const struct strlist *l, const char *sep);
void strlist_clear(struct strlist *l);

#endif
