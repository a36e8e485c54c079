/*  pm_log: timestamped lines on stderr, one write(2) each. */
#include "pm_log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

static const char *s_name = "paymesh";
static int s_level = PM_LOG_INFO;
static const char *s_level_names[] = {"error", "warn", "info", "debug"};

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

void pm_log(int level, const char *fmt, ...)
{
    if (level > s_level || level < 0)
        return;
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line,
                     "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     ts.tv_nsec / 1000000, s_name, (int)getpid(), s_level_names[level]);
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        return;
    size_t len =
        (size_t)n +
        ((size_t)m < sizeof line - (size_t)n - 1 ? (size_t)m : sizeof line - (size_t)n - 2);
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
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
