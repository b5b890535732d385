/*
 * libcurl, loaded on first use. A watcher that only reads ZooKeeper never
 * makes an HTTP request, and libcurl pulls ~30 libraries (TLS, Kerberos,
 * LDAP, SSH) costing ~6 MiB of RSS, so it is dlopen'd ("libcurl.so.4") when
 * the first easy handle or header list is made, or when a client that will
 * need it is created (curl_lib_load, which can report why it failed).
 *
 * Code keeps calling curl_* by name: after this header, those names are
 * macros for the resolved table. Include this header, never <curl/curl.h>
 * directly (curl's type-check macros would clash; CURL_DISABLE_TYPECHECK
 * is set for the whole build).
 */
#ifndef SMARTDOCK_CURL_LIB_H
#define SMARTDOCK_CURL_LIB_H

#ifndef CURL_DISABLE_TYPECHECK
#define CURL_DISABLE_TYPECHECK
#endif
#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>

#define CURL_LIB_SONAME "libcurl.so.4"

/* Every libcurl function smartdock calls. */
#define CURL_LIB_FUNCTIONS(X)                                                                      \
    X(curl_global_init)                                                                            \
    X(curl_global_cleanup)                                                                         \
    X(curl_easy_init)                                                                              \
    X(curl_easy_cleanup)                                                                           \
    X(curl_easy_setopt)                                                                            \
    X(curl_easy_getinfo)                                                                           \
    X(curl_easy_perform)                                                                           \
    X(curl_easy_strerror)                                                                          \
    X(curl_slist_append)                                                                           \
    X(curl_slist_free_all)                                                                         \
    X(curl_multi_init)                                                                             \
    X(curl_multi_cleanup)                                                                          \
    X(curl_multi_add_handle)                                                                       \
    X(curl_multi_remove_handle)                                                                    \
    X(curl_multi_poll)                                                                             \
    X(curl_multi_perform)                                                                          \
    X(curl_multi_info_read)

struct curl_lib_table {
#define CURL_LIB_SLOT(name) __typeof__(name) *name;
    CURL_LIB_FUNCTIONS(CURL_LIB_SLOT)
#undef CURL_LIB_SLOT
};
/* Filled by curl_lib_load; all NULL before. */
extern struct curl_lib_table curl_lib_table;

/* Thread-safe, once per process: dlopen libcurl, resolve the table, call
 * curl_global_init. 0 when loaded (now or before); -1 with err naming the
 * library and the reason, the same answer every time. */
int curl_lib_load(char *err, size_t errlen);
bool curl_lib_loaded(void);

/* The entry points: they load libcurl first, log its error once if it
 * cannot be loaded and then return NULL, as curl does when out of memory. */
CURL *curl_lib_easy_init(void);
struct curl_slist *curl_lib_slist_append(struct curl_slist *list, const char *s);
CURLcode curl_lib_global_init(long flags);
/* Freeing NULL is fine, as in curl, with libcurl loaded or not. */
void curl_lib_easy_cleanup(CURL *easy);
void curl_lib_slist_free_all(struct curl_slist *list);

#ifndef CURL_LIB_NO_NAMES
#define curl_global_init curl_lib_global_init
#define curl_global_cleanup curl_lib_table.curl_global_cleanup
#define curl_easy_init curl_lib_easy_init
#define curl_easy_cleanup curl_lib_easy_cleanup
/* curl.h's own macros for these two only check for three arguments. */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_setopt(handle, option, value)                                                    \
    curl_lib_table.curl_easy_setopt(handle, option, value)
#define curl_easy_getinfo(handle, info, arg) curl_lib_table.curl_easy_getinfo(handle, info, arg)
#define curl_easy_perform curl_lib_table.curl_easy_perform
#define curl_easy_strerror curl_lib_table.curl_easy_strerror
#define curl_slist_append curl_lib_slist_append
#define curl_slist_free_all curl_lib_slist_free_all
#define curl_multi_init curl_lib_table.curl_multi_init
#define curl_multi_cleanup curl_lib_table.curl_multi_cleanup
#define curl_multi_add_handle curl_lib_table.curl_multi_add_handle
#define curl_multi_remove_handle curl_lib_table.curl_multi_remove_handle
#define curl_multi_poll curl_lib_table.curl_multi_poll
#define curl_multi_perform curl_lib_table.curl_multi_perform
#define curl_multi_info_read curl_lib_table.curl_multi_info_read
#endif

#endif
