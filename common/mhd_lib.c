#define MHD_LIB_NO_NAMES /* here the names are libmicrohttpd's own */
#include "mhd_lib.h"

#include "dl_lib.h"

struct mhd_lib_table mhd_lib_table;

static const struct dl_lib_symbol symbols[] = {
#define MHD_LIB_SYMBOL(name) {#name, (void **)&mhd_lib_table.name},
    MHD_LIB_FUNCTIONS(MHD_LIB_SYMBOL)
#undef MHD_LIB_SYMBOL
};

static struct dl_lib libmicrohttpd = {
    .soname = MHD_LIB_SONAME,
    .needed_for = "metrics.listen needs it (Debian package libmicrohttpd12)",
    .symbols = symbols,
    .nsymbols = sizeof symbols / sizeof *symbols,
    DL_LIB_PRIVATE_INIT,
};

int mhd_lib_load(char *err, size_t errlen)
{
    return dl_lib_load(&libmicrohttpd, err, errlen);
}
