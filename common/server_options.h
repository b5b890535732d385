/*
 * The allow-list for haproxy_server_options that come from outside the
 * trusted config: a znode, an etcd value or a container label. Pure.
 *
 * An options string is a sequence of words separated by blanks: a keyword
 * the policy allows, followed by the arguments that keyword takes. A word
 * is made of [A-Za-z0-9._:/+-] only, so quotes, '$' expansions, '%'
 * templates and anything HAProxy would read as syntax never pass. Numbers
 * must lie in the keyword's range and durations use HAProxy's units
 * (us, ms, s, m, h, d; no unit means ms).
 *
 * Keywords that can reach files, the environment, other addresses, sockets,
 * namespaces or other servers (disabled, cookie, track, source, usesrc,
 * interface, namespace, sni, crt, ca-file, crl-file, redir, addr, init-addr,
 * resolvers, id, on-marked-down, on-marked-up) are never allowed, and
 * neither is any keyword smartdock does not know the arguments of.
 */
#ifndef SMARTDOCK_SERVER_OPTIONS_H
#define SMARTDOCK_SERVER_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>

/* Longest options string accepted from a registry or label. */
#define SERVER_OPTIONS_MAX_LEN 256

/* A set of allowed keywords; NULL means the default list. */
struct server_options_policy;

/*
 * A policy allowing exactly the given keywords. Each must be one whose
 * arguments smartdock knows (server_options_keyword_is_known) and not one
 * of the refused words; otherwise NULL is returned and err names it.
 * Caller frees with server_options_policy_free.
 */
struct server_options_policy *server_options_policy_new(const char *const *keywords, size_t n,
                                                        char *err, size_t errlen);
void server_options_policy_free(struct server_options_policy *p);

/* The default list, NULL-terminated; borrowed, static. */
const char *const *server_options_default_keywords(void);
/* True for a keyword whose argument syntax smartdock validates. */
bool server_options_keyword_is_known(const char *keyword);
/* True for a word that is never allowed from a registry (see above). */
bool server_options_keyword_is_refused(const char *keyword);

/*
 * 0 when every word of opts passes policy (NULL: the default list); -1
 * otherwise, with err a sentence naming the offending word and why, and
 * *bad_word (if not NULL) a copy of that word for the caller to free.
 * NULL or "" opts pass.
 */
int server_options_check(const struct server_options_policy *policy, const char *opts, char *err,
                         size_t errlen, char **bad_word);

#endif
