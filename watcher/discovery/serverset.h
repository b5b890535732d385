/*
 * Finagle ServerSet member payloads (what Twitter's ServerSets and Apache
 * Aurora write into ZooKeeper), for discovery "zookeeper" with
 * decode: {method: serverset, endpoint_name}. Pure.
 *
 *   {"serviceEndpoint": {"host": "10.0.0.5", "port": 31943},
 *    "additionalEndpoints": {"http": {"host": "10.0.0.5", "port": 31944}},
 *    "status": "ALIVE", "shard": 0}
 */
#ifndef SMARTDOCK_SERVERSET_H
#define SMARTDOCK_SERVERSET_H

#include <stddef.h>

#include "backend.h"

enum serverset_result {
    SERVERSET_OK = 0,
    SERVERSET_NOT_ALIVE = 1, /* well formed, but its status is not ALIVE: not served */
    SERVERSET_REFUSED = -1,  /* malformed or hostile */
};

/*
 * Decodes one member into out: host and port from serviceEndpoint, or from
 * additionalEndpoints[endpoint_name] when endpoint_name is not NULL; the
 * name is the shard number when there is one (as Synapse names it), else
 * host:port. On anything but SERVERSET_OK, out is left cleared and err holds
 * a sentence naming the field by its JSON path and the value
 * ("additionalEndpoints.http.port: expected an integer 1..65535, got 0").
 */
enum serverset_result serverset_decode(const char *json, size_t len, const char *endpoint_name,
                                       struct backend *out, char *err, size_t errlen);

#endif
