/*
 * verbose_mask.h - the outgoing header block that libcurl's verbose output
 * shows (CURLINFO_HEADER_OUT), with the value of every Authorization line
 * replaced, so `curl -v` and `--trace` never print the plug-in's token.
 */
#ifndef AZMI_VERBOSE_MASK_H
#define AZMI_VERBOSE_MASK_H

#include <stddef.h>

#define VERBOSE_MASKED "Authorization: Bearer <hidden by azmi>"

/*
 * A copy of `data` (size bytes, lines ended by LF or CRLF, the last one
 * maybe unterminated) where each line whose header name is Authorization
 * (any case, optional blanks before the colon) reads VERBOSE_MASKED, its
 * line ending kept.  The copy is NUL-terminated, its length in *outlen;
 * the caller frees it.  NULL when out of memory.
 */
char *verbose_mask(const char *data, size_t size, size_t *outlen);

#endif
