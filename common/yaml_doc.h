/*
 * A YAML document read into a cJSON tree, so that one config reader serves
 * both formats (Synapse's configs are YAML, and JSON is YAML too).
 *
 * Mappings become objects, sequences arrays, scalars are typed the way Ruby's
 * Psych (YAML 1.1) types them, which is what Synapse sees:
 *   - quoted scalars, and `!!str`, are strings;
 *   - plain `~`, `null`, `Null`, `NULL` and the empty scalar are null;
 *   - plain true/false/yes/no/on/off (in lower, Capitalised or UPPER case)
 *     are booleans;
 *   - plain integers (decimal, 0x hex, 0o/0 octal, `_` separators) and floats
 *     (incl. .inf, .nan) are numbers;
 *   - everything else is a string.
 * Anchors and aliases are expanded (an alias is a copy of its anchor's node),
 * and merge keys (`<<: *defaults`, or a list of them) fill the keys the
 * mapping does not set itself. Multi-line and folded strings are libyaml's.
 *
 * Every node keeps the line it starts on, so a reader that finds a bad value
 * can say `file.yaml:14: services.web.haproxy.port: ...`.
 *
 * Only the first document of a stream is read. Pure: no I/O, no globals.
 */
#ifndef SMARTDOCK_YAML_DOC_H
#define SMARTDOCK_YAML_DOC_H

#include <stddef.h>

struct cJSON;
struct yaml_doc;

/* Parses text (need not be NUL-terminated). Returns NULL on error with a
 * one-line reason in err, e.g. "line 3: mapping values are not allowed in
 * this context". An empty document gives a null root. */
struct yaml_doc *yaml_doc_parse(const char *text, size_t len, char *err, size_t errlen);

/* The root node, borrowed: it lives as long as the document. */
struct cJSON *yaml_doc_root(const struct yaml_doc *doc);

/* The 1-based line a node of this document starts on, or 0 for a node that is
 * not in it. */
int yaml_doc_line_of(const struct yaml_doc *doc, const struct cJSON *node);

void yaml_doc_free(struct yaml_doc *doc);

#endif
