#include "yaml_doc.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* Alias expansion copies nodes; a hostile file of nested aliases ("billion
 * laughs") would otherwise grow without bound. No config comes close. */
#define YAML_DOC_MAX_NODES 200000
#define YAML_DOC_MAX_DEPTH 256

struct node_line {
    const cJSON *node;
    int line;
};

struct anchor {
    char *name;
    cJSON *node; /* borrowed: lives in the tree */
};

/* Lines by node address, open addressing. A hash, not a list: alias
 * expansion looks up every copied node, and a scan made a 200,000-node
 * document take minutes. A freed node's address may be reused; the newer
 * entry overwrites the older one. */
struct yaml_doc {
    cJSON *root;
    struct node_line *lines; /* cap_lines slots, a power of two; node NULL is empty */
    size_t n_lines, cap_lines;
};

/* One open mapping or sequence. */
struct frame {
    cJSON *node;
    char *key; /* mapping: the key read, waiting for its value */
    int key_line;
    bool key_is_merge;
    cJSON *merges; /* mapping: owned array of copies to merge at its end */
};

struct builder {
    struct yaml_doc *doc;
    struct frame stack[YAML_DOC_MAX_DEPTH];
    int depth;
    struct anchor *anchors;
    size_t n_anchors;
    size_t nodes;
    bool done;
    char *err;
    size_t errlen;
};

static int fail(struct builder *b, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct builder *b, int line, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(b->err, b->errlen, "line %d: ", line);
    if (n < 0 || (size_t)n >= b->errlen) return -1;
    va_start(ap, fmt);
    vsnprintf(b->err + n, b->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static size_t line_slot(const struct node_line *lines, size_t cap, const cJSON *node)
{
    uintptr_t h = (uintptr_t)node;
    h ^= h >> 17;
    h *= (uintptr_t)0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h ^ (h >> 29)) & (cap - 1);
    while (lines[i].node && lines[i].node != node)
        i = (i + 1) & (cap - 1);
    return i;
}

static int remember_line(struct yaml_doc *doc, const cJSON *node, int line)
{
    if ((doc->n_lines + 1) * 2 > doc->cap_lines) {
        size_t cap = doc->cap_lines ? doc->cap_lines * 2 : 64;
        struct node_line *v = calloc(cap, sizeof(*v));
        if (!v) return -1;
        for (size_t i = 0; i < doc->cap_lines; i++)
            if (doc->lines[i].node) v[line_slot(v, cap, doc->lines[i].node)] = doc->lines[i];
        free(doc->lines);
        doc->lines = v;
        doc->cap_lines = cap;
    }
    size_t i = line_slot(doc->lines, doc->cap_lines, node);
    if (!doc->lines[i].node) doc->n_lines++;
    doc->lines[i] = (struct node_line){node, line};
    return 0;
}

/* Gives every node of copy the line of its counterpart in original. */
static int copy_lines(struct yaml_doc *doc, const cJSON *original, const cJSON *copy)
{
    int line = yaml_doc_line_of(doc, original);
    if (line && remember_line(doc, copy, line) < 0) return -1;
    const cJSON *o = original->child, *c = copy->child;
    for (; o && c; o = o->next, c = c->next)
        if (copy_lines(doc, o, c) < 0) return -1;
    return 0;
}

static size_t count_nodes(const cJSON *n)
{
    size_t count = 1;
    for (const cJSON *c = n->child; c; c = c->next)
        count += count_nodes(c);
    return count;
}

/* ---------------------------------------------------------------- scalars */

static bool is_one_of(const char *s, const char *const *words)
{
    for (; *words; words++)
        if (strcmp(s, *words) == 0) return true;
    return false;
}

/* Digits of base with optional '_' separators, at least one digit. */
static bool parse_digits(const char *s, int base, double *out)
{
    double v = 0;
    bool any = false;
    for (; *s; s++) {
        if (*s == '_') continue;
        int d;
        if (isdigit((unsigned char)*s))
            d = *s - '0';
        else if (isxdigit((unsigned char)*s))
            d = 10 + (tolower((unsigned char)*s) - 'a');
        else
            return false;
        if (d >= base) return false;
        v = v * base + d;
        any = true;
    }
    *out = v;
    return any;
}

static bool parse_int(const char *s, double *out)
{
    const char *p = s;
    int sign = 1;
    if (*p == '+' || *p == '-') sign = *p++ == '-' ? -1 : 1;
    if (!*p || *p == '_') return false;
    bool ok;
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
        ok = parse_digits(p + 2, 16, out);
    else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
        ok = parse_digits(p + 2, 8, out);
    else if (p[0] == '0' && p[1])
        ok = parse_digits(p + 1, 8, out);
    else
        ok = parse_digits(p, 10, out);
    if (ok) *out *= sign;
    return ok;
}

static bool parse_float(const char *s, double *out)
{
    static const char *const inf[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
    static const char *const ninf[] = {"-.inf", "-.Inf", "-.INF", NULL};
    static const char *const nan_[] = {".nan", ".NaN", ".NAN", NULL};
    if (is_one_of(s, inf)) return *out = INFINITY, true;
    if (is_one_of(s, ninf)) return *out = -INFINITY, true;
    if (is_one_of(s, nan_)) return *out = NAN, true;
    /* [-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)? (YAML 1.1), and 1e3. */
    char buf[128];
    size_t n = 0;
    bool digit = false, dot = false, exp = false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (c == '_') continue;
        if (isdigit((unsigned char)c))
            digit = true;
        else if (c == '.' && !dot && !exp)
            dot = true;
        else if ((c == 'e' || c == 'E') && digit && !exp)
            exp = true;
        else if ((c == '+' || c == '-') && (p == s || p[-1] == 'e' || p[-1] == 'E')) {
        } else
            return false;
        if (n + 1 >= sizeof(buf)) return false;
        buf[n++] = c;
    }
    buf[n] = '\0';
    if (!digit || (!dot && !exp)) return false;
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end || errno == ERANGE) return false;
    *out = v;
    return true;
}

#define TAG_PREFIX "tag:yaml.org,2002:"

/* Types a scalar as Psych would (see yaml_doc.h). */
static cJSON *scalar_node(const yaml_event_t *ev)
{
    const char *s = (const char *)ev->data.scalar.value;
    const char *tag = (const char *)ev->data.scalar.tag;
    bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    double num;

    if (tag && strncmp(tag, TAG_PREFIX, strlen(TAG_PREFIX)) == 0) {
        const char *t = tag + strlen(TAG_PREFIX);
        if (strcmp(t, "str") == 0) return cJSON_CreateString(s);
        if (strcmp(t, "int") == 0 && parse_int(s, &num)) return cJSON_CreateNumber(num);
        if (strcmp(t, "float") == 0 && (parse_float(s, &num) || parse_int(s, &num)))
            return cJSON_CreateNumber(num);
        if (strcmp(t, "null") == 0) return cJSON_CreateNull();
        if (strcmp(t, "bool") == 0) plain = true; /* resolved below */
    } else if (tag && strcmp(tag, "!") == 0) {
        return cJSON_CreateString(s); /* non-specific tag: a string */
    }
    if (!plain) return cJSON_CreateString(s);

    static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
    static const char *const trues[] = {"true", "True", "TRUE", "yes", "Yes",
                                        "YES",  "on",   "On",   "ON",  NULL};
    static const char *const falses[] = {"false", "False", "FALSE", "no",  "No",
                                         "NO",    "off",   "Off",   "OFF", NULL};
    if (is_one_of(s, nulls)) return cJSON_CreateNull();
    if (is_one_of(s, trues)) return cJSON_CreateTrue();
    if (is_one_of(s, falses)) return cJSON_CreateFalse();
    if (parse_int(s, &num) || parse_float(s, &num)) return cJSON_CreateNumber(num);
    return cJSON_CreateString(s);
}

/* ---------------------------------------------------------------- building */

static int add_anchor(struct builder *b, const yaml_char_t *name, cJSON *node)
{
    if (!name) return 0;
    struct anchor *v = realloc(b->anchors, (b->n_anchors + 1) * sizeof(*v));
    if (!v) return -1;
    b->anchors = v;
    char *copy = strdup((const char *)name);
    if (!copy) return -1;
    b->anchors[b->n_anchors++] = (struct anchor){copy, node};
    return 0;
}

/* The most recent definition wins, as YAML says. */
static cJSON *find_anchor(const struct builder *b, const char *name)
{
    for (size_t i = b->n_anchors; i-- > 0;)
        if (strcmp(b->anchors[i].name, name) == 0) return b->anchors[i].node;
    return NULL;
}

static int merge_into(struct builder *b, struct frame *f, cJSON *value, int line)
{
    if (!f->merges && !(f->merges = cJSON_CreateArray())) return -1;
    if (cJSON_IsObject(value)) {
        cJSON_AddItemToArray(f->merges, value);
        return 0;
    }
    if (cJSON_IsArray(value)) {
        cJSON *item;
        while ((item = cJSON_DetachItemFromArray(value, 0))) {
            if (!cJSON_IsObject(item)) {
                cJSON_Delete(item);
                cJSON_Delete(value);
                return fail(b, line, "a merge key (<<) takes a mapping or a list of mappings");
            }
            cJSON_AddItemToArray(f->merges, item);
        }
        cJSON_Delete(value);
        return 0;
    }
    cJSON_Delete(value);
    return fail(b, line, "a merge key (<<) takes a mapping or a list of mappings");
}

/* Keys set in the mapping itself win; among merged mappings, the first wins. */
static void apply_merges(struct frame *f)
{
    if (!f->merges) return;
    for (cJSON *src = f->merges->child; src; src = src->next) {
        cJSON *item;
        while ((item = src->child)) {
            cJSON_DetachItemViaPointer(src, item);
            if (cJSON_GetObjectItemCaseSensitive(f->node, item->string)) {
                cJSON_Delete(item);
                continue;
            }
            /* item->string moves with the item */
            cJSON_AddItemToArray(f->node, item);
        }
    }
    cJSON_Delete(f->merges);
    f->merges = NULL;
}

/* Places a finished node (owned) where the open container wants it. */
static int place(struct builder *b, cJSON *node, int line)
{
    if (b->depth == 0) {
        if (b->doc->root) {
            cJSON_Delete(node);
            return 0;
        }
        b->doc->root = node;
        return 0;
    }
    struct frame *f = &b->stack[b->depth - 1];
    if (cJSON_IsArray(f->node)) {
        cJSON_AddItemToArray(f->node, node);
        return 0;
    }
    if (!f->key) {
        cJSON_Delete(node);
        return fail(b, line, "only scalar mapping keys are supported");
    }
    char *key = f->key;
    f->key = NULL;
    if (f->key_is_merge) {
        free(key);
        return merge_into(b, f, node, line);
    }
    if (cJSON_GetObjectItemCaseSensitive(f->node, key))
        cJSON_ReplaceItemInObjectCaseSensitive(f->node, key, node); /* the last one wins */
    else
        cJSON_AddItemToObject(f->node, key, node);
    free(key);
    return 0;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev, int line)
{
    /* "\0" and "\x00" escapes: C strings (and cJSON) would cut the value short. */
    if (memchr(ev->data.scalar.value, 0, ev->data.scalar.length))
        return fail(b, line, "a string holds a NUL character, which is not allowed");
    if (b->depth > 0) {
        struct frame *f = &b->stack[b->depth - 1];
        if (cJSON_IsObject(f->node) && !f->key) {
            const char *s = (const char *)ev->data.scalar.value;
            f->key = strdup(s);
            if (!f->key) return -1;
            f->key_line = line;
            f->key_is_merge =
                ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && strcmp(s, "<<") == 0;
            return 0;
        }
    }
    if (++b->nodes > YAML_DOC_MAX_NODES) return fail(b, line, "too many nodes");
    cJSON *node = scalar_node(ev);
    if (!node || remember_line(b->doc, node, line) < 0) {
        cJSON_Delete(node);
        return -1;
    }
    if (add_anchor(b, ev->data.scalar.anchor, node) < 0) {
        cJSON_Delete(node);
        return -1;
    }
    return place(b, node, line);
}

static int on_alias(struct builder *b, const yaml_event_t *ev, int line)
{
    const char *name = (const char *)ev->data.alias.anchor;
    cJSON *target = find_anchor(b, name);
    if (!target) return fail(b, line, "unknown alias *%s", name);
    if (b->depth > 0) {
        struct frame *f = &b->stack[b->depth - 1];
        if (cJSON_IsObject(f->node) && !f->key) {
            if (!cJSON_IsString(target))
                return fail(b, line, "only scalar mapping keys are supported");
            f->key = strdup(target->valuestring);
            if (!f->key) return -1;
            f->key_line = line;
            f->key_is_merge = false;
            return 0;
        }
    }
    b->nodes += count_nodes(target);
    if (b->nodes > YAML_DOC_MAX_NODES) return fail(b, line, "too many nodes (alias expansion)");
    cJSON *copy = cJSON_Duplicate(target, true);
    if (!copy || copy_lines(b->doc, target, copy) < 0) {
        cJSON_Delete(copy);
        return -1;
    }
    return place(b, copy, line);
}

static int open_container(struct builder *b, cJSON *node, const yaml_char_t *anchor, int line)
{
    if (!node) return -1;
    if (b->depth == YAML_DOC_MAX_DEPTH) {
        cJSON_Delete(node);
        return fail(b, line, "nested deeper than %d levels", YAML_DOC_MAX_DEPTH);
    }
    if (b->depth > 0) {
        struct frame *f = &b->stack[b->depth - 1];
        if (cJSON_IsObject(f->node) && !f->key) {
            cJSON_Delete(node);
            return fail(b, line, "only scalar mapping keys are supported");
        }
    }
    if (++b->nodes > YAML_DOC_MAX_NODES) {
        cJSON_Delete(node);
        return fail(b, line, "too many nodes");
    }
    if (remember_line(b->doc, node, line) < 0 || add_anchor(b, anchor, node) < 0) {
        cJSON_Delete(node);
        return -1;
    }
    b->stack[b->depth++] = (struct frame){.node = node, .key_line = line};
    return 0;
}

static int close_container(struct builder *b, int line)
{
    struct frame *f = &b->stack[--b->depth];
    apply_merges(f);
    free(f->key);
    f->key = NULL;
    return place(b, f->node, line);
}

static int on_event(struct builder *b, const yaml_event_t *ev)
{
    int line = (int)ev->start_mark.line + 1;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev, line);
    case YAML_ALIAS_EVENT:
        return on_alias(b, ev, line);
    case YAML_MAPPING_START_EVENT:
        return open_container(b, cJSON_CreateObject(), ev->data.mapping_start.anchor, line);
    case YAML_SEQUENCE_START_EVENT:
        return open_container(b, cJSON_CreateArray(), ev->data.sequence_start.anchor, line);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        return close_container(b, line);
    case YAML_DOCUMENT_END_EVENT:
        b->done = true; /* only the first document */
        return 0;
    default:
        return 0;
    }
}

static void builder_clear(struct builder *b)
{
    while (b->depth > 0) {
        struct frame *f = &b->stack[--b->depth];
        free(f->key);
        cJSON_Delete(f->merges);
        cJSON_Delete(f->node);
    }
    for (size_t i = 0; i < b->n_anchors; i++)
        free(b->anchors[i].name);
    free(b->anchors);
}

struct yaml_doc *yaml_doc_parse(const char *text, size_t len, char *err, size_t errlen)
{
    struct yaml_doc *doc = calloc(1, sizeof(*doc));
    struct builder b = {.doc = doc, .err = err, .errlen = errlen};
    yaml_parser_t parser;
    if (errlen) err[0] = '\0';
    if (!doc || !yaml_parser_initialize(&parser)) {
        free(doc);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);

    int rc = 0;
    while (!b.done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            snprintf(err, errlen, "line %zu: %s%s%s", parser.problem_mark.line + 1,
                     parser.problem ? parser.problem : "invalid YAML", parser.context ? " " : "",
                     parser.context ? parser.context : "");
            rc = -1;
            break;
        }
        bool end = ev.type == YAML_STREAM_END_EVENT;
        rc = on_event(&b, &ev);
        yaml_event_delete(&ev);
        if (rc < 0 || end) break;
    }
    yaml_parser_delete(&parser);
    if (rc < 0) {
        if (errlen && !err[0]) snprintf(err, errlen, "out of memory");
        builder_clear(&b);
        yaml_doc_free(doc);
        return NULL;
    }
    builder_clear(&b);
    if (!doc->root && !(doc->root = cJSON_CreateNull())) {
        yaml_doc_free(doc);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return doc;
}

struct cJSON *yaml_doc_root(const struct yaml_doc *doc)
{
    return doc->root;
}

int yaml_doc_line_of(const struct yaml_doc *doc, const struct cJSON *node)
{
    if (!doc->cap_lines || !node) return 0;
    return doc->lines[line_slot(doc->lines, doc->cap_lines, node)].line;
}

void yaml_doc_free(struct yaml_doc *doc)
{
    if (!doc) return;
    cJSON_Delete(doc->root);
    free(doc->lines);
    free(doc);
}
