/* fetch.h - one token from one managed-identity source, with the platform's retry rules. */
#ifndef AZMI_FETCH_H
#define AZMI_FETCH_H

#include <stdint.h>

#include "azmi.h"
#include "error.h"
#include "config.h"
#include "log.h"
#include "source.h"

struct fetch_params {
	const struct settings *settings;
	const struct source *source;
	const struct identity *identity;
	const char *resource; /* without /.default */
	int64_t deadline_ms;  /* monotonic */
	long connect_timeout_ms;
	/*
	 * One link of a chain: when nothing can be connected to at all (within
	 * connect_timeout_ms), say AZMI_ERR_UNAVAILABLE at once instead of retrying.
	 */
	bool probe;
	const struct log_sink *log;
};

/* Ask the source for a token; on success *out holds a new token. */
AZMI_MUST_CHECK azmi_err fetch_token(const struct fetch_params *p, struct azmi_token **out,
                                     struct azmi_error *err);

#endif
