/*
 * buf.h - a growable byte buffer with a hard cap fixed at creation, for
 * everything that comes from outside (HTTP bodies, files).  The contents are
 * always NUL-terminated; buf_free wipes them, since they may hold tokens.
 */
#ifndef AZMI_BUF_H
#define AZMI_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data;
	size_t len;
	size_t alloc;
	size_t cap;    /* the most bytes it will ever hold */
	bool overflow; /* an append was refused because of the cap */
};

void buf_init(struct buf *b, size_t cap);
/* Append; false (and overflow set) when the cap or memory would be exceeded. */
bool buf_append(struct buf *b, const void *data, size_t len);
/* Wipe and free the contents; the buffer can be reused. */
void buf_free(struct buf *b);
/* Hand the NUL-terminated contents to the caller and reset the buffer. */
char *buf_steal(struct buf *b);

#endif
