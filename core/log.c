/* log.c - formatting lines for the caller's log hook. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

void log_line(const struct log_sink *sink, enum azmi_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (sink == NULL || sink->fn == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	sink->fn(sink->userdata, level, line);
}
