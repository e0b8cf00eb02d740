/* error.c - error codes, their names and the message buffer. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *azmi_strerror(azmi_err err)
{
	switch (err) {
	case AZMI_OK:
		return "success";
	case AZMI_ERR_USAGE:
		return "invalid argument";
	case AZMI_ERR_NOMEM:
		return "out of memory";
	case AZMI_ERR_CONFIG:
		return "configuration error";
	case AZMI_ERR_UNAVAILABLE:
		return "no credential source available";
	case AZMI_ERR_REFUSED:
		return "the endpoint refused the request";
	case AZMI_ERR_ENDPOINT:
		return "the endpoint failed";
	case AZMI_ERR_TIMEOUT:
		return "timed out";
	case AZMI_ERR_PROTOCOL:
		return "invalid answer from the endpoint";
	case AZMI_ERR_CACHE:
		return "unsafe token cache";
	case AZMI_ERR_SYSTEM:
		return "system error";
	}
	return "unknown error";
}

bool err_size_ok(const struct azmi_error *e)
{
	return e == NULL || e->size == sizeof(*e);
}

void err_clear(struct azmi_error *e)
{
	if (e == NULL)
		return;
	e->code = AZMI_OK;
	e->http_status = 0;
	e->source[0] = '\0';
	e->message[0] = '\0';
}

azmi_err err_set(struct azmi_error *e, azmi_err code, const char *source, long http_status, const char *fmt,
                 ...)
{
	va_list ap;

	if (e == NULL)
		return code;
	e->code = code;
	e->http_status = http_status;
	snprintf(e->source, sizeof(e->source), "%s", source ? source : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return code;
}

void err_copy(struct azmi_error *dst, const struct azmi_error *src)
{
	size_t size;

	if (dst == NULL || dst == src)
		return;
	size = dst->size;
	*dst = *src;
	dst->size = size;
}

void err_append(struct azmi_error *e, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	if (e == NULL)
		return;
	len = strnlen(e->message, sizeof(e->message));
	if (len + 2 >= sizeof(e->message))
		return;
	if (len > 0)
		e->message[len++] = '\n';
	va_start(ap, fmt);
	vsnprintf(e->message + len, sizeof(e->message) - len, fmt, ap);
	va_end(ap);
}
