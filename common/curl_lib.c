#define CURL_LIB_NO_NAMES /* here the names are libcurl's own */
#include "curl_lib.h"

#include "dl_lib.h"

#include <stdio.h>

struct curl_lib_table curl_lib_table;

static const struct dl_lib_symbol symbols[] = {
#define CURL_LIB_SYMBOL(name) {#name, (void **)&curl_lib_table.name},
    CURL_LIB_FUNCTIONS(CURL_LIB_SYMBOL)
#undef CURL_LIB_SYMBOL
};

/* Once per process, right after loading: libcurl is not thread-safe before. */
static int global_init(char *err, size_t errlen)
{
    CURLcode rc = curl_lib_table.curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc == CURLE_OK) return 0;
    snprintf(err, errlen, "curl_global_init: %s", curl_lib_table.curl_easy_strerror(rc));
    return -1;
}

static struct dl_lib libcurl = {
    .soname = CURL_LIB_SONAME,
    .needed_for = "Docker, etcd and http checks need it (Debian package libcurl4)",
    .symbols = symbols,
    .nsymbols = sizeof symbols / sizeof *symbols,
    .after_open = global_init,
    DL_LIB_PRIVATE_INIT,
};

int curl_lib_load(char *err, size_t errlen)
{
    return dl_lib_load(&libcurl, err, errlen);
}

bool curl_lib_loaded(void)
{
    return dl_lib_loaded(&libcurl);
}

CURL *curl_lib_easy_init(void)
{
    return dl_lib_require(&libcurl) == 0 ? curl_lib_table.curl_easy_init() : NULL;
}

struct curl_slist *curl_lib_slist_append(struct curl_slist *list, const char *s)
{
    return dl_lib_require(&libcurl) == 0 ? curl_lib_table.curl_slist_append(list, s) : NULL;
}

CURLcode curl_lib_global_init(long flags)
{
    if (dl_lib_require(&libcurl) < 0) return CURLE_FAILED_INIT;
    return curl_lib_table.curl_global_init(flags);
}

void curl_lib_easy_cleanup(CURL *easy)
{
    if (easy) curl_lib_table.curl_easy_cleanup(easy);
}

void curl_lib_slist_free_all(struct curl_slist *list)
{
    if (list) curl_lib_table.curl_slist_free_all(list);
}
