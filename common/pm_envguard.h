/*  pm_envguard: the providers' "environment" setting (issue 13).
 *
 *  provider-bazaar and provider-bank run in one of two environments:
 *  production (the default) or sandbox. In production a provider refuses to
 *  start (exit status 2, naming the setting) while any of its provider URLs
 *  still points at the sandbox or a loopback address, or while a credential
 *  is still one of its built-in sandbox values: a production deployment
 *  that forgot one setting fails at once instead of sending real traffic to
 *  a fake. `make run` and the tests pass --environment sandbox. */
#ifndef PM_ENVGUARD_H
#define PM_ENVGUARD_H
#include <stdbool.h>

/* The setting of both providers. */
#define PM_SETTING_ENVIRONMENT                                                                     \
    {                                                                                              \
        "environment", PM_CFG_STR, "production", 7, 10,                                            \
            "production (refuses sandbox or loopback URLs and sandbox credentials) or sandbox", 0, \
            NULL                                                                                   \
    }

/* True when url's host is loopback (localhost, 127.0.0.0/8, ::1), is the
 * sandbox's compose host "sandbox", or its path has a "/sandbox" segment. */
bool pm_envguard_url_is_sandbox(const char *url);

/* Checks the environment value: 0 with *production set, or -1 (printed on
 * stderr, naming the setting) when it is neither word. */
int pm_envguard_environment(const char *program, const char *value, bool *production);

/* In production: refuses (prints, naming setting and environment; returns
 * -1) a URL that points at the sandbox. Otherwise 0. */
int pm_envguard_url(const char *program, bool production, const char *setting, const char *url);

/* In production: refuses (returns -1) a credential still equal to its
 * built-in sandbox default. Never prints the value. */
int pm_envguard_secret(const char *program, bool production, const char *setting, const char *value,
                       const char *sandbox_default);

#endif
