/*
 * bench_fleet.c - one worker of the fleet simulation (bench/fleet.py): runs
 * PAM account checks through the real libpam (the services live in the
 * simulation's private /etc/pam.d) and the real pam_azmi.so, each at its
 * scheduled time, and writes one line per login.
 *
 *   bench_fleet SCHEDULE OUT [START_US]
 *     SCHEDULE lines: "<offset_ms> <service> <user>" (offsets from the start, ascending)
 *     START_US: the start on CLOCK_MONOTONIC in microseconds (default: now), so that workers
 *     started one after another share one time line
 *     OUT lines:      "<offset_ms> <lag_ms> <duration_us> <pam_rc>"
 *
 * Not installed; only `make bench` builds it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <security/pam_appl.h>

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* The account phase never converses; anything asked is refused. */
static int no_conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	(void)n;
	(void)msg;
	(void)data;
	*resp = NULL;
	return PAM_CONV_ERR;
}

static int one_login(const char *service, const char *user)
{
	struct pam_conv conv = {no_conv, NULL};
	pam_handle_t *h = NULL;
	int rc = pam_start(service, user, &conv, &h);

	if (rc != PAM_SUCCESS)
		return rc;
	rc = pam_acct_mgmt(h, 0);
	pam_end(h, rc);
	return rc;
}

int main(int argc, char **argv)
{
	char line[512], service[128], user[256];
	long long start, offset_ms;
	FILE *in, *out;

	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: bench_fleet SCHEDULE OUT [START_US]\n");
		return 2;
	}
	if ((in = fopen(argv[1], "r")) == NULL || (out = fopen(argv[2], "w")) == NULL) {
		perror("bench_fleet");
		return 1;
	}
	start = argc == 4 ? strtoll(argv[3], NULL, 10) : now_us();
	while (fgets(line, sizeof(line), in) != NULL) {
		long long due, t0, t1;
		struct timespec ts;
		int rc;

		if (sscanf(line, "%lld %127s %255s", &offset_ms, service, user) != 3)
			continue;
		due = start + offset_ms * 1000LL;
		t0 = now_us();
		if (t0 < due) {
			ts.tv_sec = (time_t)((due - t0) / 1000000LL);
			ts.tv_nsec = (long)((due - t0) % 1000000LL) * 1000L;
			nanosleep(&ts, NULL);
			t0 = now_us();
		}
		rc = one_login(service, user);
		t1 = now_us();
		fprintf(out, "%lld %lld %lld %d\n", offset_ms, (t0 - due) / 1000LL, t1 - t0, rc);
		fflush(out);
	}
	fclose(in);
	fclose(out);
	return 0;
}
