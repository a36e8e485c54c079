/*  pm_config: flags, then environment, then defaults; every value range-checked. */
#include "pm_config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pm_log.h"

static void s_env_name(const char *name, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "PAYMESH_");
    for (const char *p = name; *p && n + 1 < cap; p++)
        out[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
    out[n] = '\0';
}

/* Settings named "...-endpoint" are ZeroMQ endpoints (the naming rule, like
 * units last): checked here, so a typo is a clear startup error naming the
 * setting rather than a failed bind or connect later. */
static bool s_is_endpoint_setting(const char *name)
{
    size_t n = strlen(name), k = strlen("-endpoint");
    return n > k && strcmp(name + n - k, "-endpoint") == 0;
}

/* tcp://HOST:PORT (PORT 1..65535 or *), ipc://PATH, inproc://NAME. */
static bool s_endpoint_ok(const char *e)
{
    if (strncmp(e, "ipc://", 6) == 0)
        return e[6] != '\0';
    if (strncmp(e, "inproc://", 9) == 0)
        return e[9] != '\0';
    if (strncmp(e, "tcp://", 6) != 0)
        return false;
    const char *host = e + 6, *colon = strrchr(host, ':');
    if (!colon || colon == host)
        return false;
    const char *port = colon + 1;
    if (strcmp(port, "*") == 0)
        return true;
    if (!*port || strlen(port) > 5)
        return false;
    for (const char *p = port; *p; p++)
        if (!isdigit((unsigned char)*p))
            return false;
    long v = strtol(port, NULL, 10);
    return v >= 1 && v <= 65535;
}

static int s_set(pm_setting_t *s, const char *text, const char *program, const char *origin)
{
    if (s->type == PM_CFG_INT) {
        char *end = NULL;
        errno = 0;
        /* strtoll skips leading blanks and takes a '+': neither is an
         * integer here. */
        bool digits =
            isdigit((unsigned char)text[0]) || (text[0] == '-' && isdigit((unsigned char)text[1]));
        long long v = digits ? strtoll(text, &end, 10) : 0;
        if (!digits || errno || end == text || *end != '\0') {
            fprintf(stderr, "%s: %s %s: '%s' is not an integer\n", program, origin, s->name, text);
            return -1;
        }
        if (v < s->min || v > s->max) {
            fprintf(stderr, "%s: %s %s: %lld is outside [%" PRId64 ", %" PRId64 "]\n", program,
                    origin, s->name, v, s->min, s->max);
            return -1;
        }
        s->ival = v;
        s->sval = text;
    } else {
        size_t len = strlen(text);
        if ((int64_t)len < s->min || (int64_t)len > s->max) {
            fprintf(stderr, "%s: %s %s: length %zu is outside [%" PRId64 ", %" PRId64 "]\n",
                    program, origin, s->name, len, s->min, s->max);
            return -1;
        }
        if (len > 0 && s_is_endpoint_setting(s->name) && !s_endpoint_ok(text)) {
            fprintf(stderr,
                    "%s: %s %s: '%s' is not a ZeroMQ endpoint (tcp://HOST:PORT or "
                    "ipc://PATH)\n",
                    program, origin, s->name, text);
            return -1;
        }
        s->sval = text;
    }
    return 0;
}

void pm_config_usage(const pm_setting_t *table, size_t count, const char *program)
{
    printf("usage: %s [--setting=value ...]\n\nsettings (flag, environment, default, range):\n",
           program);
    for (size_t i = 0; i < count; i++) {
        char env[128];
        s_env_name(table[i].name, env, sizeof env);
        printf("  --%-24s %-32s default %s, %s [%" PRId64 ", %" PRId64 "]\n      %s\n",
               table[i].name, env, table[i].def, table[i].type == PM_CFG_INT ? "range" : "length",
               table[i].min, table[i].max, table[i].help);
    }
}

int pm_config_load(pm_setting_t *table, size_t count, int argc, char **argv, const char *program,
                   int *rest)
{
    for (size_t i = 0; i < count; i++) {
        char env[128];
        s_env_name(table[i].name, env, sizeof env);
        const char *v = getenv(env);
        if (s_set(&table[i], table[i].def, program, "default") != 0)
            return -1;
        if (v && s_set(&table[i], v, program, env) != 0)
            return -1;
    }
    int i = 1;
    for (; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            pm_config_usage(table, count, program);
            return 1;
        }
        if (strncmp(arg, "--", 2) != 0) {
            if (rest)
                break;
            fprintf(stderr, "%s: unexpected argument '%s' (see --help)\n", program, arg);
            return -1;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t name_len = eq ? (size_t)(eq - name) : strlen(name);
        pm_setting_t *s = NULL;
        for (size_t k = 0; k < count; k++)
            if (strlen(table[k].name) == name_len && strncmp(table[k].name, name, name_len) == 0)
                s = &table[k];
        if (!s) {
            if (rest)
                break;
            fprintf(stderr, "%s: unknown flag '%s' (see --help)\n", program, arg);
            return -1;
        }
        const char *value = eq ? eq + 1 : NULL;
        if (!value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s: flag --%s needs a value\n", program, s->name);
                return -1;
            }
            value = argv[++i];
        }
        if (s_set(s, value, program, "flag") != 0)
            return -1;
    }
    if (rest)
        *rest = i;
    return 0;
}

bool pm_config_daemon(pm_setting_t *table, size_t count, size_t log_level, int argc, char **argv,
                      const char *program, int *exit_status)
{
    int rc = pm_config_load(table, count, argc, argv, program, NULL);
    if (rc != 0) {
        *exit_status = rc > 0 ? 0 : 2;
        return false;
    }
    int level = pm_log_level_parse(table[log_level].sval);
    if (level < 0) {
        fprintf(stderr, "%s: log-level: '%s' is not error, warn, info or debug\n", program,
                table[log_level].sval);
        *exit_status = 2;
        return false;
    }
    for (size_t i = 0; i < count; i++) {
        if (strcmp(table[i].name, "log-format") != 0)
            continue;
        int format = pm_log_format_parse(table[i].sval);
        if (format < 0) {
            fprintf(stderr, "%s: log-format: '%s' is not json or text\n", program, table[i].sval);
            *exit_status = 2;
            return false;
        }
        pm_log_format_set(format);
    }
    pm_log_init(program, level);
    return true;
}
