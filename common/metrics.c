#include "metrics.h"

#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define METRIC_MAX_LABELS 4

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct series {
    char *values[METRIC_MAX_LABELS];
    double value;    /* counter, gauge; histogram: sum */
    double *buckets; /* histogram: cumulative counts per bound, then +Inf */
    unsigned long long count;
};

struct metric {
    char *name, *help;
    enum metric_type type;
    char *labels[METRIC_MAX_LABELS];
    size_t nlabels;
    double *bounds;
    size_t nbounds;
    struct series *series;
    size_t nseries, cap;
};

struct metrics {
    char *daemon, *version;
    struct metric **families;
    size_t n;
    metrics_collect_fn *collect;
    void *collect_arg;
};

struct metrics *metrics_new(const char *daemon, const char *version)
{
    struct metrics *m = calloc(1, sizeof *m);
    if (!m) return NULL;
    m->daemon = strdup(daemon);
    m->version = strdup(version);
    if (!m->daemon || !m->version) {
        metrics_free(m);
        return NULL;
    }
    return m;
}

static void series_clear(struct metric *f, struct series *s)
{
    for (size_t i = 0; i < f->nlabels; i++)
        free(s->values[i]);
    free(s->buckets);
}

void metric_reset(struct metric *f)
{
    if (!f) return;
    for (size_t i = 0; i < f->nseries; i++)
        series_clear(f, &f->series[i]);
    f->nseries = 0;
}

static void family_free(struct metric *f)
{
    metric_reset(f);
    free(f->series);
    for (size_t i = 0; i < f->nlabels; i++)
        free(f->labels[i]);
    free(f->bounds);
    free(f->name);
    free(f->help);
    free(f);
}

void metrics_free(struct metrics *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->n; i++)
        family_free(m->families[i]);
    free(m->families);
    free(m->daemon);
    free(m->version);
    free(m);
}

void metrics_on_collect(struct metrics *m, metrics_collect_fn *fn, void *arg)
{
    if (!m) return;
    m->collect = fn;
    m->collect_arg = arg;
}

static struct metric *family_new(struct metrics *m, const char *name, const char *help,
                                 const char *labels, enum metric_type type)
{
    if (!m) return NULL;
    struct metric *f = calloc(1, sizeof *f);
    struct metric **nf = realloc(m->families, (m->n + 1) * sizeof *nf);
    if (!f || !nf) {
        free(f);
        return NULL;
    }
    m->families = nf;
    f->name = strdup(name);
    f->help = strdup(help);
    f->type = type;
    if (labels) {
        char *copy = strdup(labels), *save = NULL;
        for (char *t = copy ? strtok_r(copy, ",", &save) : NULL;
             t && f->nlabels < METRIC_MAX_LABELS; t = strtok_r(NULL, ",", &save))
            f->labels[f->nlabels++] = strdup(t);
        free(copy);
    }
    m->families[m->n++] = f;
    return f;
}

struct metric *metrics_counter(struct metrics *m, const char *name, const char *help,
                               const char *labels)
{
    return family_new(m, name, help, labels, METRIC_COUNTER);
}

struct metric *metrics_gauge(struct metrics *m, const char *name, const char *help,
                             const char *labels)
{
    return family_new(m, name, help, labels, METRIC_GAUGE);
}

static struct series *series_get(struct metric *f, const char *const *values, bool create);

struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                 const char *labels, const double *bounds, size_t nbounds)
{
    struct metric *f = family_new(m, name, help, labels, METRIC_HISTOGRAM);
    if (!f) return NULL;
    f->bounds = malloc((nbounds ? nbounds : 1) * sizeof *f->bounds);
    if (f->bounds) {
        memcpy(f->bounds, bounds, nbounds * sizeof *bounds);
        f->nbounds = nbounds;
    }
    /* Without labels it has one series, shown at 0 from the start. */
    if (!f->nlabels) series_get(f, NULL, true);
    return f;
}

/* The series for these label values, created when absent (NULL on OOM). */
static struct series *series_get(struct metric *f, const char *const *values, bool create)
{
    for (size_t i = 0; i < f->nseries; i++) {
        size_t j = 0;
        while (j < f->nlabels && strcmp(f->series[i].values[j], values[j]) == 0)
            j++;
        if (j == f->nlabels) return &f->series[i];
    }
    if (!create) return NULL;
    if (f->nseries == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        struct series *ns = realloc(f->series, cap * sizeof *ns);
        if (!ns) return NULL;
        f->series = ns;
        f->cap = cap;
    }
    struct series *s = &f->series[f->nseries];
    memset(s, 0, sizeof *s);
    for (size_t j = 0; j < f->nlabels; j++) {
        s->values[j] = strdup(values[j] ? values[j] : "");
        if (!s->values[j]) {
            series_clear(f, s);
            return NULL;
        }
    }
    if (f->type == METRIC_HISTOGRAM) {
        s->buckets = calloc(f->nbounds + 1, sizeof *s->buckets);
        if (!s->buckets) {
            series_clear(f, s);
            return NULL;
        }
    }
    f->nseries++;
    return s;
}

enum update { UPDATE_ADD, UPDATE_SET, UPDATE_OBSERVE };

/* The series named by the label values in ap, changed as op says. */
static void update(struct metric *f, enum update op, double v, va_list ap)
{
    const char *values[METRIC_MAX_LABELS];
    for (size_t i = 0; i < f->nlabels; i++)
        values[i] = va_arg(ap, const char *);
    struct series *s = series_get(f, values, true);
    if (!s) return;
    if (op == UPDATE_ADD) {
        s->value += v;
    } else if (op == UPDATE_SET) {
        s->value = v;
    } else if (f->type == METRIC_HISTOGRAM) {
        for (size_t i = 0; i < f->nbounds; i++)
            if (v <= f->bounds[i]) s->buckets[i]++;
        s->buckets[f->nbounds]++;
        s->count++;
        s->value += v;
    }
}

#define METRIC_UPDATE(f, op, v)                                                                    \
    do {                                                                                           \
        if (!(f)) return;                                                                          \
        va_list ap;                                                                                \
        va_start(ap, v);                                                                           \
        update(f, op, v, ap);                                                                      \
        va_end(ap);                                                                                \
    } while (0)

void metric_add(struct metric *f, double v, ...)
{
    METRIC_UPDATE(f, UPDATE_ADD, v);
}

void metric_set(struct metric *f, double v, ...)
{
    METRIC_UPDATE(f, UPDATE_SET, v);
}

void metric_observe(struct metric *f, double v, ...)
{
    METRIC_UPDATE(f, UPDATE_OBSERVE, v);
}

double metric_value(const struct metric *f, ...)
{
    if (!f) return 0;
    const char *values[METRIC_MAX_LABELS];
    va_list ap;
    va_start(ap, f);
    for (size_t i = 0; i < f->nlabels; i++)
        values[i] = va_arg(ap, const char *);
    va_end(ap);
    struct series *s = series_get((struct metric *)f, values, false);
    if (!s) return 0;
    return f->type == METRIC_HISTOGRAM ? (double)s->count : s->value;
}

/* ---- text format 0.0.4 --------------------------------------------------- */

struct buf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void put(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct buf *b, const char *fmt, ...)
{
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->p && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap <= b->len + (size_t)n)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = true;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
}

/* A label value: backslash, double quote and newline escaped. */
static void put_label_value(struct buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            put(b, "\\\\");
        else if (*v == '"')
            put(b, "\\\"");
        else if (*v == '\n')
            put(b, "\\n");
        else
            put(b, "%c", *v);
    }
}

/* HELP text: backslash and newline escaped. */
static void put_help(struct buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            put(b, "\\\\");
        else if (*v == '\n')
            put(b, "\\n");
        else
            put(b, "%c", *v);
    }
}

static void put_number(struct buf *b, double v)
{
    if (isinf(v))
        put(b, v > 0 ? "+Inf" : "-Inf");
    else if (isnan(v))
        put(b, "NaN");
    else if (v == floor(v) && fabs(v) < 1e15)
        put(b, "%.0f", v);
    else
        put(b, "%.17g", v);
}

/* {a="x",b="y"} plus an extra label (le) when given; nothing when empty. */
static void put_labels(struct buf *b, const struct metric *f, const struct series *s,
                       const char *extra_name, const char *extra_value)
{
    if (!f->nlabels && !extra_name) return;
    put(b, "{");
    for (size_t i = 0; i < f->nlabels; i++) {
        put(b, "%s%s=\"", i ? "," : "", f->labels[i]);
        put_label_value(b, s->values[i]);
        put(b, "\"");
    }
    if (extra_name) put(b, "%s%s=\"%s\"", f->nlabels ? "," : "", extra_name, extra_value);
    put(b, "}");
}

static void put_family(struct buf *b, const struct metric *f)
{
    static const char *types[] = {"counter", "gauge", "histogram"};
    put(b, "# HELP %s ", f->name);
    put_help(b, f->help);
    put(b, "\n# TYPE %s %s\n", f->name, types[f->type]);
    /* A counter without labels exists from the start, at 0. */
    if (!f->nlabels && !f->nseries && f->type != METRIC_HISTOGRAM) {
        put(b, "%s 0\n", f->name);
        return;
    }
    for (size_t i = 0; i < f->nseries; i++) {
        const struct series *s = &f->series[i];
        if (f->type != METRIC_HISTOGRAM) {
            put(b, "%s", f->name);
            put_labels(b, f, s, NULL, NULL);
            put(b, " ");
            put_number(b, s->value);
            put(b, "\n");
            continue;
        }
        for (size_t j = 0; j <= f->nbounds; j++) {
            char le[64];
            if (j == f->nbounds)
                snprintf(le, sizeof le, "+Inf");
            else
                snprintf(le, sizeof le, "%g", f->bounds[j]);
            put(b, "%s_bucket", f->name);
            put_labels(b, f, s, "le", le);
            put(b, " ");
            put_number(b, s->buckets[j]);
            put(b, "\n");
        }
        put(b, "%s_sum", f->name);
        put_labels(b, f, s, NULL, NULL);
        put(b, " ");
        put_number(b, s->value);
        put(b, "\n%s_count", f->name);
        put_labels(b, f, s, NULL, NULL);
        put(b, " %llu\n", s->count);
    }
}

static char *finish(struct buf *b)
{
    if (b->oom) {
        free(b->p);
        return NULL;
    }
    if (!b->p) return strdup("");
    return b->p;
}

char *metrics_render_families(const struct metrics *m)
{
    struct buf b = {0};
    for (size_t i = 0; i < m->n; i++)
        put_family(&b, m->families[i]);
    return finish(&b);
}

/* ---- process_* (as Prometheus' client libraries name them) ------------------ */

/* From /proc/self/stat: utime+stime in ticks, starttime in ticks since boot,
 * vsize in bytes, rss in pages. */
static bool read_self_stat(double *cpu_s, double *start_ticks, double *vsize, double *rss_pages)
{
    FILE *fp = fopen("/proc/self/stat", "r");
    if (!fp) return false;
    char line[2048];
    bool ok = fgets(line, sizeof line, fp) != NULL;
    fclose(fp);
    char *p = ok ? strrchr(line, ')') : NULL; /* the command may hold spaces */
    if (!p) return false;
    unsigned long utime, stime, vs;
    unsigned long long start;
    long rss;
    /* fields 3.. after ") ": state ppid pgrp session tty tpgid flags minflt cminflt majflt
     * cmajflt utime stime cutime cstime priority nice threads itreal starttime vsize rss */
    if (sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu %*d %*d %*d %*d %*d %*d "
               "%llu %lu %ld",
               &utime, &stime, &start, &vs, &rss) != 5)
        return false;
    double hz = (double)sysconf(_SC_CLK_TCK);
    *cpu_s = (double)(utime + stime) / hz;
    *start_ticks = (double)start;
    *vsize = (double)vs;
    *rss_pages = (double)rss;
    return true;
}

static double boot_time(void)
{
    FILE *fp = fopen("/proc/stat", "r");
    if (!fp) return 0;
    char line[256];
    double btime = 0;
    while (fgets(line, sizeof line, fp))
        if (sscanf(line, "btime %lf", &btime) == 1) break;
    fclose(fp);
    return btime;
}

static int open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n - 1; /* not the directory's own fd */
}

static void put_process(struct buf *b)
{
    double cpu, start, vsize, rss;
    if (read_self_stat(&cpu, &start, &vsize, &rss)) {
        double hz = (double)sysconf(_SC_CLK_TCK);
        put(b, "# HELP process_cpu_seconds_total Total user and system CPU time spent in "
               "seconds.\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total ");
        put_number(b, cpu);
        put(b, "\n# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
               "# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes ");
        put_number(b, rss * (double)sysconf(_SC_PAGESIZE));
        put(b, "\n# HELP process_virtual_memory_bytes Virtual memory size in bytes.\n"
               "# TYPE process_virtual_memory_bytes gauge\nprocess_virtual_memory_bytes ");
        put_number(b, vsize);
        put(b, "\n# HELP process_start_time_seconds Start time of the process since unix epoch "
               "in seconds.\n# TYPE process_start_time_seconds gauge\n"
               "process_start_time_seconds ");
        put_number(b, boot_time() + start / hz);
        put(b, "\n");
    }
    int fds = open_fds();
    if (fds >= 0)
        put(b,
            "# HELP process_open_fds Number of open file descriptors.\n"
            "# TYPE process_open_fds gauge\nprocess_open_fds %d\n",
            fds);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        put(b, "# HELP process_max_fds Maximum number of open file descriptors.\n"
               "# TYPE process_max_fds gauge\nprocess_max_fds ");
        put_number(b, rl.rlim_cur == RLIM_INFINITY ? INFINITY : (double)rl.rlim_cur);
        put(b, "\n");
    }
}

char *metrics_render(struct metrics *m)
{
    if (m->collect) m->collect(m->collect_arg, m);
    struct buf b = {0};
    for (size_t i = 0; i < m->n; i++)
        put_family(&b, m->families[i]);
    put_process(&b);
    put(&b, "# HELP smartdock_build_info The smartdock version and daemon; always 1.\n"
            "# TYPE smartdock_build_info gauge\nsmartdock_build_info{daemon=\"");
    put_label_value(&b, m->daemon);
    put(&b, "\",version=\"");
    put_label_value(&b, m->version);
    put(&b, "\"} 1\n");
    return finish(&b);
}
