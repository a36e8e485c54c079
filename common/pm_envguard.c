/*  pm_envguard: production refuses sandbox URLs and credentials. */
#include "pm_envguard.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

bool pm_envguard_url_is_sandbox(const char *url)
{
    if (!url)
        return false;
    const char *p = strstr(url, "://");
    p = p ? p + 3 : url;
    const char *at = NULL;
    size_t auth_len = strcspn(p, "/?#");
    for (size_t i = 0; i < auth_len; i++)
        if (p[i] == '@')
            at = p + i;
    if (at) { /* user:password@ is not the host */
        auth_len -= (size_t)(at + 1 - p);
        p = at + 1;
    }
    char host[256];
    size_t host_len;
    if (*p == '[') {
        const char *end = memchr(p, ']', auth_len);
        host_len = end ? (size_t)(end - p - 1) : auth_len - 1;
        p++;
    } else {
        host_len = strcspn(p, ":/?#");
        if (host_len > auth_len)
            host_len = auth_len;
    }
    if (host_len >= sizeof host)
        host_len = sizeof host - 1;
    memcpy(host, p, host_len);
    host[host_len] = '\0';
    while (host_len > 0 && host[host_len - 1] == '.')
        host[--host_len] = '\0';
    if (strcasecmp(host, "localhost") == 0 || strcasecmp(host, "sandbox") == 0 ||
        strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
        strcasecmp(host, "::ffff:127.0.0.1") == 0 || strcmp(host, "0.0.0.0") == 0 ||
        (host_len > 10 && strcasecmp(host + host_len - 10, ".localhost") == 0))
        return true;
    const char *path = p + strcspn(p, "/?#");
    for (const char *s = path; (s = strstr(s, "/sandbox")) != NULL; s += 8)
        if (s[8] == '\0' || s[8] == '/' || s[8] == '?' || s[8] == '#')
            return true;
    return false;
}

int pm_envguard_environment(const char *program, const char *value, bool *production)
{
    if (strcmp(value, "production") == 0 || strcmp(value, "sandbox") == 0) {
        *production = strcmp(value, "production") == 0;
        return 0;
    }
    fprintf(stderr, "%s: environment must be production or sandbox, not '%s'\n", program, value);
    return -1;
}

int pm_envguard_url(const char *program, bool production, const char *setting, const char *url)
{
    if (!production || !pm_envguard_url_is_sandbox(url))
        return 0;
    /* A URL with user:password@ is not printed: it may hold a secret. */
    fprintf(stderr,
            "%s: %s %s points at the sandbox or a loopback address, refused with environment "
            "production (set the provider's real URL, or --environment sandbox for the "
            "sandbox)\n",
            program, setting, strchr(url, '@') ? "(with credentials, not shown)" : url);
    return -1;
}

int pm_envguard_secret(const char *program, bool production, const char *setting, const char *value,
                       const char *sandbox_default)
{
    if (!production || !value || !sandbox_default || strcmp(value, sandbox_default) != 0)
        return 0;
    fprintf(stderr,
            "%s: %s is still the sandbox's built-in value, refused with environment production "
            "(set the real one, or --environment sandbox for the sandbox)\n",
            program, setting);
    return -1;
}
