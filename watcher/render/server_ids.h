/*
 * Synapse's server-id map for one backend: every server line carries "id N",
 * and a server keeps its id for as long as it exists. Pure.
 *
 * Rules (Synapse 0.18.9's haproxy generator, kept as facts):
 *   - a registration that sets "id N" in its haproxy_server_options keeps N;
 *   - a server whose name had an id before keeps it;
 *   - a new server gets the smallest id in 1..max_id that no server holds,
 *     counting the servers of the previous generation too: an id is handed
 *     out again only once its server is gone (from the next change on);
 *   - new ids are handed out in the order the servers are given, and a
 *     server for which no id is left gets none. (Synapse goes by discovery
 *     order; render gives the written order, so that the output does not
 *     depend on the order a registry lists its children in.)
 *
 * Which servers "held an id before" is the caller's to say: the previous
 * render of the service, the servers HAProxy still drains, and at start the
 * ids of the haproxy.cfg found on disk (server_id_seed), so a restarted
 * watcher writes the same ids as the one before it.
 */
#ifndef SMARTDOCK_SERVER_IDS_H
#define SMARTDOCK_SERVER_IDS_H

#include <stddef.h>

/* A server name and the id it holds (0: none). Borrowed name. */
struct server_id_ref {
    const char *name;
    int id;
};

/*
 * ids[i] for names[i] (n of them, unique). fixed[i] > 0 is the id
 * a registration set itself; 0 otherwise (may be NULL: none fixed). known
 * (nknown, may repeat names; the first wins) is what held ids before. ids[i]
 * is 0 when no id in 1..max_id is free. O((n + nknown) log(n + nknown)).
 * Returns 0, or -1 on allocation failure.
 */
int server_ids_assign(const char *const *names, const int *fixed, size_t n,
                      const struct server_id_ref *known, size_t nknown, int max_id, int *ids);

/* "id N" among blank-separated options: N (1..INT_MAX), or 0. */
int server_ids_in_options(const char *options);

/* Server ids read from a haproxy.cfg: per backend (or listen) section, each
 * "server <name> ... id <N>" line. */
struct server_id_seed;

/* Parses text (may be NULL: an empty seed). NULL only on allocation failure. */
struct server_id_seed *server_id_seed_parse(const char *text);
void server_id_seed_free(struct server_id_seed *s);

/* The servers of section backend that had ids (borrowed; *n may be 0). */
const struct server_id_ref *server_id_seed_get(const struct server_id_seed *s, const char *backend,
                                               size_t *n);

#endif
