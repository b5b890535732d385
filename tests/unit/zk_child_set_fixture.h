/* Shared by the tests that feed a zk_child_set. Include after cmocka.h and
 * zk_child_set.h. */
#ifndef SMARTDOCK_TEST_ZK_CHILD_SET_FIXTURE_H
#define SMARTDOCK_TEST_ZK_CHILD_SET_FIXTURE_H

#include <stdio.h>
#include <string.h>

/* The published view as "name@host:port,..." in order, or "-" when none.
 * The text lives until the next call. */
static inline const char *update(struct zk_child_set *cs)
{
    static char buf[1024];
    struct backend_list list;
    if (!zk_child_set_take_update(cs, &list)) return "-";
    buf[0] = 0;
    for (size_t i = 0; i < list.n; i++) {
        char one[128];
        snprintf(one, sizeof one, "%s%s@%s:%d", i ? "," : "", list.v[i].name, list.v[i].host,
                 list.v[i].port);
        strcat(buf, one);
    }
    backend_list_clear(&list);
    return buf;
}

#endif
