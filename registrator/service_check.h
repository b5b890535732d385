/*
 * gliderlabs/registrator's health check metadata (SERVICE_CHECK_* and
 * SERVICE_<port>_CHECK_*, which registrator hands to Consul) mapped onto
 * smartdock's checks (check_config.h). Pure.
 *
 * As registrator does, the first kind present decides, in its order: http,
 * https, cmd, script, ttl, tcp, grpc. http and https (certificate not
 * verified) become an http check of that path, tcp a tcp check, both on the
 * address the registration advertises (as registrator aims Consul at the
 * service's IP and port), with SERVICE_CHECK_INTERVAL (Go duration, 10s by
 * default as in registrator) and SERVICE_CHECK_TIMEOUT (10s, Consul's
 * default). One result flips the state (rise = fall = 1), as in Consul.
 * cmd, script, ttl and grpc cannot be run here: no check, and the keys are
 * named in *unmapped like every other SERVICE_CHECK_* key that is not acted
 * on (http_method, initial_status, deregister_after...).
 */
#ifndef SMARTDOCK_SERVICE_CHECK_H
#define SMARTDOCK_SERVICE_CHECK_H

#include <stddef.h>

#include "check_config.h"
#include "service_meta.h"

#define SERVICE_CHECK_INTERVAL_DEFAULT_MS 10000 /* registrator's DefaultInterval */
#define SERVICE_CHECK_TIMEOUT_DEFAULT_MS 10000  /* Consul's */

/*
 * meta is what service_meta_read gave for private port `port` (named in
 * messages). Returns 1 and fills out and *interval_ms when a check is
 * mapped, 0 when none, -1 with err naming the variable and its value.
 * *unmapped (caller frees; NULL when there are none, also on -1) lists the
 * SERVICE_CHECK_* keys not acted on: "SERVICE_CHECK_SCRIPT, SERVICE_CHECK_TTL".
 */
int service_check_from_meta(const struct service_meta *meta, int port, struct check_spec *out,
                            int *interval_ms, char **unmapped, char *err, size_t errlen);

/* A Go duration ("10s", "1.5s", "500ms", "1m30s") in milliseconds, rounded
 * up; -1 when it is not one or is not in 1 ms..max_ms. */
long service_check_duration_ms(const char *s, long max_ms);

#endif
