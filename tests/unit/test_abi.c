/*
 * test_abi.c - the size fields of the caller-allocated structs: the public
 * entry points refuse a size they do not know, and never change one.  No
 * request reaches the network: every call here fails before a fetch.
 */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "azmi.h"

static char *tmp_dir, *conf_path;
static char logged[1024];

static void log_hook(void *userdata, enum azmi_log_level level, const char *line)
{
	(void)userdata;
	if (level == AZMI_LOG_ERR)
		snprintf(logged, sizeof(logged), "%s", line);
}

static int setup(void **state)
{
	struct azmi_error err = AZMI_ERROR_INIT;
	struct azmi_ctx *ctx;

	/* an empty configuration file */
	if ((tmp_dir = unit_tmpdir()) == NULL || (conf_path = unit_path(tmp_dir, "azmi.conf")) == NULL ||
	    unit_write_file(conf_path, "", 0, 0600) != 0)
		return -1;
	if (azmi_ctx_new(&ctx, conf_path, &err) != AZMI_OK)
		return -1;
	azmi_ctx_set_log(ctx, log_hook, NULL);
	*state = ctx;
	return 0;
}

static int teardown(void **state)
{
	azmi_ctx_free(*state);
	unit_rmtree(tmp_dir);
	free(conf_path);
	free(tmp_dir);
	return 0;
}

static void test_ctx_new_refuses_unknown_error_size(void **state)
{
	struct azmi_error err = AZMI_ERROR_INIT, before;
	struct azmi_ctx *ctx = (struct azmi_ctx *)0x1;

	(void)state;
	err.size = sizeof(err) - 8; /* an older or newer struct */
	snprintf(err.message, sizeof(err.message), "untouched");
	before = err;
	assert_int_equal(azmi_ctx_new(&ctx, conf_path, &err), AZMI_ERR_USAGE);
	assert_null(ctx);
	assert_memory_equal(&err, &before, sizeof(err)); /* nothing written into a struct of unknown layout */
	err.size = 0;                                    /* "= {0}": the initialiser forgotten */
	assert_int_equal(azmi_ctx_new(&ctx, conf_path, &err), AZMI_ERR_USAGE);
	assert_null(ctx);
	/* NULL is still allowed, and so is the right size */
	assert_int_equal(azmi_ctx_new(&ctx, conf_path, NULL), AZMI_OK);
	azmi_ctx_free(ctx);
}

static void test_get_token_refuses_unknown_request_size(void **state)
{
	struct azmi_request req = AZMI_REQUEST_INIT;
	struct azmi_error err = AZMI_ERROR_INIT;
	struct azmi_token *tok = (struct azmi_token *)0x1;

	req.resource = "https://storage.azure.com/";
	req.size = 0;
	assert_int_equal(azmi_get_token(*state, &req, &tok, &err), AZMI_ERR_USAGE);
	assert_null(tok);
	assert_int_equal(err.code, AZMI_ERR_USAGE);
	assert_non_null(strstr(err.message, "struct azmi_request has size 0"));
	assert_non_null(strstr(err.message, "AZMI_REQUEST_INIT"));
	assert_int_equal(err.size, sizeof(err));
	req.size = sizeof(req) + 16;
	assert_int_equal(azmi_get_token(*state, &req, &tok, &err), AZMI_ERR_USAGE);
	assert_non_null(strstr(err.message, "AZMI_REQUEST_INIT"));
}

static void test_get_token_refuses_unknown_error_size(void **state)
{
	struct azmi_request req = AZMI_REQUEST_INIT;
	struct azmi_error err = AZMI_ERROR_INIT, before;
	struct azmi_token *tok = (struct azmi_token *)0x1;

	req.resource = "https://storage.azure.com/";
	err.size = 1;
	before = err;
	logged[0] = '\0';
	assert_int_equal(azmi_get_token(*state, &req, &tok, &err), AZMI_ERR_USAGE);
	assert_null(tok);
	assert_memory_equal(&err, &before, sizeof(err));
	assert_non_null(strstr(logged, "struct azmi_error has size 1"));
	assert_non_null(strstr(logged, "AZMI_ERROR_INIT"));
}

/* A failed call fills the message and leaves `size`, so one struct serves call after call. */
static void test_size_survives_failures(void **state)
{
	struct azmi_request req = AZMI_REQUEST_INIT;
	struct azmi_error err = AZMI_ERROR_INIT;
	struct azmi_token *tok;

	req.resource = "not a resource";
	for (int i = 0; i < 3; i++) {
		assert_int_equal(azmi_get_token(*state, &req, &tok, &err), AZMI_ERR_USAGE);
		assert_int_equal(err.size, sizeof(err));
		assert_non_null(strstr(err.message, "the resource must be a URI"));
	}
	req.resource = "https://storage.azure.com/";
	req.id_kind = AZMI_ID_CLIENT_ID; /* and no id_value */
	assert_int_not_equal(azmi_get_token(*state, &req, &tok, &err), AZMI_OK);
	assert_int_equal(err.size, sizeof(err));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ctx_new_refuses_unknown_error_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_get_token_refuses_unknown_request_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_get_token_refuses_unknown_error_size, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_size_survives_failures, setup, teardown),
	};

	return cmocka_run_group_tests_name("abi", tests, NULL, NULL);
}
