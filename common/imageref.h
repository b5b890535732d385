/*
 * Docker image references ("busybox", "reg.example:5000/team/app:1.2",
 * "app@sha256:<hex>"): parsing, normalisation and the matching rule the
 * registrator uses to pick containers by image.
 *
 * Everything here is pure: no I/O, no globals.
 */
#ifndef SMARTDOCK_IMAGEREF_H
#define SMARTDOCK_IMAGEREF_H

#include <stdbool.h>
#include <stddef.h>

/* A parsed, normalised reference; every field is owned by the struct. */
struct imageref {
    char *domain; /* never NULL after parse: "docker.io" when none was given */
    char *path;   /* never NULL; "library/<name>" for docker.io one-component names */
    char *tag;    /* NULL when absent (no "latest" is invented here) */
    char *digest; /* "sha256:<hex>" or NULL */
};

/*
 * Parses s the way Docker does (distribution's reference grammar):
 *   - the first '/'-separated component is a registry domain only if it holds
 *     a '.' or a ':' or is "localhost"; otherwise the domain is "docker.io";
 *   - "index.docker.io" becomes "docker.io", and a docker.io path of one
 *     component gets "library/" in front;
 *   - a ':' after the last '/' starts the tag, so "reg.example:5000/app:1.2"
 *     has domain "reg.example:5000" and tag "1.2";
 *   - "@<algorithm>:<hex>" is a digest; a tag and a digest may both be given.
 * Empty strings, whitespace, control characters, uppercase in the path, bad
 * tags and digests, names over 255 characters and image IDs ("sha256:<hex>",
 * 64 hex digits) are refused: -1 and a sentence in err naming the value.
 * out is overwritten (not freed first); on failure it is left cleared.
 */
int imageref_parse(const char *s, struct imageref *out, char *err, size_t errlen);

/* Frees what r owns and zeroes it. Safe on a zeroed or cleared struct. */
void imageref_clear(struct imageref *r);

/*
 * Does the configured image `have` (a container's inspect Config.Image)
 * satisfy the selector `wanted`? Both are normalised first, so
 * "docker.io/library/busybox" and "busybox" are the same repository.
 *   - wanted without tag and digest matches ANY tag or digest of the same
 *     repository. Synapse's docker watcher compares image names with the tag
 *     stripped; Synapse configs rely on that and we keep it.
 *   - wanted with a tag needs the same tag; a `have` with neither tag nor
 *     digest means "latest". So "local/nodeapp:latest" matches
 *     "local/nodeapp" but not "local/nodeapp:v2". A `have` pinned only by
 *     digest has no known tag and does not match a tagged `wanted`.
 *   - wanted with a digest needs the same digest (its tag, if any, is then
 *     ignored, as Docker ignores it when pulling).
 * A `have` that is an image ID ("sha256:<hex>" or 64 hex digits: the
 * container was started from an ID) never matches, nor does anything that
 * does not parse; validate `wanted` with imageref_parse at config time.
 */
bool imageref_match(const char *wanted, const char *have);

#endif
