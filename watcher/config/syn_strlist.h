/*
 * A growable list of owned strings: config lines, warnings. (To be replaced
 * by common/strlist.)
 */
#ifndef SMARTDOCK_SYN_STRLIST_H
#define SMARTDOCK_SYN_STRLIST_H

#include <stddef.h>

struct syn_strlist {
    char **v;
    size_t n, cap;
};

/* Both copy; 0 or -1 on allocation failure. */
int syn_strlist_push(struct syn_strlist *l, const char *s);
int syn_strlist_pushf(struct syn_strlist *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void syn_strlist_clear(struct syn_strlist *l);

#endif
