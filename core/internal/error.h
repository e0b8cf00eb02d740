/* error.h - filling struct azmi_error (see azmi.h) from inside the core. */
#ifndef AZMI_ERROR_H
#define AZMI_ERROR_H

#include <stdbool.h>

#include "azmi.h"

#define AZMI_PRINTF(f, a) __attribute__((format(printf, f, a)))

/*
 * Two conventions inside azmi: azmi_err with a struct azmi_error where a
 * message matters, and 0 / -errno for thin helpers around system calls (the
 * login library's local files, the NSS module).  Both carry this mark: an
 * ignored failure is a build warning.
 */
#define AZMI_MUST_CHECK __attribute__((warn_unused_result))

/*
 * Whether the caller's `e` (may be NULL) has the size this library knows
 * (AZMI_ERROR_INIT).  Public entry points check it before writing into `e`.
 */
bool err_size_ok(const struct azmi_error *e);

/* Reset `e` (may be NULL) to "no error"; `size` is left alone. */
void err_clear(struct azmi_error *e);

/*
 * Record an error and return `code`, so callers can write
 * `return err_set(e, AZMI_ERR_X, "imds", 0, "...")`.  `e` may be NULL.
 */
azmi_err err_set(struct azmi_error *e, azmi_err code, const char *source, long http_status, const char *fmt,
                 ...) AZMI_PRINTF(5, 6);

/* Copy `src` into `dst` (may be NULL), all but dst's own `size`. */
void err_copy(struct azmi_error *dst, const struct azmi_error *src);

/* Append a further line (a hint, a detail) to the message. */
void err_append(struct azmi_error *e, const char *fmt, ...) AZMI_PRINTF(2, 3);

#endif
