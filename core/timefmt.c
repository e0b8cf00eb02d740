/*
 * timefmt.c - strict parsers for absolute times; no locale.  Only
 * timefmt_parse_local consults the time zone (the Azure CLI's naive local times).
 */
#include "timefmt.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* A cursor over the input: every reader checks bounds and advances only on success. */
struct cur {
	const char *s;
	size_t len, pos;
};

static bool at_end(const struct cur *c)
{
	return c->pos == c->len;
}

static bool lit(struct cur *c, char ch)
{
	if (c->pos < c->len && c->s[c->pos] == ch) {
		c->pos++;
		return true;
	}
	return false;
}

/* Between `min` and `max` decimal digits. */
static bool digits(struct cur *c, int min, int max, int *out)
{
	int n = 0, v = 0;

	while (n < max && c->pos < c->len && c->s[c->pos] >= '0' && c->s[c->pos] <= '9') {
		v = v * 10 + (c->s[c->pos] - '0');
		c->pos++;
		n++;
	}
	if (n < min)
		return false;
	*out = v;
	return true;
}

int64_t timefmt_civil_to_epoch(int64_t year, int month, int day, int hour, int min, int sec)
{
	/* Days from 1970-01-01 by counting years from March, so the leap day comes last. */
	int64_t y = year - (month <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = era * 146097 + doe - 719468;

	return days * 86400 + hour * 3600 + min * 60 + sec;
}

static int days_in_month(int year, int month)
{
	static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return month == 2 && leap ? 29 : dim[month - 1];
}

static bool valid(int y, int mo, int d, int h, int mi, int s)
{
	return y >= 1970 && y <= 9999 && mo >= 1 && mo <= 12 && d >= 1 && d <= days_in_month(y, mo) &&
	       h >= 0 && h <= 23 && mi >= 0 && mi <= 59 && s >= 0 && s <= 60;
}

/* "Z", "+HH:MM", "-HH:MM" or "+HHMM"; the offset in seconds east of UTC. */
static bool zone(struct cur *c, int *offset)
{
	int sign, hh, mm;

	if (lit(c, 'Z') || lit(c, 'z')) {
		*offset = 0;
		return true;
	}
	if (lit(c, '+'))
		sign = 1;
	else if (lit(c, '-'))
		sign = -1;
	else
		return false;
	if (!digits(c, 2, 2, &hh))
		return false;
	lit(c, ':');
	if (!digits(c, 2, 2, &mm) || hh > 23 || mm > 59)
		return false;
	*offset = sign * (hh * 3600 + mm * 60);
	return true;
}

static int finish(int y, int mo, int d, int h, int mi, int s, int offset, int64_t *epoch)
{
	if (!valid(y, mo, d, h, mi, s))
		return -1;
	*epoch = timefmt_civil_to_epoch(y, mo, d, h, mi, s) - offset;
	return 0;
}

static int parse_iso(struct cur *c, int64_t *epoch)
{
	int y, mo, d, h, mi, s, frac, off;

	if (!digits(c, 4, 4, &y) || !lit(c, '-') || !digits(c, 2, 2, &mo) || !lit(c, '-') ||
	    !digits(c, 2, 2, &d))
		return -1;
	if (!lit(c, 'T') && !lit(c, 't') && !lit(c, ' '))
		return -1;
	if (!digits(c, 2, 2, &h) || !lit(c, ':') || !digits(c, 2, 2, &mi) || !lit(c, ':') ||
	    !digits(c, 2, 2, &s))
		return -1;
	if (lit(c, '.') && !digits(c, 1, 7, &frac))
		return -1;
	if (!zone(c, &off) || !at_end(c))
		return -1;
	return finish(y, mo, d, h, mi, s, off, epoch);
}

static int month_from_name(const char *s)
{
	static const char names[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

	for (int i = 0; i < 12; i++)
		if (strncmp(s, names + 3 * i, 3) == 0)
			return i + 1;
	return 0;
}

static int parse_rfc1123(struct cur *c, int64_t *epoch)
{
	int y, mo, d, h, mi, s;

	/* "Wed, " - the weekday is not checked against the date, as most parsers do not. */
	if (c->len < 5 || c->s[3] != ',' || c->s[4] != ' ')
		return -1;
	c->pos = 5;
	if (!digits(c, 1, 2, &d) || !lit(c, ' ') || c->len - c->pos < 4)
		return -1;
	mo = month_from_name(c->s + c->pos);
	c->pos += 3;
	if (mo == 0 || !lit(c, ' ') || !digits(c, 4, 4, &y) || !lit(c, ' ') || !digits(c, 2, 2, &h) ||
	    !lit(c, ':') || !digits(c, 2, 2, &mi) || !lit(c, ':') || !digits(c, 2, 2, &s) || !lit(c, ' '))
		return -1;
	if (c->len - c->pos != 3 ||
	    (strncmp(c->s + c->pos, "GMT", 3) != 0 && strncmp(c->s + c->pos, "UTC", 3) != 0))
		return -1;
	return finish(y, mo, d, h, mi, s, 0, epoch);
}

/* "06/20/2019 02:57:58 +00:00" and "1/16/2020 5:24:12 AM +00:00" (month first, as .NET writes it). */
static int parse_slashed(struct cur *c, int64_t *epoch)
{
	int y, mo, d, h, mi, s, off;

	if (!digits(c, 1, 2, &mo) || !lit(c, '/') || !digits(c, 1, 2, &d) || !lit(c, '/') ||
	    !digits(c, 4, 4, &y) || !lit(c, ' ') || !digits(c, 1, 2, &h) || !lit(c, ':') ||
	    !digits(c, 2, 2, &mi) || !lit(c, ':') || !digits(c, 2, 2, &s))
		return -1;
	if (c->len - c->pos >= 3 && c->s[c->pos] == ' ' &&
	    (strncasecmp(c->s + c->pos + 1, "AM", 2) == 0 || strncasecmp(c->s + c->pos + 1, "PM", 2) == 0)) {
		bool pm = (c->s[c->pos + 1] | 0x20) == 'p';
		if (h < 1 || h > 12)
			return -1;
		h = (h % 12) + (pm ? 12 : 0);
		c->pos += 3;
	}
	if (!lit(c, ' ') || !zone(c, &off) || !at_end(c))
		return -1;
	return finish(y, mo, d, h, mi, s, off, epoch);
}

int timefmt_parse(const char *s, size_t len, int64_t *epoch)
{
	struct cur c = {s, len, 0};

	if (len < 8 || len > 64)
		return -1;
	if (len > 4 && s[4] == '-')
		return parse_iso(&c, epoch);
	if (s[3] == ',')
		return parse_rfc1123(&c, epoch);
	if (s[1] == '/' || s[2] == '/')
		return parse_slashed(&c, epoch);
	return -1;
}

int timefmt_parse_local(const char *s, size_t len, int64_t *epoch)
{
	struct cur c = {s, len, 0};
	struct tm tm = {0};
	int y, mo, d, h, mi, sec, frac;
	time_t t;

	if (len < 19 || len > 26)
		return -1;
	if (!digits(&c, 4, 4, &y) || !lit(&c, '-') || !digits(&c, 2, 2, &mo) || !lit(&c, '-') ||
	    !digits(&c, 2, 2, &d) || !lit(&c, ' ') || !digits(&c, 2, 2, &h) || !lit(&c, ':') ||
	    !digits(&c, 2, 2, &mi) || !lit(&c, ':') || !digits(&c, 2, 2, &sec))
		return -1;
	if (lit(&c, '.') && !digits(&c, 1, 6, &frac))
		return -1;
	if (!at_end(&c) || !valid(y, mo, d, h, mi, sec) || sec > 59)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	tm.tm_isdst = -1; /* let the zone rules say whether DST applies, as the SDKs' mktime does */
	if ((t = mktime(&tm)) == (time_t)-1)
		return -1;
	*epoch = (int64_t)t;
	return 0;
}
