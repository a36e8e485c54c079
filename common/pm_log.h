/*  pm_log: one line per event on stderr.
 *
 *  Format: 2026-11-23T08:00:00.123Z payment-core[1234] warn: what failed, ids
 *  Messages are lower-case and say what failed first. Thread-safe (each line
 *  is written with a single write call). */
#ifndef PM_LOG_H
#define PM_LOG_H
#include <stdarg.h>

enum { PM_LOG_ERROR = 0, PM_LOG_WARN = 1, PM_LOG_INFO = 2, PM_LOG_DEBUG = 3 };

/* Sets the program name shown on each line and the most verbose level kept.
 * name is borrowed and must outlive logging. */
void pm_log_init(const char *name, int level);

/* Parses "error", "warn", "info", "debug"; returns -1 for anything else. */
int pm_log_level_parse(const char *text);

void pm_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logs a library's printf-style message (libmicrohttpd's logger, say) as one
 * line: "prefix: message", trailing newlines removed. */
void pm_logv_line(int level, const char *prefix, const char *fmt, va_list ap);

#define pm_error(...) pm_log(PM_LOG_ERROR, __VA_ARGS__)
#define pm_warn(...) pm_log(PM_LOG_WARN, __VA_ARGS__)
#define pm_info(...) pm_log(PM_LOG_INFO, __VA_ARGS__)
#define pm_debug(...) pm_log(PM_LOG_DEBUG, __VA_ARGS__)

#endif
