/* util.h - small helpers shared by the core: clocks, wiping, bounded parsing. */
#ifndef AZMI_UTIL_H
#define AZMI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Wall-clock seconds since the epoch (coarse clock: cheap enough for every lookup). */
int64_t util_now(void);
/* Monotonic milliseconds, for deadlines and backoff. */
int64_t util_mono_ms(void);
/* Sleep `ms` milliseconds, resuming after signals. */
void util_sleep_ms(int64_t ms);

/* Wipe then free a secret string; accepts NULL. */
void util_free_secret(char *s);
/* strdup that accepts NULL (returns NULL for NULL). */
char *util_strdup_or_null(const char *s);
/* Constant-time comparison of two buffers of equal length. */
bool util_memeq_consttime(const void *a, const void *b, size_t len);

/*
 * Parse a decimal integer of the whole span [s, s+len) into *out, within
 * [min, max].  No sign other than a leading '-' when min < 0; no spaces.
 */
bool util_parse_int64(const char *s, size_t len, int64_t min, int64_t max, int64_t *out);

/* True when every byte of [s, s+len) is printable ASCII (0x20..0x7e). */
bool util_is_printable(const char *s, size_t len);

/* Copy `src` into `dst` (size `dstlen`): CR, LF and tab become spaces, other non-printable bytes '?'; truncates. */
void util_sanitize(char *dst, size_t dstlen, const char *src, size_t srclen);

/* Uniform random integer in [0, n) from a process-wide generator (not for secrets). */
uint32_t util_random_below(uint32_t n);

#endif
