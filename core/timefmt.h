/* timefmt.h - the date formats token endpoints use for absolute expiry times. */
#ifndef AZMI_TIMEFMT_H
#define AZMI_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

/*
 * Parse one of: RFC 3339 / ISO 8601 ("2030-01-02T03:04:05.1234567Z", an
 * offset instead of Z, or a space instead of T), RFC 1123
 * ("Wed, 02 Jan 2030 03:04:05 GMT"), "MM/DD/YYYY HH:MM:SS +00:00" and the
 * Windows "M/D/YYYY h:mm:ss AM +00:00".  The whole span must match.
 * Returns 0 and the epoch seconds, or -1.
 */
int timefmt_parse(const char *s, size_t len, int64_t *epoch);

/*
 * Parse the Azure CLI's naive "YYYY-MM-DD HH:MM:SS[.ffffff]" (expiresOn before
 * 2.54) as a time in the process's local time zone (TZ), as the SDKs do: mktime
 * with DST left to the zone rules.  Returns 0 and the epoch seconds, or -1.
 */
int timefmt_parse_local(const char *s, size_t len, int64_t *epoch);

/* Seconds since the epoch of a UTC civil date and time (no range checks). */
int64_t timefmt_civil_to_epoch(int64_t year, int month, int day, int hour, int min, int sec);

#endif
