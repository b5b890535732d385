#include "dl_lib.h"

#include "log.h"

#include <dlfcn.h>
#include <stdio.h>

/* Fills lib->err on failure; the slots stay NULL then. */
static int open_and_resolve(struct dl_lib *lib)
{
    char why[300];
    void *handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *e = dlerror();
        snprintf(why, sizeof why, "%s", e ? e : "dlopen failed");
        goto fail;
    }
    for (size_t i = 0; i < lib->nsymbols; i++) {
        dlerror();
        void *address = dlsym(handle, lib->symbols[i].name);
        if (!address) {
            snprintf(why, sizeof why, "no symbol %s", lib->symbols[i].name);
            for (size_t j = 0; j < i; j++)
                *lib->symbols[j].slot = NULL;
            dlclose(handle);
            goto fail;
        }
        *lib->symbols[i].slot = address;
    }
    if (lib->after_open && lib->after_open(why, sizeof why) < 0) goto fail;
    return 0;
fail:
    snprintf(lib->err, sizeof lib->err, "cannot load %s (%s); %s", lib->soname, why,
             lib->needed_for);
    return -1;
}

int dl_lib_load(struct dl_lib *lib, char *err, size_t errlen)
{
    pthread_mutex_lock(&lib->lock);
    if (lib->state == 0) lib->state = open_and_resolve(lib) == 0 ? 1 : -1;
    int state = lib->state;
    pthread_mutex_unlock(&lib->lock);
    if (state < 0 && err && errlen) snprintf(err, errlen, "%s", lib->err);
    return state > 0 ? 0 : -1;
}

int dl_lib_require(struct dl_lib *lib)
{
    if (dl_lib_load(lib, NULL, 0) == 0) return 0;
    pthread_mutex_lock(&lib->lock);
    bool first = !lib->logged;
    lib->logged = true;
    pthread_mutex_unlock(&lib->lock);
    if (first) log_error("%s", lib->err); /* err is final once loading failed */
    return -1;
}

int dl_lib_loaded(struct dl_lib *lib)
{
    pthread_mutex_lock(&lib->lock);
    int loaded = lib->state > 0;
    pthread_mutex_unlock(&lib->lock);
    return loaded;
}
