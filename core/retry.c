/* retry.c - the retry policy of every kind of endpoint, in one table. */
#include "retry.h"

#include "util.h"

static const struct retry_policy policies[EP_KINDS] = {
    [EP_MANAGED_IDENTITY] = {"managed identity", true, true, RETRY_MAX_RETRIES, false, 5000},
    [EP_SERVICE_FABRIC] = {"service fabric", false, true, RETRY_MAX_RETRIES, false, 5000},
    [EP_ENTRA] = {"entra", false, false, RETRY_MAX_RETRIES, false, 5000},
    [EP_ARM] = {"arm", false, false, RETRY_MAX_RETRIES, true, 5000},
    [EP_GRAPH] = {"graph", false, false, RETRY_MAX_RETRIES, true, 5000},
    [EP_INSTANCE_METADATA] = {"instance metadata", true, true, RETRY_MAX_RETRIES, false, 5000},
    /* A login waits for the keys: one bounded attempt; the cached set covers a failing endpoint. */
    [EP_KEY_SET] = {"key set", false, false, 0, false, 5000},
    [EP_REGISTRY] = {"registry", false, false, RETRY_MAX_RETRIES, false, 10000},
};

static const struct retry_policy strictest = {"unknown", false, false, 0, false, 5000};

const struct retry_policy *retry_policy(enum endpoint_kind kind)
{
	return (unsigned int)kind < EP_KINDS ? &policies[kind] : &strictest;
}

bool retry_status_retryable(long status, enum endpoint_kind kind)
{
	const struct retry_policy *p = retry_policy(kind);

	if (status == 404)
		return p->retry_404;
	if (status == 410)
		return p->retry_410;
	return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

long retry_next_delay(struct retry_state *st, long status, long retry_after_ms, enum endpoint_kind kind,
                      int64_t now_ms)
{
	const struct retry_policy *p = retry_policy(kind);
	long delay;
	int shift;

	if (status != 0 && !retry_status_retryable(status, kind))
		return -1;
	if (status == 410 && st->first_410_ms == 0)
		st->first_410_ms = now_ms;
	/* Past the plain budget only a 410 inside its window keeps us going. */
	if (st->retries >= p->max_retries &&
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
