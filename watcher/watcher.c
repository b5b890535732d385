#include "watcher.h"

#include "reload_status.h"

#include "discovery.h"
#include "file_output.h"
#include "generator_config.h"
#include "haproxy_apply.h"
#include "haproxy_blame.h"
#include "haproxy_managed.h"
#include "haproxy_runtime.h"
#include "log.h"
#include "quarantine.h"
#include "render.h"
#include "runtime_sync.h"
#include "selection.h"
#include "state_cache.h"

#include <cjson/cJSON.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define FIRST_ANSWER_WAIT_MS 3000 /* longest wait for every discovery before the first render */
/* A change is applied on the loop's next turn: what arrives meanwhile (one
 * ZooKeeper reply batch) joins it, and what arrives while a runtime batch or
 * a check of haproxy.cfg runs waits for its end and makes one render. */
#define COALESCE_MS 0
#define RUNTIME_COMMAND_MS 5000 /* longest wait for one stats-socket answer */
/* The state file holds every backend of every service (10,000 make ~1 MB of
 * JSON and an fsync): it is saved at most this often, off the path of a
 * change to HAProxy, and at exit. Memory freed by the changes is given back
 * to the system then too (malloc_trim). */
#define SETTLE_MS 1000
#define MASTER_RELOAD_MS 20000 /* longest wait for a managed reload's new worker */

/* Where a discovery reports: its service's index moves on a reload. */
struct slot {
    struct watcher *w;
    size_t index;
};

struct service_state {
    struct discovery *discovery;
    struct slot *slot; /* owned; the discovery's callback argument */
    struct backend_list current;
    bool answered;              /* the discovery has published at least once */
    bool output_dirty;          /* file_output owes this service a write */
    bool render_dirty;          /* changed since last_model was rendered */
    time_t last_change;         /* wall clock of its first answer or last change; 0: none */
    char last_error[256];       /* the last registration refused, or "" */
    struct strlist conflicts;   /* sources of address conflicts logged, sorted */
    struct strlist refused;     /* source + options of refused registrations logged, sorted */
    struct strlist quarantined; /* quarantine_key of registrations HAProxy refused, sorted */
    char *state_member;         /* its part of the state file; NULL: render it again */
    size_t over_limit;          /* servers left out by the last update, logged once */
    size_t labels_cut;
    /* haproxy settings published in ZooKeeper (generator_config_path), used
     * instead of the file's; NULL: the file's. Owned, kept over a SIGHUP
     * that keeps the service. settings_json: what they were decoded from. */
    struct syn_service_haproxy *settings;
    char *settings_json;
    char *settings_refused; /* the last refusal logged, so a repeat is not */
};

struct watcher {
    struct reload_status reload; /* the last SIGHUP, for status */
    struct loop *loop;
    const struct syn_config *cfg;
    struct watcher_opts opts;
    struct discovery_hub hub;
    struct service_state *services;
    struct haproxy_apply *apply;
    struct runtime_sync *rs;          /* NULL: every change reloads */
    struct haproxy_managed *managed;  /* NULL unless haproxy.managed */
    char *reload_cmd, *master_socket; /* managed mode's own */
    uint64_t render_timer, first_answer_timer, settle_timer;
    bool started;            /* first render done or its wait is over */
    bool ready_reported;     /* opts.on_ready was called */
    uint64_t change_seen_ms; /* oldest change not yet in effect; 0: none */
    char last_apply_error[256];
    struct metric *m_backends, *m_reloads, *m_runtime_commands, *m_rejected, *m_apply_seconds,
        *m_registry_connected;
    bool render_owed;
    bool state_dirty;                   /* state_file_path owes a save */
    char *state_path;                   /* state_file_path, or haproxy.cfg's path + ".state.json" */
    bool force_reload;                  /* the runtime API failed: the next render reloads */
    struct render_model *batch_model;   /* what a running adoption puts into effect */
    struct render_model *follow_model;  /* what haproxy.cfg follows once its write is due */
    struct render_model *pending_model; /* the newest config submitted for a reload */
    uint64_t pending_text_hash;         /* of its text: is it the one put in place? */
    struct render_model *last_model;    /* the last one rendered: the next reuses its blocks */
    bool adopt_tried;                   /* the first render looked for a running haproxy */
    bool adopting;                      /* runtime_sync_adopt runs */
    bool adopt_only;                    /* this render is adopt_early's: adopt or do nothing */
    size_t state_loaded;                /* backends load_state found */
    uint64_t adopt_timer;               /* adopt_early is due */
    bool *changed;                      /* per service, for render_model_new */
    unsigned runtime_changes;
    int status;
};

static void render_now(void *arg);

/*
 * The config to render: w->cfg, with the settings services published in
 * ZooKeeper in place of their haproxy sections. Shallow: *eff borrows from
 * w->cfg and the service states; *copies (free() it) holds the services
 * array when any settings are in effect.
 */
static void effective_config(const struct watcher *w, struct syn_config *eff,
                             struct syn_service **copies)
{
    *eff = *w->cfg;
    *copies = NULL;
    size_t n = w->cfg->nservices;
    for (size_t i = 0; i < n; i++) {
        if (!w->services[i].settings) continue;
        if (!*copies) {
            if (!(*copies = malloc(n * sizeof **copies))) return; /* the file's, then */
            memcpy(*copies, w->cfg->services, n * sizeof **copies);
            eff->services = *copies;
        }
        (*copies)[i].haproxy = *w->services[i].settings;
    }
}

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
        if (!s->output_dirty || w->cfg->services[i].file_output_disabled) continue;
        if (file_output_write(w->cfg->file_output_directory, w->cfg->services[i].name,
                              &s->current) == 0)
            s->output_dirty = false;
    }
}

static int cmp_strp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_quarantined(const struct service_state *s, const struct backend *b)
{
    if (!s->quarantined.n) return false;
    char *key = quarantine_key(b);
    bool found = key && bsearch(&key, s->quarantined.v, s->quarantined.n, sizeof *s->quarantined.v,
                                cmp_strp);
    free(key);
    return found;
}

/*
 * The backends of service i that go into haproxy.cfg: current without the
 * quarantined ones. Shallow: *scratch (freed by the caller with free(), not
 * backend_list_clear) holds the array when something was left out.
 */
static struct backend_list served(const struct watcher *w, size_t i, struct backend **scratch)
{
    const struct service_state *s = &w->services[i];
    *scratch = NULL;
    if (!s->quarantined.n || !s->current.n) return s->current;
    struct backend *v = malloc(s->current.n * sizeof *v);
    if (!v) return s->current;
    size_t n = 0;
    for (size_t j = 0; j < s->current.n; j++)
        if (!is_quarantined(s, &s->current.v[j])) v[n++] = s->current.v[j];
    *scratch = v;
    return (struct backend_list){v, n, s->current.n};
}

/* Forgets quarantined registrations that are gone or changed. */
static void prune_quarantine(struct service_state *s)
{
    if (!s->quarantined.n) return;
    struct strlist keep = {0};
    for (size_t j = 0; j < s->current.n; j++) {
        char *key = quarantine_key(&s->current.v[j]);
        if (key &&
            bsearch(&key, s->quarantined.v, s->quarantined.n, sizeof *s->quarantined.v, cmp_strp))
            strlist_push(&keep, key);
        free(key);
    }
    if (keep.n > 1) qsort(keep.v, keep.n, sizeof *keep.v, cmp_strp);
    strlist_clear(&s->quarantined);
    s->quarantined = keep;
}

/* FNV-1a: tells the text of pending_model from another one HAProxy may run
 * (a text equal to the one refused last is dropped without a word). */
static uint64_t text_hash(const char *text)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    return h;
}

static void clear_pending(struct watcher *w)
{
    render_model_free(w->pending_model);
    w->pending_model = NULL;
}

/* The whole haproxy.cfg text of m (705 KB for 1,000 services × 10: ~4 ms),
 * printed only when a file write or a comparison needs it. */
static char *print_text(const struct render_model *m, const char *why)
{
    uint64_t t0 = loop_now_us();
    char *text = render_model_text(m);
    if (text)
        log_debug("haproxy.cfg text (%zu bytes) in %llu us, %s", strlen(text),
                  (unsigned long long)(loop_now_us() - t0), why);
    return text;
}

static char *follow_text(void *arg)
{
    struct watcher *w = arg;
    return w->follow_model ? print_text(w->follow_model, "for the file to follow") : NULL;
}

/* HAProxy runs model (taken over) without a reload: haproxy.cfg follows it,
 * its text printed when the write is due (haproxy_follow_due_ms), never on
 * the way from a change to its runtime commands. */
static void follow(struct watcher *w, struct render_model *model)
{
    render_model_free(w->follow_model);
    w->follow_model = model;
    haproxy_apply_follow(w->apply, follow_text, w);
}

/* A reload puts text, printed from model (taken over), into effect. */
static void submit_reload(struct watcher *w, const char *text, struct render_model *model)
{
    render_model_free(w->follow_model); /* text is newer */
    w->follow_model = NULL;
    if (w->rs) {
        runtime_sync_invalidate(w->rs);
        clear_pending(w);
        w->pending_model = model;
        w->pending_text_hash = text_hash(text);
    } else {
        render_model_free(model);
    }
    haproxy_apply_submit(w->apply, text, true);
}

static void save_state(struct watcher *w)
{
    const char *path = w->state_path;
    if (!path || !w->state_dirty) return;
    size_t n = w->cfg->nservices;
    char **members = calloc(n ? n : 1, sizeof *members);
    if (!members) return;
    /* only the services that changed since the last save are rendered */
    for (size_t i = 0; i < n; i++) {
        struct service_state *s = &w->services[i];
        if (!s->state_member)
            s->state_member = state_cache_render_service(w->cfg->services[i].name, &s->current);
        if (!(members[i] = s->state_member)) {
            free(members);
            log_error("state_file_path %s: out of memory", path);
            return;
        }
    }
    char *text = state_cache_join(members, n, time(NULL));
    free(members);
    if (text && state_cache_write(path, text) == 0) w->state_dirty = false;
    free(text);
}

/* SETTLE_MS after a change: the state file, and the heap's free pages. */
static void on_settle(void *arg)
{
    struct watcher *w = arg;
    w->settle_timer = 0;
    save_state(w);
    malloc_trim(0);
}

/* The backends changed: the state file owes a save within SETTLE_MS. */
static void state_changed(struct watcher *w)
{
    w->state_dirty = true;
    if (!w->settle_timer) w->settle_timer = loop_timer(w->loop, SETTLE_MS, on_settle, w);
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
    w->state_loaded = n > 0 ? (size_t)n : 0;
}

/* A change seen is now in effect: time it. */
static void change_applied(struct watcher *w)
{
    if (!w->change_seen_ms || w->render_owed) return;
    metric_observe(w->m_apply_seconds, (double)(loop_now_ms() - w->change_seen_ms) / 1000.0);
    w->change_seen_ms = 0;
}

/* The first time HAProxy is configured (or, without HAProxy, the outputs
 * written): the daemon is ready. */
static void report_ready(struct watcher *w)
{
    if (w->ready_reported || !w->opts.on_ready) return;
    w->ready_reported = true;
    w->opts.on_ready(w->opts.ready_arg);
}

/* The ids of the haproxy.cfg on disk, for a render with no previous model (at
 * start, after SIGHUP): a restarted watcher writes the ids HAProxy runs with
 * (and can adopt it). A missing or unreadable file is an empty seed. */
static struct server_id_seed *seed_from_disk(const char *path)
{
    char *text = NULL;
    FILE *f = path ? fopen(path, "r") : NULL;
    if (f) {
        size_t cap = 0, n = 0, r;
        char buf[65536];
        while ((r = fread(buf, 1, sizeof buf, f)) > 0 && n < (64u << 20)) {
            char *t = realloc(text, (cap = n + r + 1));
            if (!t) break;
            text = t;
            memcpy(text + n, buf, r);
            n += r;
            text[n] = '\0';
        }
        fclose(f);
    }
    struct server_id_seed *seed = server_id_seed_parse(text);
    free(text);
    return seed;
}

/* True when the file at path holds exactly text. */
static bool file_holds(const char *path, const char *text)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char buf[65536];
    size_t len = strlen(text), at = 0, n;
    bool same = true;
    while (same && (n = fread(buf, 1, sizeof buf, f)) > 0) {
        same = at + n <= len && memcmp(buf, text + at, n) == 0;
        at += n;
    }
    fclose(f);
    return same && at == len;
}

/* The first render of a watcher restarted next to a running HAProxy may
 * adopt it (adopt_running). */
static bool adopt_due(const struct watcher *w)
{
    /* Managed mode starts its own HAProxy, unless it adopted one a killed
     * watcher left running. */
    bool ours = w->managed && !haproxy_managed_adopted(w->managed);
    return !w->adopt_tried && w->rs && !ours && !w->force_reload;
}

/* When haproxy.cfg is text, what we would write, adopt HAProxy instead of
 * reloading it (runtime_sync checks its servers). Takes model when it does. */
static bool adopt_running(struct watcher *w, const char *text, struct render_model *model)
{
    if (!adopt_due(w)) return false;
    w->adopt_tried = true;
    if (!file_holds(w->cfg->haproxy.config_file_path, text)) return false;
    struct render_model *mine = render_model_share(model);
    if (!mine) return false;
    log_info("haproxy.cfg is unchanged; checking whether the running haproxy can be adopted");
    w->adopting = true;
    w->batch_model = mine;
    runtime_sync_adopt(w->rs, model);
    return true;
}

static void render_now(void *arg)
{
    struct watcher *w = arg;
    w->render_timer = 0;
    if (!w->render_owed) return;
    /* Rendered again when the adoption ends. Changes in flight do not wait:
     * the next one is planned and queued behind them. */
    if (w->rs && runtime_sync_adopting(w->rs)) return;
    /* When the change can only be a reload, render once per check of
     * haproxy.cfg rather than once per change during a burst: on_applied
     * renders the newest state when the check ends. Runtime changes never
     * wait for the file: it only follows HAProxy. */
    bool runtime_possible = w->rs && !w->force_reload && runtime_sync_ready(w->rs);
    if (!runtime_possible && w->apply && haproxy_apply_child_running(w->apply)) return;
    w->render_owed = false;
    write_file_output(w);
    if (!w->cfg->has_haproxy || !w->cfg->haproxy.config_file_path) {
        change_applied(w);
        report_ready(w); /* nothing to configure: the outputs are written */
        return;
    }

    struct backend_list *lists = calloc(w->cfg->nservices ? w->cfg->nservices : 1, sizeof *lists);
    struct backend **scratch = calloc(w->cfg->nservices ? w->cfg->nservices : 1, sizeof *scratch);
    if (!lists || !scratch) {
        free(lists);
        free(scratch);
        return;
    }
    for (size_t i = 0; i < w->cfg->nservices; i++)
        lists[i] = served(w, i, &scratch[i]);
    struct render_opts ropts = {.safe_http_defaults = w->cfg->haproxy.safe_http_defaults};
    struct server_id_seed *seed =
        w->last_model ? NULL : seed_from_disk(w->cfg->haproxy.config_file_path);
    /* Only the services that changed since the last model are rendered; the
     * others share its blocks, and the planner skips them. */
    size_t nchanged = 0;
    for (size_t i = 0; i < w->cfg->nservices; i++) {
        w->changed[i] = w->services[i].render_dirty || !w->last_model;
        nchanged += w->changed[i];
    }
    struct render_server_list *held = NULL; /* read for the services rendered only */
    if (w->rs && (held = calloc(w->cfg->nservices ? w->cfg->nservices : 1, sizeof *held)))
        for (size_t i = 0; i < w->cfg->nservices; i++)
            if (w->changed[i] && runtime_sync_draining(w->rs, i, &held[i]) < 0) held[i].n = 0;
    ropts.id_seed = seed;
    ropts.held = held;
    struct strlist warnings = {0};
    uint64_t t0 = loop_now_us();
    struct syn_config eff;
    struct syn_service *eff_services;
    effective_config(w, &eff, &eff_services);
    struct render_model *model =
        render_model_new(&eff, lists, &ropts, w->last_model, w->changed, &warnings);
    free(eff_services);
    uint64_t t1 = loop_now_us();
    server_id_seed_free(seed);
    for (size_t i = 0; held && i < w->cfg->nservices; i++)
        free(held[i].v);
    free(held);
    struct render_model *kept = model ? render_model_share(model) : NULL;
    free(lists); /* shallow: the backends stay in w->services */
    for (size_t i = 0; i < w->cfg->nservices; i++)
        free(scratch[i]);
    free(scratch);
    log_warnings(&warnings);
    /* The text is printed now only when a reload or the first render's
     * comparison with the file needs it; a runtime change leaves it to the
     * file's follow-up write. */
    bool runtime_first = w->rs && !w->force_reload && !adopt_due(w);
    char *text = NULL;
    uint64_t t2 = loop_now_us();
    if (kept && !runtime_first && !(text = render_model_text(model))) {
        render_model_free(kept);
        kept = NULL;
    }
    if (!kept) {
        render_model_free(model);
        free(text);
        w->render_owed = true; /* the dirty marks stay: retried on the next change */
        log_error("rendering haproxy.cfg: out of memory");
        return;
    }
    for (size_t i = 0; i < w->cfg->nservices; i++)
        w->services[i].render_dirty = false;
    render_model_free(w->last_model);
    w->last_model = kept;
    if (text)
        log_debug("render: %zu of %zu services in %llu us, haproxy.cfg text (%zu bytes) in %llu us",
                  nchanged, w->cfg->nservices, (unsigned long long)(t1 - t0), strlen(text),
                  (unsigned long long)(loop_now_us() - t2));
    else
        log_debug("render: %zu of %zu services in %llu us", nchanged, w->cfg->nservices,
                  (unsigned long long)(t1 - t0));
    if (text && adopt_running(w, text, model)) {
        free(text);
        return;
    }
    if (w->adopt_only) {
        /* not what runs: wait for discovery, as any start does */
        log_info("haproxy.cfg differs from the saved backends' rendering; waiting for discovery");
        w->adopt_only = false;
        w->adopt_tried = false;
        w->started = false;
        render_model_free(model);
        free(text);
        return;
    }
    if (w->rs && !w->force_reload) {
        char why[400];
        bool ready = runtime_sync_ready(w->rs);
        struct render_model *mine = render_model_share(model);
        uint64_t t3 = loop_now_us();
        enum runtime_apply_result res =
            mine ? runtime_sync_apply(w->rs, &model, why, sizeof why) : RUNTIME_RELOAD;
        if (!mine) snprintf(why, sizeof why, "out of memory");
        log_debug("runtime: planned and queued in %llu us",
                  (unsigned long long)(loop_now_us() - t3));
        switch (res) {
        case RUNTIME_APPLYING: /* done hands over the model it put into effect */
            render_model_free(mine);
            free(text);
            return;
        case RUNTIME_NOTHING:
            render_model_free(model);
            free(text);
            if (runtime_sync_busy(w->rs))
                render_model_free(mine); /* the last change in flight brings the same */
            else
                follow(w, mine);
            return;
        case RUNTIME_WAIT: /* a reload, once the changes in flight have ended */
            render_model_free(mine);
            render_model_free(model);
            free(text);
            w->render_owed = true;
            log_debug("runtime: %s; reloading once the changes in flight have ended", why);
            return;
        case RUNTIME_RELOAD:
            render_model_free(mine);
            if (ready) log_info("runtime: %s; reloading instead", why);
            break;
        }
    }
    if (!text && !(text = print_text(model, "for a reload"))) {
        render_model_free(model);
        w->render_owed = true;
        log_error("rendering haproxy.cfg: out of memory");
        return;
    }
    w->force_reload = false;
    submit_reload(w, text, model);
    free(text);
}

/* A runtime change (or the adoption) ended: keep haproxy.cfg in step, or fall
 * back to a reload. */
static void on_runtime_done(void *arg, bool ok, const char *why, const struct render_model *applied)
{
    struct watcher *w = arg;
    struct render_model *model = NULL;
    if (w->adopting) {
        model = w->batch_model;
        w->batch_model = NULL;
        w->adopting = false;
        if (ok) {
            change_applied(w);
            follow(w, model); /* the same file: no reload */
            model = NULL;
        } else {
            w->force_reload = true;
            w->render_owed = true;
        }
    } else if (ok && applied && (model = render_model_share(applied))) {
        w->runtime_changes++;
        /* Changes still in flight were seen later: the time is theirs. */
        if (!runtime_sync_busy(w->rs)) change_applied(w);
        log_info("runtime: servers changed without a reload (runtime change #%u; %u reloads so "
                 "far); writing haproxy.cfg to match",
                 w->runtime_changes, haproxy_apply_reload_count(w->apply));
        follow(w, model);
        model = NULL;
    } else {
        log_warn("runtime: %s; falling back to a validated reload", why ? why : "failed");
        w->force_reload = true;
        w->render_owed = true;
    }
    render_model_free(model);
    if (w->render_owed) schedule_render(w);
}

#define CONFLICTS_LOGGED_MAX 10 /* per update; the rest are counted */

/* Logs each registration that lost its address to an earlier one, once. */
static void log_conflicts(const struct syn_service *svc, struct service_state *s,
                          struct backend_list *conflicts)
{
    struct strlist now = {0};
    size_t shown = 0, more = 0;
    for (size_t i = 0; i < conflicts->n; i++) {
        const struct backend *b = &conflicts->v[i];
        const char *src = b->source ? b->source : "?";
        if (strlist_push(&now, src) < 0) break;
        if (s->conflicts.n &&
            bsearch(&src, s->conflicts.v, s->conflicts.n, sizeof *s->conflicts.v, cmp_strp))
            continue;
        if (shown++ >= CONFLICTS_LOGGED_MAX) {
            more++;
            continue;
        }
        const struct backend *first = NULL;
        for (size_t j = 0; j < s->current.n && !first; j++)
            if (s->current.v[j].port == b->port && !strcmp(s->current.v[j].host, b->host))
                first = &s->current.v[j];
        log_warn("service %s: %s registers %s:%d (name %s) which %s registered first; the first "
                 "registration stays as it is",
                 svc->name, src, b->host, b->port, b->name ? b->name : "-",
                 first && first->source ? first->source : "another registration");
    }
    if (more) log_warn("service %s: ... and %zu more address conflicts", svc->name, more);
    if (now.n > 1) qsort(now.v, now.n, sizeof *now.v, cmp_strp);
    strlist_clear(&s->conflicts);
    s->conflicts = now;
    backend_list_clear(conflicts);
}

/* Logs each registration the options allow-list refused, once per value. */
static void log_refused(const struct syn_service *svc, struct service_state *s,
                        struct selection_notes *notes)
{
    struct strlist now = {0};
    size_t shown = 0, more = 0;
    for (size_t i = 0; i < notes->refused.n; i++) {
        const struct backend *b = &notes->refused.v[i];
        char *key = NULL;
        if (asprintf(&key, "%s\n%s", b->source ? b->source : "?",
                     b->haproxy_server_options ? b->haproxy_server_options : "") < 0)
            break;
        bool seen = s->refused.n &&
                    bsearch(&key, s->refused.v, s->refused.n, sizeof *s->refused.v, cmp_strp);
        int pushed = strlist_push(&now, key);
        free(key);
        if (pushed < 0) break;
        if (seen) continue;
        if (shown++ >= CONFLICTS_LOGGED_MAX) {
            more++;
            continue;
        }
        log_warn("service %s: left out %s:%d from %s: haproxy_server_options %s", svc->name,
                 b->host, b->port, b->source ? b->source : "?",
                 i < notes->refused_why.n ? notes->refused_why.v[i] : "refused");
        snprintf(s->last_error, sizeof s->last_error, "%s: haproxy_server_options %s",
                 b->source ? b->source : "?",
                 i < notes->refused_why.n ? notes->refused_why.v[i] : "refused");
    }
    if (more) log_warn("service %s: ... and %zu more refused server options", svc->name, more);
    if (now.n > 1) qsort(now.v, now.n, sizeof *now.v, cmp_strp);
    strlist_clear(&s->refused);
    s->refused = now;
    backend_list_clear(&notes->refused);
    strlist_clear(&notes->refused_why);
}

static void on_update(void *arg, size_t ignored_index, struct backend_list *found)
{
    struct slot *slot = arg;
    struct watcher *w = slot->w;
    size_t index = slot->index;
    (void)ignored_index;
    const struct syn_service *svc = &w->cfg->services[index];
    struct service_state *s = &w->services[index];
    size_t found_n = found->n;
    struct selection_notes notes = {0};
    enum selection_outcome outcome = selection_apply(
        svc, w->cfg->haproxy.allowed_server_options,
        (size_t)w->cfg->haproxy.max_servers_per_service, found, &s->current, &notes);
    if (notes.filtered_out)
        log_debug("service %s: %zu of %zu backends left out by label_filters", svc->name,
                  notes.filtered_out, found_n);
    log_refused(svc, s, &notes);
    prune_quarantine(s);
    log_conflicts(svc, s, &notes.conflicts);
    if (notes.over_limit && !s->over_limit)
        log_warn("service %s: more than %d servers (max_servers_per_service); the %zu created "
                 "last are left out",
                 svc->name, w->cfg->haproxy.max_servers_per_service, notes.over_limit);
    else if (!notes.over_limit && s->over_limit)
        log_info("service %s: back under max_servers_per_service; every server is served",
                 svc->name);
    s->over_limit = notes.over_limit;
    if (notes.election_failed)
        log_warn("service %s: leader election failed: %s; no backend is served", svc->name,
                 notes.election_failed);
    if (notes.labels_cut && !s->labels_cut)
        log_warn("service %s: %zu registrations carry more than %d labels; the rest are left out",
                 svc->name, notes.labels_cut, BACKEND_MAX_LABELS);
    s->labels_cut = notes.labels_cut;
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
        s->last_change = time(NULL);
        if (!w->change_seen_ms) w->change_seen_ms = loop_now_ms();
        s->output_dirty = true;
        s->render_dirty = true;
        free(s->state_member);
        s->state_member = NULL;
        state_changed(w);
        schedule_render(w);
        break;
    case SELECTION_UNCHANGED:
        if (first) {
            /* the set this run serves was settled now, though it matches
             * the one saved by the last run */
            s->last_change = time(NULL);
            s->output_dirty = true;
            s->render_dirty = true;
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

/*
 * A watcher restarted next to a running HAProxy (in managed mode, the
 * master a killed predecessor left running) renders at once from the
 * backends its predecessor saved. When that is the haproxy.cfg on disk,
 * HAProxy is adopted before discovery answers, so what changed while no
 * watcher ran goes through the runtime API afterwards instead of a reload.
 * Otherwise nothing is done and the start waits for discovery as usual.
 */
static void adopt_early(void *arg)
{
    struct watcher *w = arg;
    w->adopt_timer = 0;
    if (w->started || w->adopt_tried) return;
    log_info("%zu saved backends: checking whether the running haproxy can be adopted before "
             "discovery answers",
             w->state_loaded);
    w->adopt_only = true;
    w->started = true;
    w->render_owed = true;
    for (size_t i = 0; i < w->cfg->nservices; i++)
        w->services[i].render_dirty = true;
    render_now(w);
    w->adopt_only = false;
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

/*
 * A candidate failed validation: leave out the registrations whose server
 * lines HAProxy refused, log each once with HAProxy's words, and render
 * again. One failed check finds them all (HAProxy reports every bad line),
 * so the cost is one more `haproxy -c`, not one per server. When no
 * registration of ours is to blame, the config is, and the old one stays.
 */
static void quarantine_rejected(struct watcher *w)
{
    const char *text = haproxy_apply_rejected_text(w->apply);
    const char *output = haproxy_apply_rejected_output(w->apply);
    if (!text || !output) return;
    struct blamed_list blamed;
    bool other = false;
    if (haproxy_blame(text, output, &blamed, &other) < 0) return;
    struct backend_list *current =
        calloc(w->cfg->nservices ? w->cfg->nservices : 1, sizeof *current);
    struct quarantine_hit *hits = NULL;
    size_t n = 0, unmatched = 0, added = 0;
    for (size_t i = 0; current && i < w->cfg->nservices; i++)
        current[i] = w->services[i].current; /* shallow */
    if (current && quarantine_match(w->cfg, current, &blamed, &hits, &n, &unmatched) == 0) {
        for (size_t k = 0; k < n; k++) {
            struct service_state *s = &w->services[hits[k].svc];
            const struct backend *b = &s->current.v[hits[k].backend];
            char *key = quarantine_key(b);
            if (!key || is_quarantined(s, b) || strlist_push(&s->quarantined, key) < 0) {
                free(key);
                continue;
            }
            free(key);
            qsort(s->quarantined.v, s->quarantined.n, sizeof *s->quarantined.v, cmp_strp);
            added++;
            s->render_dirty = true; /* served without it from now on */
            log_warn("service %s: HAProxy refuses the server line of %s (%s:%d, "
                     "haproxy_server_options \"%s\"): %s; left out until it changes",
                     w->cfg->services[hits[k].svc].name, b->source ? b->source : "?", b->host,
                     b->port, b->haproxy_server_options, hits[k].message);
        }
    }
    if (added) {
        log_info("quarantined %zu registration%s; applying everything else", added,
                 added == 1 ? "" : "s");
        w->render_owed = true;
    } else if (n == 0) {
        log_error("haproxy config refused for a reason of the config itself%s; the running "
                  "config stays until the next change",
                  unmatched ? " (or of a server without options of its own)" : "");
    }
    (void)other;
    free(hits);
    free(current);
    blamed_list_clear(&blamed);
}

static void on_applied(void *arg, bool ok, bool reloaded)
{
    struct watcher *w = arg;
    if (!ok && w->apply) quarantine_rejected(w);
    if (w->render_owed) schedule_render(w);
    if (w->rs && !ok) {
        /* HAProxy runs something else than we were told: reload next time. */
        clear_pending(w);
        runtime_sync_invalidate(w->rs);
    } else if (w->rs && reloaded) {
        /* Every reload is confirmed, since the next waits for it; its servers
         * are known only when no newer text is on its way. */
        const char *effective = haproxy_apply_effective_text(w->apply);
        bool known = w->pending_model && haproxy_apply_idle(w->apply) && effective &&
                     text_hash(effective) == w->pending_text_hash;
        struct render_model *model = known ? render_model_share(w->pending_model) : NULL;
        /* pending_model stays: a reload that did not take effect is sent
         * again (on_reload_confirmed) for the same text. Every other reload
         * comes from submit_reload, which replaces it. */
        runtime_sync_reloaded(w->rs, model);
    }
    if (w->managed && ok) haproxy_managed_ensure_running(w->managed);
    if (ok && haproxy_apply_idle(w->apply)) {
        change_applied(w);
        report_ready(w);
        w->last_apply_error[0] = '\0';
    } else if (!ok) {
        snprintf(w->last_apply_error, sizeof w->last_apply_error,
                 "haproxy.cfg not applied (see the log for haproxy's errors)");
    }
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

/* Whether the last reload took effect: the next one may go now, or it is
 * sent again. */
static void on_reload_confirmed(void *arg, bool took)
{
    struct watcher *w = arg;
    if (took && haproxy_apply_idle(w->apply))
        clear_pending(w); /* no newer reload owed: its model is in effect */
    if (!took)
        snprintf(w->last_apply_error, sizeof w->last_apply_error,
                 "haproxy did not take the last reload; sending it again");
    haproxy_apply_reload_confirmed(w->apply, took);
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
    struct runtime_sync_opts ro = {.socket_path = h->socket_files.v[0],
                                   .drain_timeout_ms = (unsigned)h->drain_timeout_ms,
                                   .command_timeout_ms = RUNTIME_COMMAND_MS,
                                   .confirmed = on_reload_confirmed};
    w->rs = runtime_sync_new(w->loop, w->cfg, &ro, on_runtime_done, w);
    if (!w->rs) return;
    /* Managed mode reloads through the master CLI and reads "show proc"
     * to see that it worked; a held reload would also hold a restart
     * (managed_may_start waits for the file to settle). */
    if (!w->managed) haproxy_apply_confirm_reloads(w->apply);
    log_info("runtime API on via %s: server changes apply without a reload once haproxy runs "
             "our config; drain_timeout_ms %d",
             h->socket_files.v[0], h->drain_timeout_ms);
}

static void start_discovery(struct watcher *w, size_t i)
{
    struct service_state *s = &w->services[i];
    if (!(s->slot = calloc(1, sizeof *s->slot))) {
        log_error("service %s: out of memory", w->cfg->services[i].name);
        return;
    }
    *s->slot = (struct slot){w, i};
    s->discovery = discovery_new(&w->hub, &w->cfg->services[i], i, on_update, s->slot);
}

static void clear_settings(struct service_state *s)
{
    if (s->settings) syn_service_haproxy_clear(s->settings);
    free(s->settings);
    free(s->settings_json);
    free(s->settings_refused);
    s->settings = NULL;
    s->settings_json = s->settings_refused = NULL;
}

static void stop_service(struct service_state *s)
{
    discovery_free(s->discovery);
    clear_settings(s);
    free(s->slot);
    backend_list_clear(&s->current);
    free(s->state_member);
    strlist_clear(&s->conflicts);
    strlist_clear(&s->refused);
    strlist_clear(&s->quarantined);
    memset(s, 0, sizeof *s);
}

static bool same_text(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

static bool same_list(const struct strlist *a, const struct strlist *b)
{
    if (a->n != b->n) return false;
    for (size_t i = 0; i < a->n; i++)
        if (strcmp(a->v[i], b->v[i])) return false;
    return true;
}

/* What the watcher was built around and a reload cannot move; NULL if
 * nothing of it changed. */
static const char *fixed_change(const struct syn_config *a, const struct syn_config *b)
{
    const struct syn_haproxy *x = &a->haproxy, *y = &b->haproxy;
    if (a->has_haproxy != b->has_haproxy) return "the haproxy section";
    if (!same_text(x->config_file_path, y->config_file_path)) return "haproxy.config_file_path";
    if (!same_text(x->reload_command, y->reload_command)) return "haproxy.reload_command";
    if (!same_text(x->check_command, y->check_command)) return "haproxy.check_command";
    if (!same_text(x->candidate_config_file_path, y->candidate_config_file_path))
        return "haproxy.candidate_config_file_path";
    if (!same_text(x->haproxy_binary, y->haproxy_binary)) return "haproxy.haproxy_binary";
    if (!same_text(x->state_file_path, y->state_file_path)) return "haproxy.state_file_path";
    if (!same_list(&x->socket_files, &y->socket_files) || x->do_socket != y->do_socket)
        return "haproxy.socket_file_path";
    if (x->managed != y->managed) return "haproxy.managed";
    if (x->do_writes != y->do_writes || x->do_reloads != y->do_reloads)
        return "haproxy.do_writes/do_reloads";
    if (x->restart_interval != y->restart_interval || x->restart_jitter != y->restart_jitter)
        return "haproxy.restart_interval/restart_jitter";
    return NULL;
}

void watcher_reload_refused(struct watcher *w, const char *error)
{
    reload_status_refused(&w->reload, time(NULL), error);
}

static int reload_apply(struct watcher *w, const struct syn_config *cfg, char *err, size_t errlen);

int watcher_reload(struct watcher *w, const struct syn_config *cfg, char *err, size_t errlen)
{
    int rc = reload_apply(w, cfg, err, errlen);
    if (rc < 0) watcher_reload_refused(w, err);
    return rc;
}

static int reload_apply(struct watcher *w, const struct syn_config *cfg, char *err, size_t errlen)
{
    const char *fixed = fixed_change(w->cfg, cfg);
    if (fixed) {
        snprintf(err, errlen, "%s changed, which needs a restart", fixed);
        return -1;
    }
    struct service_state *next = calloc(cfg->nservices ? cfg->nservices : 1, sizeof *next);
    if (!next) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    const struct syn_config *old = w->cfg;
    bool *kept = calloc(old->nservices ? old->nservices : 1, sizeof *kept);
    bool *changed = calloc(cfg->nservices ? cfg->nservices : 1, sizeof *changed);
    if (!kept || !changed) {
        free(kept);
        free(changed);
        free(next);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    size_t nkept = 0, nstarted = 0, nchanged = 0, nstopped = 0;
    for (size_t i = 0; i < cfg->nservices; i++) {
        bool known = false;
        for (size_t j = 0; j < old->nservices; j++) {
            if (strcmp(old->services[j].name, cfg->services[i].name)) continue;
            known = true;
            if (!strcmp(old->services[j].fingerprint, cfg->services[i].fingerprint)) {
                next[i] = w->services[j]; /* session, backends, answered: all kept */
                if (next[i].slot) next[i].slot->index = i;
                kept[j] = true;
                nkept++;
            } else {
                nchanged++;
            }
        }
        if (!known) nstarted++;
    }
    nstopped = old->nservices - nkept - nchanged;
    for (size_t j = 0; j < old->nservices; j++)
        if (!kept[j]) stop_service(&w->services[j]);
    free(kept);
    free(w->services);
    w->services = next;
    w->cfg = cfg;
    if (w->rs) runtime_sync_set_config(w->rs, cfg);
    /* Another config: the next model is rendered whole. */
    free(w->changed);
    w->changed = changed;
    render_model_free(w->last_model);
    w->last_model = NULL;
    /* New and changed services start now; one render follows when they
     * have answered (or FIRST_ANSWER_WAIT_MS is over). */
    for (size_t i = 0; i < cfg->nservices; i++)
        if (!w->services[i].slot) start_discovery(w, i);
    w->render_owed = true;
    state_changed(w);
    for (size_t i = 0; i < cfg->nservices; i++) {
        w->services[i].output_dirty = true;
        free(w->services[i].state_member); /* the name may be another */
        w->services[i].state_member = NULL;
    }
    if (w->started && nstarted + nchanged > 0) {
        w->started = false;
        if (w->render_timer) loop_timer_cancel(w->loop, w->render_timer);
        w->render_timer = 0;
        if (w->first_answer_timer) loop_timer_cancel(w->loop, w->first_answer_timer);
        w->first_answer_timer =
            loop_timer(w->loop, FIRST_ANSWER_WAIT_MS, on_first_answer_timeout, w);
    } else {
        schedule_render(w);
    }
    log_info("SIGHUP: reload applied: %zu services kept (sessions and backends), %zu started, "
             "%zu changed (restarted), %zu stopped; one validated haproxy.cfg change follows",
             nkept, nstarted, nchanged, nstopped);
    const struct reload_count counts[] = {{"kept", (unsigned)nkept},
                                          {"started", (unsigned)nstarted},
                                          {"changed", (unsigned)nchanged},
                                          {"stopped", (unsigned)nstopped}};
    reload_status_applied(&w->reload, time(NULL), counts, sizeof counts / sizeof counts[0]);
    return 0;
}

static void on_reject(void *arg, const char *service, const char *err)
{
    struct watcher *w = arg;
    char reason[40];
    discovery_reject_reason(err, reason, sizeof reason);
    metric_add(w->m_rejected, 1, service, reason);
    for (size_t i = 0; i < w->cfg->nservices; i++)
        if (strcmp(w->cfg->services[i].name, service) == 0)
            snprintf(w->services[i].last_error, sizeof w->services[i].last_error, "%s", err);
}

/*
 * A generator_config_path znode was read: its haproxy settings replace the
 * file's for that service (as Synapse's config_for_generator does), unless
 * refused, which keeps those in effect. A change renders the whole config
 * again (the frame holds the service's shared_frontend), which may reload.
 */
/* The service other than skip whose frontend (file or published settings)
 * binds port; NULL when none does. */
static const char *port_owner(const struct watcher *w, size_t skip, int port)
{
    for (size_t i = 0; i < w->cfg->nservices; i++) {
        const struct syn_service_haproxy *h =
            w->services[i].settings ? w->services[i].settings : &w->cfg->services[i].haproxy;
        if (i != skip && !h->disabled && h->port_mode == SYN_PORT_SET && h->port == port)
            return w->cfg->services[i].name;
    }
    return NULL;
}

static void on_settings(void *arg, const char *service, const char *znode, const char *data,
                        size_t len)
{
    struct watcher *w = arg;
    size_t i = 0;
    while (i < w->cfg->nservices && strcmp(w->cfg->services[i].name, service) != 0)
        i++;
    if (i == w->cfg->nservices) return;
    const struct syn_service *svc = &w->cfg->services[i];
    struct service_state *s = &w->services[i];
    struct syn_service_haproxy next = {0};
    char *json = NULL, err[600];
    struct strlist warnings = {0};
    enum generator_config_result r = generator_config_decode(
        service, znode, data, len, &svc->haproxy, w->cfg->haproxy.allowed_server_options, &next,
        &json, &warnings, err, sizeof err);
    for (size_t k = 0; k < warnings.n; k++)
        log_warn("service %s: %s", service, warnings.v[k]);
    strlist_clear(&warnings);
    /* HAProxy binds one port twice without a word (SO_REUSEPORT) and splits
     * the connections: published settings must not take a neighbour's. */
    const char *owner =
        r == GENERATOR_CONFIG_NEW && next.port_mode == SYN_PORT_SET && !next.disabled
            ? port_owner(w, i, next.port)
            : NULL;
    if (owner) {
        snprintf(err, sizeof err, "znode %s: haproxy.port: %d is service %s's", znode, next.port,
                 owner);
        syn_service_haproxy_clear(&next);
        free(json);
        r = GENERATOR_CONFIG_REFUSED;
    }
    if (r == GENERATOR_CONFIG_REFUSED) {
        if (!s->settings_refused || strcmp(s->settings_refused, err) != 0)
            log_error("service %s: published haproxy settings refused, %s stay in effect: %s",
                      service, s->settings ? "the last published ones" : "the config file's", err);
        free(s->settings_refused);
        s->settings_refused = strdup(err);
        snprintf(s->last_error, sizeof s->last_error, "%.255s", err);
        metric_add(w->m_rejected, 1, service, "generator_config");
        return;
    }
    free(s->settings_refused);
    s->settings_refused = NULL;
    if (r == GENERATOR_CONFIG_NONE) return; /* as Synapse: what is in effect stays */
    if (s->settings_json && strcmp(s->settings_json, json) == 0) {
        syn_service_haproxy_clear(&next);
        free(json);
        return;
    }
    struct syn_service_haproxy *h = malloc(sizeof *h);
    if (!h) {
        syn_service_haproxy_clear(&next);
        free(json);
        log_error("service %s: out of memory; published haproxy settings not applied", service);
        return;
    }
    *h = next;
    clear_settings(s);
    s->settings = h;
    s->settings_json = json;
    log_info("service %s: haproxy settings published in znode %s are in effect, in place of "
             "services.%s.haproxy: %.400s",
             service, znode, service, json);
    s->render_dirty = true;
    s->last_change = time(NULL);
    render_model_free(w->last_model); /* the frame may change: render it whole */
    w->last_model = NULL;
    if (!w->change_seen_ms) w->change_seen_ms = loop_now_ms();
    schedule_render(w);
}

/* Worst registry connection: 0 when any discovery is down. */
static int registry_connected(const struct watcher *w)
{
    int all = 1;
    for (size_t i = 0; i < w->cfg->nservices; i++)
        if (discovery_connected(w->services[i].discovery) == 0) all = 0;
    return all;
}

static void collect(void *arg, struct metrics *m)
{
    struct watcher *w = arg;
    (void)m;
    metric_reset(w->m_backends);
    for (size_t i = 0; i < w->cfg->nservices; i++)
        metric_set(w->m_backends, (double)w->services[i].current.n, w->cfg->services[i].name);
    metric_set(w->m_reloads, w->apply ? haproxy_apply_reload_count(w->apply) : 0);
    struct runtime_sync_stats st = {0};
    if (w->rs) runtime_sync_get_stats(w->rs, &st);
    /* A failed command ends its batch with a fallback: one failure per fallback. */
    metric_set(w->m_runtime_commands, st.commands, "ok");
    metric_set(w->m_runtime_commands, st.fallbacks, "failed");
    metric_set(w->m_registry_connected, registry_connected(w));
}

static void add_metrics(struct watcher *w, struct metrics *m)
{
    static const double apply_buckets[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                           0.25,  0.5,    1,     2.5,  5,     10};
    if (!m) return;
    w->m_backends = metrics_gauge(m, "smartdock_watcher_backends",
                                  "Backends in effect, per service.", "service");
    w->m_reloads = metrics_counter(m, "smartdock_watcher_haproxy_reloads_total",
                                   "HAProxy reloads the watcher ran.", NULL);
    w->m_runtime_commands = metrics_counter(m, "smartdock_watcher_runtime_commands_total",
                                            "HAProxy runtime API commands, by result.", "result");
    w->m_rejected = metrics_counter(m, "smartdock_watcher_rejected_registrations_total",
                                    "Registrations refused, per service and offending field.",
                                    "service,reason");
    w->m_apply_seconds = metrics_histogram(
        m, "smartdock_watcher_apply_seconds",
        "From a change of backends seen to HAProxy running it (runtime API or reload).", NULL,
        apply_buckets, sizeof apply_buckets / sizeof *apply_buckets);
    w->m_registry_connected =
        metrics_gauge(m, "smartdock_watcher_registry_connected",
                      "1 while every ZooKeeper session and etcd watch is up.", NULL);
    metrics_on_collect(m, collect, w);
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
    w->hub.on_reject = on_reject;
    w->hub.reject_arg = w;
    w->hub.on_settings = on_settings;
    w->hub.settings_arg = w;
    add_metrics(w, opts->metrics);
    w->services = calloc(cfg->nservices ? cfg->nservices : 1, sizeof *w->services);
    w->changed = calloc(cfg->nservices ? cfg->nservices : 1, sizeof *w->changed);
    if (!w->services || !w->changed) {
        free(w->services);
        free(w->changed);
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
        start_discovery(w, i);
    w->first_answer_timer = loop_timer(l, FIRST_ANSWER_WAIT_MS, on_first_answer_timeout, w);
    bool own_fresh_haproxy = w->managed && !haproxy_managed_adopted(w->managed);
    if (w->rs && w->state_loaded && !own_fresh_haproxy && !opts->once)
        w->adopt_timer = loop_timer(l, 0, adopt_early, w);
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
    if (w->settle_timer) loop_timer_cancel(w->loop, w->settle_timer);
    save_state(w); /* what changed in the last SETTLE_MS */
    if (w->adopt_timer) loop_timer_cancel(w->loop, w->adopt_timer);
    for (size_t i = 0; i < w->cfg->nservices; i++) {
        discovery_free(w->services[i].discovery);
        w->services[i].discovery = NULL;
    }
    discovery_hub_release(&w->hub);
    for (size_t i = 0; i < w->cfg->nservices; i++)
        stop_service(&w->services[i]);
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
    render_model_free(w->last_model);
    free(w->changed);
    render_model_free(w->batch_model);
    render_model_free(w->follow_model);
    free(w->reload_cmd);
    free(w->master_socket);
    free(w->services);
    free(w->state_path);
    free(w);
}

/* ---- the status command --------------------------------------------------- */

/* HAProxy's own view of one backend, "addr:port" -> state, from the stats
 * socket's "show servers state" (a local socket: answered in milliseconds). */
static cJSON *haproxy_view(const struct watcher *w, const char *backend)
{
    const struct strlist *socks = &w->cfg->haproxy.socket_files;
    if (!w->cfg->haproxy.do_socket || socks->n == 0) return NULL;
    char cmd[300], err[256], *answer = NULL;
    snprintf(cmd, sizeof cmd, "show servers state %s", backend);
    if (haproxy_cli_query(socks->v[0], cmd, 1000, &answer, err, sizeof err) < 0) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "error", err);
        return e;
    }
    cJSON *view = cJSON_CreateObject();
    char *save = NULL;
    for (char *line = strtok_r(answer, "\n", &save); line && view;
         line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#' || line[0] < '0' || line[0] > '9') continue;
        char *f[20] = {0}, *fs = NULL;
        int n = 0;
        for (char *t = strtok_r(line, " ", &fs); t && n < 20; t = strtok_r(NULL, " ", &fs))
            f[n++] = t;
        if (n < 19) continue;
        /* srv_addr 4, srv_op_state 5, srv_admin_state 6, srv_port 18 */
        int op = atoi(f[5]), admin = atoi(f[6]);
        const char *state = (admin & 0x01) || (admin & 0x20)   ? "MAINT"
                            : (admin & 0x08) || (admin & 0x10) ? "DRAIN"
                            : op == 2                          ? "UP"
                            : op == 1                          ? "STARTING"
                            : op == 3                          ? "STOPPING"
                                                               : "DOWN";
        char key[300];
        snprintf(key, sizeof key, "%s:%s", f[4], f[18]);
        cJSON_AddStringToObject(view, key, state);
    }
    free(answer);
    return view;
}

char *watcher_status_json(const struct watcher *w)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "daemon", "watcher");
    cJSON_AddStringToObject(o, "version", SMARTDOCK_VERSION);
    cJSON_AddBoolToObject(o, "registry_connected", registry_connected(w) == 1);
    cJSON_AddNumberToObject(o, "haproxy_reloads",
                            w->apply ? haproxy_apply_reload_count(w->apply) : 0);
    cJSON_AddNumberToObject(o, "runtime_changes", w->runtime_changes);
    cJSON_AddStringToObject(o, "last_apply_error", w->last_apply_error);
    reload_status_to_json(&w->reload, o);
    cJSON *list = cJSON_AddArrayToObject(o, "services");
    for (size_t i = 0; i < w->cfg->nservices && list; i++) {
        const struct syn_service *svc = &w->cfg->services[i];
        const struct service_state *s = &w->services[i];
        cJSON *js = cJSON_CreateObject();
        if (!js) break;
        cJSON_AddItemToArray(list, js);
        cJSON_AddStringToObject(js, "service", svc->name);
        cJSON_AddStringToObject(js, "backend", svc->haproxy.backend_name);
        int conn = discovery_connected(s->discovery);
        cJSON_AddStringToObject(js, "registry",
                                conn < 0 ? "n/a"
                                : conn   ? "connected"
                                         : "disconnected");
        char when[64] = "";
        if (s->last_change) {
            struct tm tm;
            gmtime_r(&s->last_change, &tm);
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        }
        cJSON_AddStringToObject(js, "last_change", when);
        cJSON_AddStringToObject(js, "last_error", s->last_error);
        cJSON *view = haproxy_view(w, svc->haproxy.backend_name);
        const cJSON *view_err = view ? cJSON_GetObjectItemCaseSensitive(view, "error") : NULL;
        if (view_err) cJSON_AddStringToObject(js, "haproxy_error", view_err->valuestring);
        cJSON *bs = cJSON_AddArrayToObject(js, "backends");
        for (size_t j = 0; j < s->current.n && bs; j++) {
            const struct backend *b = &s->current.v[j];
            cJSON *jb = cJSON_CreateObject();
            if (!jb) break;
            cJSON_AddItemToArray(bs, jb);
            char addr[300];
            snprintf(addr, sizeof addr, "%s:%d", b->host, b->port);
            cJSON_AddStringToObject(jb, "name", b->name);
            cJSON_AddStringToObject(jb, "address", addr);
            /* every discovery names its backends; only those seeded from
             * state_file_path wait for the registry to name them */
            cJSON_AddStringToObject(jb, "source", b->source ? b->source : "state_file");
            const cJSON *st =
                view && !view_err ? cJSON_GetObjectItemCaseSensitive(view, addr) : NULL;
            cJSON_AddStringToObject(jb, "haproxy",
                                    cJSON_IsString(st) ? st->valuestring
                                    : !view            ? "(no stats socket)"
                                    : view_err         ? "(stats socket error)"
                                                       : "not in haproxy");
        }
        cJSON_Delete(view);
    }
    char *text = cJSON_Print(o);
    cJSON_Delete(o);
    return text;
}

void watcher_summary(const struct watcher *w, char *buf, size_t len)
{
    size_t backends = 0;
    for (size_t i = 0; i < w->cfg->nservices; i++)
        backends += w->services[i].current.n;
    snprintf(buf, len, "%zu service%s, %zu backend%s; %u haproxy reloads; registry %s",
             w->cfg->nservices, w->cfg->nservices == 1 ? "" : "s", backends,
             backends == 1 ? "" : "s", w->apply ? haproxy_apply_reload_count(w->apply) : 0,
             registry_connected(w) ? "connected" : "DISCONNECTED");
}
