/*
 * libmicrohttpd, loaded when a daemon is configured to serve /metrics
 * (mhd_lib_load from metrics_http_new): without metrics the library, and
 * GnuTLS behind it (~4 MiB of RSS), is never mapped. After this header the
 * MHD_* functions smartdock calls are macros for the resolved table.
 */
#ifndef SMARTDOCK_MHD_LIB_H
#define SMARTDOCK_MHD_LIB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <microhttpd.h>

#define MHD_LIB_SONAME "libmicrohttpd.so.12"

/* Every libmicrohttpd function smartdock calls. */
#define MHD_LIB_FUNCTIONS(X)                                                                       \
    X(MHD_start_daemon)                                                                            \
    X(MHD_stop_daemon)                                                                             \
    X(MHD_run)                                                                                     \
    X(MHD_get_daemon_info)                                                                         \
    X(MHD_create_response_from_buffer)                                                             \
    X(MHD_add_response_header)                                                                     \
    X(MHD_queue_response)                                                                          \
    X(MHD_destroy_response)

struct mhd_lib_table {
#define MHD_LIB_SLOT(name) __typeof__(name) *name;
    MHD_LIB_FUNCTIONS(MHD_LIB_SLOT)
#undef MHD_LIB_SLOT
};
/* Filled by mhd_lib_load; all NULL before. */
extern struct mhd_lib_table mhd_lib_table;

/* Thread-safe, once per process. 0 when loaded (now or before); -1 with
 * err naming the library and the reason, the same answer every time. No
 * MHD_* function may be called before it returned 0. */
int mhd_lib_load(char *err, size_t errlen);

#ifndef MHD_LIB_NO_NAMES
#define MHD_start_daemon mhd_lib_table.MHD_start_daemon
#define MHD_stop_daemon mhd_lib_table.MHD_stop_daemon
#define MHD_run mhd_lib_table.MHD_run
#define MHD_get_daemon_info mhd_lib_table.MHD_get_daemon_info
#define MHD_create_response_from_buffer mhd_lib_table.MHD_create_response_from_buffer
#define MHD_add_response_header mhd_lib_table.MHD_add_response_header
#define MHD_queue_response mhd_lib_table.MHD_queue_response
#define MHD_destroy_response mhd_lib_table.MHD_destroy_response
#endif

#endif
