/*
 * file_output: one JSON file per service with its current backends, as
 * Synapse writes them, replaced atomically (write, fsync, rename).
 */
#ifndef SMARTDOCK_FILE_OUTPUT_H
#define SMARTDOCK_FILE_OUTPUT_H

#include "backend.h"

/* The file's text: a JSON array of {"host","port","name","weight",
 * "haproxy_server_options","labels"}. Pure; caller frees. */
char *file_output_render(const struct backend_list *backends);
/* Writes <dir>/<service>.json atomically; 0 or -1 (logged). */
int file_output_write(const char *dir, const char *service, const struct backend_list *backends);

#endif
