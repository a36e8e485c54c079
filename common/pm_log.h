/*  pm_log: one line per event on stderr.
 *
 *  Format json (the default): one JSON object per line,
 *    {"ts":"2026-11-23T08:00:00.123Z","daemon":"payment-core","pid":1234,
 *     "level":"warn","msg":"what failed, ids","trace":"..."}
 *  with "trace" only when the thread has a current trace id (below).
 *  Format text, for people:
 *    2026-11-23T08:00:00.123Z payment-core[1234] warn: what failed, ids [trace ...]
 *  Messages are lower-case and say what failed first. A message is cut at
 *  PM_LOG_MSG_MAX bytes, line breaks in it become spaces (text) or escapes
 *  (json), bytes that are not UTF-8 become '?'. Thread-safe (each line is
 *  written with a single write call). */
#ifndef PM_LOG_H
#define PM_LOG_H
#include <stdarg.h>

enum { PM_LOG_ERROR = 0, PM_LOG_WARN = 1, PM_LOG_INFO = 2, PM_LOG_DEBUG = 3 };
enum { PM_LOG_FORMAT_JSON = 0, PM_LOG_FORMAT_TEXT = 1 };

#define PM_LOG_MSG_MAX 2000 /* bytes of a message kept */
#define PM_LOG_TRACE_MAX 64 /* bytes of a trace id kept (PM_TRACE_MAX) */

/* Sets the program name shown on each line and the most verbose level kept.
 * name is borrowed and must outlive logging. */
void pm_log_init(const char *name, int level);

/* Parses "error", "warn", "info", "debug"; returns -1 for anything else. */
int pm_log_level_parse(const char *text);

/* Parses "json", "text"; returns -1 for anything else. */
int pm_log_format_parse(const char *text);
/* Sets the format of every line from now on (PM_LOG_FORMAT_JSON at first). */
void pm_log_format_set(int format);

/* Sets the calling thread's current trace id (copied, cut at
 * PM_LOG_TRACE_MAX bytes): every line this thread logs carries it until it
 * is cleared. NULL or "" clears it. Set by the code that handles one
 * request, job or retry item, cleared when that is done. */
void pm_log_trace_set(const char *trace);
/* The calling thread's current trace id; "" when none. */
const char *pm_log_trace(void);

void pm_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logs a library's printf-style message (libmicrohttpd's logger, say) as one
 * line: "prefix: message", trailing newlines removed. */
void pm_logv_line(int level, const char *prefix, const char *fmt, va_list ap);

#define pm_error(...) pm_log(PM_LOG_ERROR, __VA_ARGS__)
#define pm_warn(...) pm_log(PM_LOG_WARN, __VA_ARGS__)
#define pm_info(...) pm_log(PM_LOG_INFO, __VA_ARGS__)
#define pm_debug(...) pm_log(PM_LOG_DEBUG, __VA_ARGS__)

#endif
