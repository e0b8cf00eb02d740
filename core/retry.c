/* retry.c - the retry policy of managed-identity endpoints. */
#include "retry.h"

#include "util.h"

bool retry_status_retryable(long status, unsigned int flags)
{
	if (status == 404 || status == 410)
		return !(flags & RETRY_ENTRA) && !(status == 404 && (flags & RETRY_NO_404));
	return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

long retry_next_delay(struct retry_state *st, long status, long retry_after_ms, unsigned int flags,
                      int64_t now_ms)
{
	long delay;
	int shift;

	if (status != 0 && !retry_status_retryable(status, flags))
		return -1;
	if (status == 410 && st->first_410_ms == 0)
		st->first_410_ms = now_ms;
	/* Past the plain budget only a 410 inside its window keeps us going. */
	if (st->retries >= RETRY_MAX_RETRIES &&
	    !(status == 410 && now_ms - st->first_410_ms < RETRY_410_WINDOW_MS))
		return -1;
	shift = st->retries < 4 ? st->retries : 3;
	st->retries++;
	if (retry_after_ms >= 0)
		return retry_after_ms;
	delay = (long)RETRY_BASE_MS << shift;
	if (delay > RETRY_CAP_MS)
		delay = RETRY_CAP_MS;
	/* Jitter of -20 %..+20 % spreads the retries of many processes. */
	return delay * 4 / 5 + (long)util_random_below((uint32_t)(delay * 2 / 5 + 1));
}
