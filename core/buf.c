/* buf.c - capped growable buffer. */
#include "buf.h"

#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t cap)
{
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->cap = cap;
	b->overflow = false;
}

bool buf_append(struct buf *b, const void *data, size_t len)
{
	if (len > b->cap || b->len > b->cap - len) {
		b->overflow = true;
		return false;
	}
	if (b->len + len + 1 > b->alloc) {
		size_t n = b->alloc ? b->alloc : 256;
		while (n < b->len + len + 1)
			n *= 2;
		if (n > b->cap + 1)
			n = b->cap + 1;
		/* Grow by copying, so that no stale copy of a secret stays in freed memory. */
		char *p = malloc(n);
		if (p == NULL) {
			b->overflow = true;
			return false;
		}
		if (b->data) {
			memcpy(p, b->data, b->len);
			explicit_bzero(b->data, b->alloc);
			free(b->data);
		}
		b->data = p;
		b->alloc = n;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return true;
}

void buf_free(struct buf *b)
{
	if (b->data) {
		explicit_bzero(b->data, b->alloc);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	b->overflow = false;
}

char *buf_steal(struct buf *b)
{
	char *p = b->data;

	if (p == NULL)
		p = calloc(1, 1);
	b->data = NULL;
	b->len = 0;
	b->alloc = 0;
	return p;
}
