/*
 * testlib.h - what the C test programs against the echo servers share:
 * an answer body collected by a write callback, and ok/FAIL reporting.
 */
#ifndef AZMI_TESTS_CURL_TESTLIB_H
#define AZMI_TESTS_CURL_TESTLIB_H

#include <stddef.h>

struct body {
	char data[16384];
	size_t len;
};

/* CURLOPT_WRITEFUNCTION: appends to the struct body in userdata, always
 * NUL-terminated; what does not fit is dropped, never an error. */
size_t body_write(char *p, size_t size, size_t n, void *userdata);

/* Prints "ok - name" or "FAIL - name" and counts it. */
void check(int cond, const char *name);

/* Prints "PROG: N passed, M failed"; the exit status for main. */
int check_summary(const char *prog);

#endif
