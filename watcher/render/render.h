/*
 * haproxy.cfg from a Synapse config and the backends discovery found, as a
 * structured model: services -> backends -> server lines, built once per
 * apply. The text is printed from the model; the runtime planner diffs two
 * models. Pure and deterministic: the same inputs give byte-identical text.
 *
 * Layout, as Synapse 0.18.9 writes it: a header comment, global, defaults
 * (no blank line between them), extra_sections, then for each enabled service
 * "frontend <service>" (only when haproxy.port is given: its lines, the bind
 * line, default_backend) and "backend <backend_name>" (its lines, then the
 * servers), listen lines going to whichever of the two takes them, and last
 * the shared frontend. The text always ends with a newline.
 *
 * Server lines are render_servers.h's, with ids kept from the previous model
 * (server_ids.h); "cookie <value>" (cookie_value_method) is written when the
 * backend or defaults has a "cookie" directive and the backend lines are not
 * exactly "mode tcp".
 *
 * A model holds one block per service: the section text up to the server
 * lines (its "head"), its servers, and the whole rendered section. Blocks are
 * immutable and shared between models (reference-counted inside render.c), so
 * a model built from the previous one re-renders only the services that
 * changed, and the planner skips a service whose block did not change.
 */
#ifndef SMARTDOCK_RENDER_H
#define SMARTDOCK_RENDER_H

#include <stdbool.h>
#include <stddef.h>

#include "backend.h"
#include "render_servers.h"
#include "syn_config.h"

struct render_opts {
    /*
     * Adds "option redispatch", "retries 3" and "retry-on conn-failure
     * empty-response response-timeout" to every mode-http backend or listen
     * section, each unless the service's lines or defaults already use that
     * keyword (user lines win).
     */
    bool safe_http_defaults;
    /* Server ids for a service rendered with no previous block: the ids of
     * the haproxy.cfg found at start, so a restart writes the same ones. May
     * be NULL. Borrowed. */
    const struct server_id_seed *id_seed;
    /* Parallel to cfg->services, may be NULL: servers HAProxy still holds
     * besides the previous model's (draining). Their names keep their ids,
     * and nobody else takes those ids meanwhile. Borrowed. */
    const struct render_server_list *held;
};

struct render_model;

/*
 * The model of the whole haproxy.cfg. backends is an array parallel to
 * cfg->services (NULL when nothing was discovered anywhere). opts may be NULL
 * (all off). prev may be NULL; when given (built from the same cfg and opts),
 * service i's block is shared from prev unless changed[i] (changed NULL: all
 * changed). Skipped servers and other degraded choices of the services
 * rendered now are appended to warnings (may be NULL) for the caller to log.
 * Free with render_model_free; NULL on allocation failure.
 */
struct render_model *render_model_new(const struct syn_config *cfg,
                                      const struct backend_list *backends,
                                      const struct render_opts *opts,
                                      const struct render_model *prev, const bool *changed,
                                      struct strlist *warnings);
void render_model_free(struct render_model *m);

/* Another model with m's content, sharing its blocks (no re-rendering):
 * for a caller that keeps the last model while handing m on. Free with
 * render_model_free; NULL on allocation failure. */
struct render_model *render_model_share(const struct render_model *m);

/* haproxy.cfg. Caller frees; NULL on allocation failure. */
char *render_model_text(const struct render_model *m);

size_t render_model_nservices(const struct render_model *m);

/* Service svc's servers in the order written (empty when disabled). Borrowed
 * from m. */
const struct render_server_list *render_model_servers(const struct render_model *m, size_t svc);

/* True when service svc's section is the same in both (same block, or same
 * text). */
bool render_model_service_same(const struct render_model *a, const struct render_model *b,
                               size_t svc);

/* True when a and b differ in server lines at most: the same global,
 * defaults, extra sections, section heads and shared frontend. */
bool render_model_same_frame(const struct render_model *a, const struct render_model *b);

/*
 * NULL when each server line of m is exactly render_server_line of its
 * server and no configured line holds a server or default-server line: then
 * "add server" with the same words makes the same server. Else why not
 * (static string).
 */
const char *render_model_runtime_refusal(const struct render_model *m);
/* The same for the servers of services svc[0..n) only (a cookie), for a
 * model whose frame passed render_model_runtime_refusal already. */
const char *render_model_services_refusal(const struct render_model *m, const size_t *svc,
                                          size_t n);

/* render_model_new + render_model_text: the whole haproxy.cfg. Caller frees;
 * NULL on allocation failure. */
char *render_haproxy_cfg(const struct syn_config *cfg, const struct backend_list *backends,
                         const struct render_opts *opts, struct strlist *warnings);

#endif
