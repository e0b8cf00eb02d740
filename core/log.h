/* log.h - the caller's log hook, as the core calls it. */
#ifndef AZMI_LOG_H
#define AZMI_LOG_H

#include "azmi.h"
#include "error.h"

struct log_sink {
	azmi_log_fn *fn;
	void *userdata;
};

/* Format and pass one line to the hook, if any.  `sink` may be NULL. */
void log_line(const struct log_sink *sink, enum azmi_log_level level, const char *fmt, ...) AZMI_PRINTF(3, 4);

#endif
