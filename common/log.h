/*
 * One line per event on stderr: time, level, component, message.
 *
 * Text (the default): "2026-11-30T09:00:00.123Z info  registrator: message",
 * the level coloured when stderr is a terminal and $NO_COLOR is not set.
 * JSON (log_format "json", for log shippers): one object per line with the
 * stable fields ts, level, component, pid, msg.
 *
 * A string given to log_redact never appears in a line: it is replaced by
 * "***" (passwords, tokens).
 */
#ifndef SMARTDOCK_LOG_H
#define SMARTDOCK_LOG_H

enum log_level { LL_DEBUG, LL_INFO, LL_WARN, LL_ERROR };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* component is borrowed for the life of the process ("registrator"). */
void log_init(const char *component, enum log_level min_level);
void log_set_level(enum log_level min_level);
void log_set_format(enum log_format format);
int log_enabled(enum log_level level);

/* "text" or "json"; -1 for anything else. */
int log_format_parse(const char *name, enum log_format *out);

/* Pure: colour for a terminal, unless NO_COLOR is set to anything non-empty
 * (no-color.org) or TERM is "dumb". */
int log_color_wanted(int is_tty, const char *no_color, const char *term);

/* Thread-safe; secret is copied. Strings shorter than 4 bytes are ignored
 * (they would blank out ordinary words). */
void log_redact(const char *secret);

/* Safe from any thread: each call is one write(2). */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LL_ERROR, __VA_ARGS__)

#endif
