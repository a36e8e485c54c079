/*  pm_config: one table of settings per program, each with a default, a
 *  minimum and a maximum.
 *
 *  A setting named "http-port" is read from the flag --http-port=V (or
 *  --http-port V), else from the environment variable PAYMESH_HTTP_PORT, else
 *  its default. Integers must lie in [min, max]; strings must have a length in
 *  [min, max]. Units go last in names: timeout-ms, max-body-bytes.
 *
 *      enum { CFG_PORT, CFG__COUNT };
 *      static pm_setting_t cfg[CFG__COUNT] = {
 *          [CFG_PORT] = {"http-port", PM_CFG_INT, "8080", 1, 65535, "HTTP port"},
 *      };
 *      if (pm_config_load(cfg, CFG__COUNT, argc, argv, "api-gateway") != 0) ...
 *      int port = (int)cfg[CFG_PORT].ival;
 */
#ifndef PM_CONFIG_H
#define PM_CONFIG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { PM_CFG_INT, PM_CFG_STR } pm_cfg_type_t;

typedef struct {
    const char *name; /* flag name without "--" */
    pm_cfg_type_t type;
    const char *def;  /* default, as text */
    int64_t min, max; /* value range (INT) or length range (STR) */
    const char *help;
    /* Filled by pm_config_load. sval is borrowed from argv, the environment
     * or def, all of which live as long as the program. */
    int64_t ival;
    const char *sval;
} pm_setting_t;

/* Loads every setting of the table. Returns 0 on success; 1 when --help was
 * given (usage printed on stdout); -1 on a bad flag or value (the reason
 * printed on stderr, naming the setting). Positional arguments are not
 * allowed unless rest is non-NULL, in which case the index of the first one
 * is stored there (argc when none). */
int pm_config_load(pm_setting_t *table, size_t count, int argc, char **argv, const char *program,
                   int *rest);

/* The log-level setting every daemon has: error, warn, info or debug. */
#define PM_SETTING_LOG_LEVEL                                                                       \
    {                                                                                              \
        "log-level", PM_CFG_STR, "info", 4, 5, "error, warn, info or debug", 0, NULL               \
    }

/* The log-format setting every daemon has: json (one JSON object per line)
 * or text (for people); see pm_log.h. */
#define PM_SETTING_LOG_FORMAT                                                                      \
    {                                                                                              \
        "log-format", PM_CFG_STR, "json", 4, 4, "json (one object per line) or text", 0, NULL      \
    }

/* For a daemon's main: loads the table (no positional arguments) and sets up
 * pm_log for `program` at the level of table[log_level], in the format of
 * the table's "log-format" setting when it has one (else json). Returns true when
 * main should go on; false with *exit_status set otherwise: 0 after --help,
 * 2 for a bad setting (the reason printed on stderr). */
bool pm_config_daemon(pm_setting_t *table, size_t count, size_t log_level, int argc, char **argv,
                      const char *program, int *exit_status);

/* Prints the table with defaults and ranges, for --help. */
void pm_config_usage(const pm_setting_t *table, size_t count, const char *program);

#endif
