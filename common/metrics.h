/*
 * Prometheus metrics: families of counters, gauges and histograms with
 * labels, rendered in the text exposition format 0.0.4.
 *
 * Loop thread only: the daemon updates them where events happen, and the
 * HTTP server (metrics_http.h), driven by the same loop, renders them. A
 * collect callback runs just before each render, for gauges that are easier
 * read from the daemon's state than kept up to date (backends per service).
 */
#ifndef SMARTDOCK_METRICS_H
#define SMARTDOCK_METRICS_H

#include <stddef.h>

struct metrics;
struct metric; /* one family; owned by its struct metrics */

typedef void metrics_collect_fn(void *arg, struct metrics *m);

/* daemon names the smartdock_build_info series ("registrator"). */
struct metrics *metrics_new(const char *daemon, const char *version);
void metrics_free(struct metrics *m); /* NULL is fine */
void metrics_on_collect(struct metrics *m, metrics_collect_fn *fn, void *arg);

/* labels: comma-separated label names ("service,result"), or NULL. The
 * returned family lives as long as m. NULL m gives NULL, and every verb on a
 * NULL family does nothing, so a daemon without metrics calls them freely. */
struct metric *metrics_counter(struct metrics *m, const char *name, const char *help,
                               const char *labels);
struct metric *metrics_gauge(struct metrics *m, const char *name, const char *help,
                             const char *labels);
/* bounds: the buckets' upper bounds, ascending (+Inf is added). */
struct metric *metrics_histogram(struct metrics *m, const char *name, const char *help,
                                 const char *labels, const double *bounds, size_t nbounds);

/* The label values follow, one per label name, in order. */
void metric_add(struct metric *f, double v, ...);     /* counter or gauge */
void metric_set(struct metric *f, double v, ...);     /* gauge */
void metric_observe(struct metric *f, double v, ...); /* histogram */
/* Forgets every series (a gauge per service, before the collect sets it anew). */
void metric_reset(struct metric *f);
/* The value of one series (0 when it does not exist); for tests and STATUS lines. */
double metric_value(const struct metric *f, ...);

/* The whole exposition, process_* and smartdock_build_info included. The
 * caller frees it. Runs the collect callbacks first. */
char *metrics_render(struct metrics *m);

/* Pure: appends the text of families only (no process_* series, no collect);
 * exposed for tests. */
char *metrics_render_families(const struct metrics *m);

#endif
