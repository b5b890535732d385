/*
 * Which server lines of a candidate haproxy.cfg HAProxy refused, read from
 * the output of `haproxy -c`. HAProxy 2.x names the file and line of every
 * error it finds while parsing and checking ("[ALERT] ... : config : parsing
 * [/etc/haproxy/haproxy.cfg.candidate:42] : ..."); the line is looked up in
 * the text that was checked, so a registration that breaks the config can be
 * found with one failed check instead of a check per server. Pure.
 */
#ifndef SMARTDOCK_HAPROXY_BLAME_H
#define SMARTDOCK_HAPROXY_BLAME_H

#include <stdbool.h>
#include <stddef.h>

struct blamed_server {
    char *section; /* the backend or listen section it is in */
    char *name;    /* its server name */
    char *host;    /* without IPv6 brackets */
    int port;
    char *message; /* HAProxy's first complaint about the line, one line */
};

struct blamed_list {
    struct blamed_server *v;
    size_t n;
};

/*
 * Fills out with every server line of cfg_text that an [ALERT] of output
 * points at (each line once). *other_errors is set when an alert points at
 * a line that is not a server line, or at no line at all (besides HAProxy's
 * closing summary): the config itself is wrong too. Returns 0, or -1 on
 * allocation failure.
 */
int haproxy_blame(const char *cfg_text, const char *output, struct blamed_list *out,
                  bool *other_errors);
void blamed_list_clear(struct blamed_list *l);

#endif
