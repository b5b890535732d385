#include "watcher.h"

#include "discovery.h"
#include "file_output.h"
#include "haproxy_apply.h"
#include "log.h"
#include "render.h"
#include "selection.h"

#include <stdlib.h>
#include <string.h>

#define FIRST_ANSWER_WAIT_MS 3000 /* longest wait for every discovery before the first render */
#define COALESCE_MS 5             /* changes this close together make one render */

struct service_state {
    struct discovery *discovery;
    struct backend_list current;
    bool answered;      /* the discovery has published at least once */
    bool output_dirty;  /* file_output owes this service a write */
};

struct watcher {
    struct loop *loop;
    const struct syn_config *cfg;
    struct watcher_opts opts;
    struct discovery_hub hub;
    struct service_state *services;
    struct haproxy_apply *apply;
    uint64_t render_timer, first_answer_timer;
    bool started; /* first render done or its wait is over */
    bool render_owed;
    int status;
};

static void render_now(void *arg);

static void schedule_render(struct watcher *w)
{
    w->render_owed = true;
    if (!w->started || w->render_timer) return;
    w->render_timer = loop_timer(w->loop, COALESCE_MS, render_now, w);
}

static void log_warnings(struct syn_strlist *warnings)
{
    for (size_t i = 0; i < warnings->n; i++) log_warn("%s", warnings->v[i]);
    syn_strlist_clear(warnings);
}

static void write_file_output(struct watcher *w)
{
    if (!w->cfg->file_output_directory) return;
    for (size_t i = 0; i < w->cfg->nservices; i++) {
        struct service_state *s = &w->services[i];
        if (!s->output_dirty) continue;
        if (file_output_write(w->cfg->file_output_directory, w->cfg->services[i].name,
                              &s->current) == 0)
            s->output_dirty = false;
    }
}

static void render_now(void *arg)
{
    struct watcher *w = arg;
    w->render_timer = 0;
    if (!w->render_owed) return;
    w->render_owed = false;
    write_file_output(w);
    if (!w->cfg->has_haproxy || !w->cfg->haproxy.config_file_path) return;

    struct backend_list *lists = calloc(w->cfg->nservices ? w->cfg->nservices : 1, sizeof *lists);
    if (!lists) return;
    for (size_t i = 0; i < w->cfg->nservices; i++) lists[i] = w->services[i].current;
    struct render_opts ropts = {.safe_http_defaults = true};
    struct syn_strlist warnings = {0};
    uint64_t t0 = loop_now_ms();
    char *text = render_haproxy_cfg(w->cfg, lists, &ropts, &warnings);
    if (text)
        log_debug("rendered haproxy.cfg: %zu bytes in %llu ms", strlen(text),
                  (unsigned long long)(loop_now_ms() - t0));
    free(lists); /* shallow: the backends stay in w->services */
    log_warnings(&warnings);
    if (!text) {
        log_error("rendering haproxy.cfg: out of memory");
        return;
    }
    haproxy_apply_submit(w->apply, text, true);
    free(text);
}

static void on_update(void *arg, size_t index, struct backend_list *found)
{
    struct watcher *w = arg;
    const struct syn_service *svc = &w->cfg->services[index];
    struct service_state *s = &w->services[index];
    size_t found_n = found->n, filtered = 0;
    enum selection_outcome outcome = selection_apply(svc, found, &s->current, &filtered);
    if (filtered)
        log_debug("service %s: %zu of %zu backends left out by label_filters", svc->name,
                  filtered, found_n);
    bool first = !s->answered;
    s->answered = true;
    switch (outcome) {
    case SELECTION_KEPT_PREVIOUS:
        log_warn("service %s: discovery found no backends; keeping the %zu previous ones "
                 "(use_previous_backends)",
                 svc->name, s->current.n);
        break;
    case SELECTION_UPDATED:
        log_info("service %s: %zu backends", svc->name, s->current.n);
        s->output_dirty = true;
        schedule_render(w);
        break;
    case SELECTION_UNCHANGED:
        if (first) {
            s->output_dirty = true;
            schedule_render(w);
        }
        break;
    }
    if (!w->started) {
        bool all = true;
        for (size_t i = 0; i < w->cfg->nservices && all; i++)
            all = w->services[i].answered || !w->services[i].discovery;
        if (all) {
            loop_timer_cancel(w->loop, w->first_answer_timer);
            w->first_answer_timer = 0;
            w->started = true;
            w->render_owed = true;
            render_now(w);
        }
    }
}

static void on_first_answer_timeout(void *arg)
{
    struct watcher *w = arg;
    w->first_answer_timer = 0;
    if (w->started) return;
    for (size_t i = 0; i < w->cfg->nservices; i++)
        if (w->services[i].discovery && !w->services[i].answered)
            log_warn("service %s: no answer from discovery yet; rendering without it",
                     w->cfg->services[i].name);
    w->started = true;
    w->render_owed = true;
    render_now(w);
}

static void on_applied(void *arg, bool ok, bool reloaded)
{
    struct watcher *w = arg;
    (void)reloaded;
    if (!w->opts.once) return;
    if (!haproxy_apply_idle(w->apply)) return;
    w->status = ok ? 0 : 1;
    loop_stop(w->loop);
}

struct watcher *watcher_new(struct loop *l, const struct syn_config *cfg,
                            const struct watcher_opts *opts)
{
    struct watcher *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->loop = l;
    w->cfg = cfg;
    w->opts = *opts;
    w->hub.loop = l;
    w->services = calloc(cfg->nservices ? cfg->nservices : 1, sizeof *w->services);
    if (!w->services) {
        free(w);
        return NULL;
    }
    const struct syn_haproxy *h = &cfg->haproxy;
    struct haproxy_apply_opts ao = {
        .config_file_path = h->config_file_path,
        .candidate_path = h->candidate_config_file_path,
        .haproxy_binary = h->haproxy_binary,
        .check_command = h->check_command,
        .reload_command = h->reload_command,
        .do_writes = h->do_writes,
        .do_checks = true, /* never swap in a config HAProxy refuses */
        .do_reloads = h->do_reloads,
        .restart_interval_ms = (int)(h->restart_interval * 1000),
        .restart_jitter_pct = (int)(h->restart_jitter * 100),
    };
    if (cfg->has_haproxy && h->config_file_path)
        w->apply = haproxy_apply_new(l, &ao, on_applied, w);
    for (size_t i = 0; i < cfg->nservices; i++)
        w->services[i].discovery = discovery_new(&w->hub, &cfg->services[i], i, on_update, w);
    w->first_answer_timer = loop_timer(l, FIRST_ANSWER_WAIT_MS, on_first_answer_timeout, w);
    return w;
}

bool watcher_child_exited(struct watcher *w, pid_t pid, int status)
{
    return w->apply && haproxy_apply_child_exited(w->apply, pid, status);
}

int watcher_status(const struct watcher *w)
{
    return w->status;
}

void watcher_free(struct watcher *w)
{
    if (!w) return;
    if (w->render_timer) loop_timer_cancel(w->loop, w->render_timer);
    if (w->first_answer_timer) loop_timer_cancel(w->loop, w->first_answer_timer);
    for (size_t i = 0; i < w->cfg->nservices; i++) discovery_free(w->services[i].discovery);
    discovery_hub_release(&w->hub);
    for (size_t i = 0; i < w->cfg->nservices; i++) backend_list_clear(&w->services[i].current);
    haproxy_apply_free(w->apply);
    free(w->services);
    free(w);
}
