/* One line per event on stderr: time, level, component, message. */
#ifndef SMARTDOCK_LOG_H
#define SMARTDOCK_LOG_H

enum log_level { LL_DEBUG, LL_INFO, LL_WARN, LL_ERROR };

/* component is borrowed for the life of the process ("registrator"). */
void log_init(const char *component, enum log_level min_level);
void log_set_level(enum log_level min_level);
int log_enabled(enum log_level level);

/* Safe from any thread: each call is one write(2). */
void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_debug(...) log_msg(LL_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LL_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LL_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LL_ERROR, __VA_ARGS__)

#endif
