/*  pm_log: JSON or text lines on stderr, one write(2) each. */
#include "pm_log.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static const char *s_name = "paymesh";
static int s_level = PM_LOG_INFO;
static int s_format = PM_LOG_FORMAT_JSON;
static const char *s_level_names[] = {"error", "warn", "info", "debug"};
static _Thread_local char s_trace[PM_LOG_TRACE_MAX + 1];

void pm_log_init(const char *name, int level)
{
    if (name)
        s_name = name;
    s_level = level;
}

int pm_log_level_parse(const char *text)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(text, s_level_names[i]) == 0)
            return i;
    return -1;
}

int pm_log_format_parse(const char *text)
{
    if (strcmp(text, "json") == 0)
        return PM_LOG_FORMAT_JSON;
    if (strcmp(text, "text") == 0)
        return PM_LOG_FORMAT_TEXT;
    return -1;
}

void pm_log_format_set(int format)
{
    s_format = format == PM_LOG_FORMAT_TEXT ? PM_LOG_FORMAT_TEXT : PM_LOG_FORMAT_JSON;
}

void pm_log_trace_set(const char *trace)
{
    snprintf(s_trace, sizeof s_trace, "%s", trace ? trace : "");
}

const char *pm_log_trace(void)
{
    return s_trace;
}

/* The length of the valid UTF-8 sequence at s (n bytes left), 0 if none. */
static size_t s_utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned min;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf)
        len = 2, min = 0x80;
    else if (s[0] >= 0xe0 && s[0] <= 0xef)
        len = 3, min = 0x800;
    else if (s[0] >= 0xf0 && s[0] <= 0xf4)
        len = 4, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    unsigned cp = s[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Makes msg (len bytes) valid UTF-8, '?' for each stray byte; in text
 * format also turns control characters into spaces. */
static void s_clean(char *msg, size_t len, bool text)
{
    unsigned char *s = (unsigned char *)msg;
    for (size_t i = 0; i < len;) {
        size_t n = s_utf8_len(s + i, len - i);
        if (n == 0) {
            s[i++] = '?';
            continue;
        }
        if (text && n == 1 && (s[i] < 0x20 || s[i] == 0x7f))
            s[i] = ' ';
        i += n;
    }
}

void pm_log(int level, const char *fmt, ...)
{
    if (level > s_level || level < 0)
        return;
    char msg[PM_LOG_MSG_MAX + 1];
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    size_t mlen = (size_t)m < sizeof msg ? (size_t)m : sizeof msg - 1;
    s_clean(msg, mlen, s_format == PM_LOG_FORMAT_TEXT);
    msg[mlen] = '\0';

    char ts[64];
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
    const char *trace = s_trace;

    if (s_format == PM_LOG_FORMAT_TEXT) {
        char line[PM_LOG_MSG_MAX + PM_LOG_TRACE_MAX + 256];
        int n = snprintf(line, sizeof line, "%s %s[%d] %s: %s%s%s%s\n", ts, s_name, (int)getpid(),
                         s_level_names[level], msg, trace[0] ? " [trace " : "", trace,
                         trace[0] ? "]" : "");
        if (n < 0)
            return;
        size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
        line[len - 1] = '\n';
        ssize_t w = write(STDERR_FILENO, line, len);
        (void)w;
        return;
    }

    json_object *o = json_object_new_object();
    if (!o)
        return;
    json_object_object_add(o, "ts", json_object_new_string(ts));
    json_object_object_add(o, "daemon", json_object_new_string(s_name));
    json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
    json_object_object_add(o, "level", json_object_new_string(s_level_names[level]));
    json_object_object_add(o, "msg", json_object_new_string_len(msg, (int)mlen));
    if (trace[0]) {
        char t[PM_LOG_TRACE_MAX + 1];
        size_t tlen = strlen(trace);
        memcpy(t, trace, tlen + 1);
        s_clean(t, tlen, false);
        json_object_object_add(o, "trace", json_object_new_string(t));
    }
    size_t len = 0;
    const char *js = json_object_to_json_string_length(
        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    if (js) {
        /* At most 6 bytes per message byte (\u00XX) plus the fixed fields. */
        char line[6 * PM_LOG_MSG_MAX + 6 * PM_LOG_TRACE_MAX + 512];
        if (len + 1 <= sizeof line) {
            memcpy(line, js, len);
            line[len++] = '\n';
            ssize_t w = write(STDERR_FILENO, line, len);
            (void)w;
        }
    }
    json_object_put(o);
}

void pm_logv_line(int level, const char *prefix, const char *fmt, va_list ap)
{
    char line[512];
    if (vsnprintf(line, sizeof line, fmt, ap) < 0)
        return;
    size_t n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    pm_log(level, "%s: %s", prefix, line);
}
