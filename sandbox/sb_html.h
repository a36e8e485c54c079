/*  sb_html: what the simulated providers' HTML pages share.
 *
 *  A page (BazaarPay's payment page, the banks' card pages) is written into
 *  an open_memstream: every value from a request or a store goes through
 *  sb_html_put, and sb_html_close ends the stream, failing when any write
 *  did. */
#ifndef SB_HTML_H
#define SB_HTML_H
#include <stdio.h>

/* Writes s HTML-escaped (fit for text and for attribute values alike). */
void sb_html_put(FILE *f, const char *s);

/* Closes the memstream f that writes *buf: *buf (caller owns: free), or
 * NULL (and *buf freed) when a write or the close failed. */
char *sb_html_close(FILE *f, char **buf);

#endif
