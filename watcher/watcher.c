#include "watcher.h"

#include "discovery.h"
#include "file_output.h"
#include "haproxy_apply.h"
#include "haproxy_managed.h"
#include "log.h"
#include "render.h"
#include "runtime_plan.h"
#include "runtime_sync.h"
#include "selection.h"
#include "state_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIRST_ANSWER_WAIT_MS 3000 /* longest wait for every discovery before the first render */
#define COALESCE_MS 5             /* changes this close together make one render */
#define RUNTIME_COMMAND_MS 5000   /* longest wait for one stats-socket answer */
#define MASTER_RELOAD_MS 20000    /* longest wait for a managed reload's new worker */

struct service_state {
    struct discovery *discovery;
    struct backend_list current;
    bool answered;     /* the discovery has published at least once */
    bool output_dirty; /* file_output owes this service a write */
};

struct watcher {
    struct loop *loop;
    const struct syn_config *cfg;
    struct watcher_opts opts;
    struct discovery_hub hub;
    struct service_state *services;
    struct haproxy_apply *apply;
    struct runtime_sync *rs;          /* NULL: every change reloads */
    struct haproxy_managed *managed;  /* NULL unless haproxy.managed */
    char *reload_cmd, *master_socket; /* managed mode's own */
    uint64_t render_timer, first_answer_timer;
    bool started; /* first render done or its wait is over */
    bool render_owed;
    bool state_dirty;  /* state_file_path owes a save */
    char *state_path;  /* state_file_path, or haproxy.cfg's path + ".state.json" */
    bool force_reload;  /* the runtime API failed: the next render reloads */
    char *batch_text;   /* the config a running runtime batch puts into effect */
    char *pending_skel; /* the newest config submitted for a reload: its skeleton */
    struct render_server_list *pending_lists; /* ... and its servers */
    unsigned runtime_changes;
    int status;
};

static void render_now(void *arg);

static void schedule_render(struct watcher *w)
{
    w->render_owed = true;
    if (!w->started || w->render_timer) return;
    w->render_timer = loop_timer(w->loop, COALESCE_MS, render_now, w);
}

static void log_warnings(struct strlist *warnings)
{
    for (size_t i = 0; i < warnings->n; i++)
        log_warn("%s", warnings->v[i]);
    strlist_clear(warnings);
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

static void lists_free(const struct watcher *w, struct render_server_list *lists)
{
    for (size_t i = 0; lists && i < w->cfg->nservices; i++)
        render_server_list_clear(&lists[i]);
    free(lists);
}

/* The servers render writes, per service (what runtime_sync compares). */
static struct render_server_list *server_lists(const struct watcher *w)
{
    struct render_server_list *l = calloc(w->cfg->nservices ? w->cfg->nservices : 1, sizeof *l);
    for (size_t i = 0; l && i < w->cfg->nservices; i++) {
        if (w->cfg->services[i].haproxy.disabled) continue;
        if (render_service_servers(w->cfg, i, &w->services[i].current, &l[i], NULL) < 0) {
            lists_free(w, l);
            return NULL;
        }
    }
    return l;
}

static void clear_pending(struct watcher *w)
{
    free(w->pending_skel);
    w->pending_skel = NULL;
    lists_free(w, w->pending_lists);
    w->pending_lists = NULL;
}

/* A reload puts text into effect; lists (taken over) are its servers. */
static void submit_reload(struct watcher *w, const char *text, struct render_server_list *lists)
{
    if (w->rs) {
        runtime_sync_invalidate(w->rs);
        clear_pending(w);
        w->pending_skel = runtime_skeleton(text);
        w->pending_lists = lists;
        if (!w->pending_skel) clear_pending(w);
    } else {
        lists_free(w, lists);
    }
    haproxy_apply_submit(w->apply, text, true);
}

static void save_state(struct watcher *w)
{
    const char *path = w->state_path;
    if (!path || !w->state_dirty) return;
    struct backend_list *lists = calloc(w->cfg->nservices ? w->cfg->nservices : 1, sizeof *lists);
    if (!lists) return;
    for (size_t i = 0; i < w->cfg->nservices; i++)
        lists[i] = w->services[i].current; /* shallow */
    if (state_cache_save(path, w->cfg, lists) == 0) w->state_dirty = false;
    free(lists);
}

/* Seeds every service with the backends saved by an earlier run, so a
 * watcher that starts while its registry is away still has servers. */
static void load_state(struct watcher *w)
{
    /* Without a cache, a watcher restarted while its registry is away would
     * replace a working haproxy.cfg with empty backends: keep one by default. */
    const struct syn_haproxy *h = &w->cfg->haproxy;
    if (h->state_file_path)
        w->state_path = strdup(h->state_file_path);
    else if (h->config_file_path && h->do_writes &&
             asprintf(&w->state_path, "%s.state.json", h->config_file_path) < 0)
        w->state_path = NULL;
    const char *path = w->state_path;
    if (!path) return;
    struct backend_list *lists = calloc(w->cfg->nservices ? w->cfg->nservices : 1, sizeof *lists);
    if (!lists) return;
    int n = state_cache_load(path, w->cfg, w->cfg->haproxy.state_file_ttl, lists);
    for (size_t i = 0; i < w->cfg->nservices; i++) {
        backend_list_sort_unique(&lists[i]);
        w->services[i].current = lists[i];
    }
    free(lists);
    if (n > 0) log_info("state_file_path %s: starting from %d saved backends", path, n);
}

static void render_now(void *arg)
{
    struct watcher *w = arg;
    w->render_timer = 0;
    if (!w->render_owed) return;
    if (w->rs && runtime_sync_busy(w->rs)) return; /* rendered again when the batch ends */
    /* When the change can only be a reload, render once per check of
     * haproxy.cfg rather than once per change during a burst: on_applied
     * renders the newest state when the check ends. Runtime changes never
     * wait for the file: it only follows HAProxy. */
    bool runtime_possible = w->rs && !w->force_reload && runtime_sync_ready(w->rs);
    if (!runtime_possible && w->apply && haproxy_apply_child_running(w->apply)) return;
    w->render_owed = false;
    write_file_output(w);
    save_state(w);
    if (!w->cfg->has_haproxy || !w->cfg->haproxy.config_file_path) return;

    struct backend_list *lists = calloc(w->cfg->nservices ? w->cfg->nservices : 1, sizeof *lists);
    if (!lists) return;
    for (size_t i = 0; i < w->cfg->nservices; i++)
        lists[i] = w->services[i].current;
    struct render_opts ropts = {.safe_http_defaults = w->cfg->haproxy.safe_http_defaults};
    struct strlist warnings = {0};
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
    struct render_server_list *servers = w->rs ? server_lists(w) : NULL;
    if (w->rs && servers && !w->force_reload) {
        char why[400];
        bool ready = runtime_sync_ready(w->rs);
        switch (runtime_sync_apply(w->rs, text, &servers, why, sizeof why)) {
        case RUNTIME_APPLYING:
            w->batch_text = text;
            return;
        case RUNTIME_NOTHING:
            haproxy_apply_submit(w->apply, text, false);
            lists_free(w, servers);
            free(text);
            return;
        case RUNTIME_RELOAD:
            if (ready) log_info("runtime: %s; reloading instead", why);
            break;
        }
    }
    w->force_reload = false;
    submit_reload(w, text, servers);
    free(text);
}

/* A runtime batch ended: keep haproxy.cfg in step, or fall back to a reload. */
static void on_runtime_done(void *arg, bool ok, const char *why)
{
    struct watcher *w = arg;
    char *text = w->batch_text;
    w->batch_text = NULL;
    if (ok && text) {
        w->runtime_changes++;
        log_info("runtime: servers changed without a reload (runtime change #%u; %u reloads so "
                 "far); writing haproxy.cfg to match",
                 w->runtime_changes, haproxy_apply_reload_count(w->apply));
        haproxy_apply_submit(w->apply, text, false);
    } else {
        log_warn("runtime: %s; falling back to a validated reload", why ? why : "failed");
        w->force_reload = true;
        w->render_owed = true;
    }
    free(text);
    if (w->render_owed) schedule_render(w);
}

static void on_update(void *arg, size_t index, struct backend_list *found)
{
    struct watcher *w = arg;
    const struct syn_service *svc = &w->cfg->services[index];
    struct service_state *s = &w->services[index];
    size_t found_n = found->n, filtered = 0;
    enum selection_outcome outcome = selection_apply(svc, found, &s->current, &filtered);
    if (filtered)
        log_debug("service %s: %zu of %zu backends left out by label_filters", svc->name, filtered,
                  found_n);
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
        w->state_dirty = true;
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
    if (w->render_owed) schedule_render(w);
    if (w->rs && !ok) {
        /* HAProxy runs something else than we were told: reload next time. */
        clear_pending(w);
        runtime_sync_invalidate(w->rs);
    } else if (w->rs && reloaded && w->pending_lists && haproxy_apply_idle(w->apply)) {
        runtime_sync_reloaded(w->rs, w->pending_skel, w->pending_lists);
        w->pending_skel = NULL;
        w->pending_lists = NULL;
    }
    if (w->managed && ok) haproxy_managed_ensure_running(w->managed);
    if (!w->opts.once) return;
    if (!haproxy_apply_idle(w->apply)) return;
    w->status = ok ? 0 : 1;
    loop_stop(w->loop);
}

static void on_managed_started(void *arg, pid_t pid)
{
    struct watcher *w = arg;
    (void)pid;
    if (w->rs && haproxy_managed_start_count(w->managed) > 1) {
        log_info("runtime: haproxy restarted from %s; the next change reloads it",
                 w->cfg->haproxy.config_file_path);
        runtime_sync_invalidate(w->rs);
    }
}

/* A restart waits while haproxy.cfg is being written or a batch runs, so
 * that HAProxy starts from the servers it had. */
static bool managed_may_start(void *arg)
{
    struct watcher *w = arg;
    return haproxy_apply_idle(w->apply) && !(w->rs && runtime_sync_busy(w->rs));
}

/* Managed mode: the master socket path and our own reload command. */
static int managed_setup(struct watcher *w)
{
    const struct syn_haproxy *h = &w->cfg->haproxy;
    if (!w->opts.self_exe || strchr(w->opts.self_exe, '\'') || strchr(h->config_file_path, '\'')) {
        log_error("haproxy.managed: cannot build the reload command (no path to "
                  "smartdock-watcher, or a quote in a path)");
        return -1;
    }
    if (asprintf(&w->master_socket, "%s.master.sock", h->config_file_path) < 0) {
        w->master_socket = NULL;
        return -1;
    }
    if (asprintf(&w->reload_cmd, "'%s' --master-reload '%s'", w->opts.self_exe, w->master_socket) <
        0) {
        w->reload_cmd = NULL;
        return -1;
    }
    struct haproxy_managed_opts mo = {h->haproxy_binary, h->config_file_path, w->master_socket};
    w->managed = haproxy_managed_new(w->loop, &mo, on_managed_started, managed_may_start, w);
    return w->managed ? 0 : -1;
}

/* The runtime API needs a socket, and a reload to fall back on. */
static void runtime_setup(struct watcher *w)
{
    const struct syn_haproxy *h = &w->cfg->haproxy;
    const char *off = NULL;
    if (w->opts.once)
        off = "--once";
    else if (!h->do_socket || !h->socket_files.n)
        off = "no socket_file_path (or do_socket is false)";
    else if (!h->do_reloads || (!h->managed && !h->reload_command))
        off = "reloads are off, so a failed runtime command could not fall back";
    if (off) {
        if (!w->opts.once)
            log_info("runtime API off (%s): every server change reloads haproxy", off);
        return;
    }
    struct runtime_sync_opts ro = {h->socket_files.v[0], (unsigned)h->drain_timeout_ms,
                                   RUNTIME_COMMAND_MS};
    w->rs = runtime_sync_new(w->loop, w->cfg, &ro, on_runtime_done, w);
    if (w->rs)
        log_info("runtime API on via %s: server changes apply without a reload once haproxy "
                 "runs our config; drain_timeout_ms %d",
                 h->socket_files.v[0], h->drain_timeout_ms);
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
    bool have_haproxy = cfg->has_haproxy && h->config_file_path;
    if (have_haproxy && h->managed && !opts->once && managed_setup(w) < 0) {
        watcher_free(w);
        return NULL;
    }
    struct haproxy_apply_opts ao = {
        .config_file_path = h->config_file_path,
        .candidate_path = h->candidate_config_file_path,
        .haproxy_binary = h->haproxy_binary,
        .check_command = h->check_command,
        .reload_command = w->reload_cmd ? w->reload_cmd : h->reload_command,
        .do_writes = h->do_writes,
        .do_checks = true, /* never swap in a config HAProxy refuses */
        .do_reloads = h->do_reloads,
        .restart_interval_ms = (int)(h->restart_interval * 1000),
        .restart_jitter_pct = (int)(h->restart_jitter * 100),
    };
    if (have_haproxy) {
        w->apply = haproxy_apply_new(l, &ao, on_applied, w);
        if (w->apply && w->managed)
            haproxy_apply_set_child_timeout_ms(w->apply, MASTER_RELOAD_MS + 5000);
        if (w->apply) runtime_setup(w);
    }
    load_state(w);
    for (size_t i = 0; i < cfg->nservices; i++)
        w->services[i].discovery = discovery_new(&w->hub, &cfg->services[i], i, on_update, w);
    w->first_answer_timer = loop_timer(l, FIRST_ANSWER_WAIT_MS, on_first_answer_timeout, w);
    return w;
}

bool watcher_child_exited(struct watcher *w, pid_t pid, int status)
{
    return (w->apply && haproxy_apply_child_exited(w->apply, pid, status)) ||
           (w->managed && haproxy_managed_child_exited(w->managed, pid, status));
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
    for (size_t i = 0; i < w->cfg->nservices; i++)
        discovery_free(w->services[i].discovery);
    discovery_hub_release(&w->hub);
    for (size_t i = 0; i < w->cfg->nservices; i++)
        backend_list_clear(&w->services[i].current);
    if (w->apply) {
        struct runtime_sync_stats st = {0};
        if (w->rs) runtime_sync_get_stats(w->rs, &st);
        log_info("stats: %u reloads, %u runtime changes (%u commands, %u servers removed, %u "
                 "drains cut short), %u fallbacks to a reload, %u haproxy starts",
                 haproxy_apply_reload_count(w->apply), w->runtime_changes, st.commands, st.removed,
                 st.forced, st.fallbacks, w->managed ? haproxy_managed_start_count(w->managed) : 0);
    }
    runtime_sync_free(w->rs);
    haproxy_managed_free(w->managed);
    haproxy_apply_free(w->apply);
    clear_pending(w);
    free(w->batch_text);
    free(w->reload_cmd);
    free(w->master_socket);
    free(w->services);
    free(w->state_path);
    free(w);
}
