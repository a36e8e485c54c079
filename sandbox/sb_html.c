/*  sb_html: HTML escaping and page streams. */
#include "sb_html.h"

#include <stdbool.h>
#include <stdlib.h>

void sb_html_put(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}

char *sb_html_close(FILE *f, char **buf)
{
    bool failed = ferror(f) != 0;
    if (fclose(f) != 0 || failed) {
        free(*buf);
        *buf = NULL;
    }
    return *buf;
}
