/*
 * Optional shared libraries, opened at run time on first use (as systemd
 * treats its optional dependencies): a daemon that never needs libcurl or
 * libmicrohttpd never maps them, nor the dozens of libraries they pull in.
 * curl_lib.c, mhd_lib.c and sha1.c are the users; each describes its library in a
 * static struct dl_lib with the table of function pointers to fill.
 */
#ifndef SMARTDOCK_DL_LIB_H
#define SMARTDOCK_DL_LIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* One function to resolve: its name and where its address goes. */
struct dl_lib_symbol {
    const char *name;
    void **slot;
};

struct dl_lib {
    const char *soname;     /* "libcurl.so.4" */
    const char *needed_for; /* ends the error: "metrics.listen needs it (Debian: ...)" */
    const struct dl_lib_symbol *symbols;
    size_t nsymbols;
    /* Run once after every symbol resolved (curl_global_init); NULL: none. */
    int (*after_open)(char *err, size_t errlen);

    /* Private: set up with DL_LIB_PRIVATE_INIT. */
    pthread_mutex_t lock;
    int state; /* 0 not tried, 1 loaded, -1 failed (for good) */
    char err[512];
    bool logged; /* dl_lib_require logged err */
};
#define DL_LIB_PRIVATE_INIT .lock = PTHREAD_MUTEX_INITIALIZER

/* Thread-safe; the first call dlopen()s the library (RTLD_NOW | RTLD_LOCAL,
 * never closed) and fills every slot. 0 when loaded (now or before); -1
 * with err naming the library, the reason and what needs it, the same
 * answer every time (err may be NULL). */
int dl_lib_load(struct dl_lib *lib, char *err, size_t errlen);
/* dl_lib_load for a caller that has no error to hand back (an entry point
 * that returns NULL, as the library itself would when out of memory): the
 * first failure is logged, naming the library, and later ones are not. */
int dl_lib_require(struct dl_lib *lib);
/* Whether an earlier dl_lib_load succeeded. */
int dl_lib_loaded(struct dl_lib *lib);

#endif
