/*
 * retry.h - when to try a managed-identity endpoint again: 404, 408, 410,
 * 429 and 5xx with jittered exponential backoff (1, 2, 4, 8 s),
 * Retry-After honoured, and 410 (IMDS upgrading) retried for at least 70 s.
 */
#ifndef AZMI_RETRY_H
#define AZMI_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#define RETRY_MAX_RETRIES   4 /* plain backoff: 1, 2, 4, 8 s */
#define RETRY_BASE_MS       1000
#define RETRY_CAP_MS        8000
#define RETRY_410_WINDOW_MS 70000 /* IMDS is back within 70 s of a 410 */

/* Flags changing which statuses are worth another try. */
#define RETRY_NO_404 0x1u /* Service Fabric: 404 is final */
#define RETRY_ENTRA  0x2u /* Entra's token endpoint: only 408, 429 and 5xx */

struct retry_state {
	int retries;
	int64_t first_410_ms; /* monotonic time of the first 410, 0 if none */
};

/* True when `status` may succeed if asked again, under RETRY_* `flags`. */
bool retry_status_retryable(long status, unsigned int flags);

/*
 * The delay before the next attempt after `status` (0 for a transport
 * failure worth retrying) at monotonic time `now_ms`, or -1 when there
 * is to be no further attempt.  `retry_after_ms` is the server's wish or -1.
 */
long retry_next_delay(struct retry_state *st, long status, long retry_after_ms, unsigned int flags,
                      int64_t now_ms);

#endif
