/* testlib.c - see testlib.h. */
#include "testlib.h"

#include <stdio.h>
#include <string.h>

static int failures, passes;

size_t body_write(char *p, size_t size, size_t n, void *userdata)
{
	struct body *b = userdata;
	size_t len = size * n;

	if (len > sizeof(b->data) - 1 - b->len)
		len = sizeof(b->data) - 1 - b->len;
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
	return size * n;
}

void check(int cond, const char *name)
{
	printf("%s - %s\n", cond ? "ok" : "FAIL", name);
	if (cond)
		passes++;
	else
		failures++;
}

int check_summary(const char *prog)
{
	printf("%s: %d passed, %d failed\n", prog, passes, failures);
	return failures ? 1 : 0;
}
