/*
 * unit.h - shared pieces of azmi's unit tests: cmocka, table checks that
 * report every failing row before the test fails, and temporary files.
 */
#ifndef AZMI_UNIT_H
#define AZMI_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include <cmocka.h>

/*
 * Table rows: CHECK(fails, cond, fmt, ...) prints the row and the failed
 * condition and counts it; TABLE_DONE(fails) fails the test when any row failed.
 */
#define CHECK(fails, cond, ...)                                                                              \
	do {                                                                                                 \
		if (!(cond)) {                                                                               \
			print_error("%s:%d: [%s] fails for ", __FILE__, __LINE__, #cond);                    \
			print_error(__VA_ARGS__);                                                            \
			print_error("\n");                                                                   \
			(fails)++;                                                                           \
		}                                                                                            \
	} while (0)

#define TABLE_DONE(fails) assert_int_equal((fails), 0)

/* Printable rendering of [s, s+len) for messages (static buffer, not thread-safe). */
const char *unit_show(const char *s, size_t len);

/* A new private (0700) directory under $TMPDIR or /tmp; malloc'd path. */
char *unit_tmpdir(void);
/* Remove a directory tree (best effort). */
void unit_rmtree(const char *path);
/* "dir/name" (malloc'd). */
char *unit_path(const char *dir, const char *name);
/* Write `len` bytes to `path` with `mode` (exactly, whatever the umask); 0 or -1. */
int unit_write_file(const char *path, const void *data, size_t len, unsigned int mode);
/* Read a whole file (malloc'd, NUL-terminated) or NULL. */
char *unit_read_file(const char *path, size_t *len);
/* True when running as root (some tests need chown). */
bool unit_is_root(void);

#endif
