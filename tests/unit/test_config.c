/* test_config.c - the configuration file: parsing, safe reading, and the settings with the environment. */
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "util.h"

/* ---- config_parse ---------------------------------------------------------------------------- */

struct parse_row {
	const char *text;
	size_t len; /* 0: strlen */
	bool ok;
	const char *want; /* ok: "key=value|key=value" in order; else a substring of the error */
};

static const struct parse_row parse_rows[] = {
    {"", 0, true, ""},
    {"\n\n\n", 0, true, ""},
    {" \t \r\n\t\n", 0, true, ""},
    {"# a comment\n", 0, true, ""},
    {"   # an indented comment\n\t# and a tabbed one\n", 0, true, ""},
    {"#no space = after hash\n", 0, true, ""},
    {"key = value\n", 0, true, "key=value"},
    {"key=value", 0, true, "key=value"},
    {"key =value\n", 0, true, "key=value"},
    {"key= value\n", 0, true, "key=value"},
    {"  key = value  \n", 0, true, "key=value"},
    {"\tkey\t=\tvalue\t\n", 0, true, "key=value"},
    {"key \t = \t value\n", 0, true, "key=value"},
    {"key = value\r\n", 0, true, "key=value"},
    {"a = 1\r\nb = 2\r\n", 0, true, "a=1|b=2"},
    {"key = two words\n", 0, true, "key=two words"},
    {"key = a\tb\n", 0, true, "key=a\tb"},
    {"key = a=b=c\n", 0, true, "key=a=b=c"},
    {"key = https://x.example/p?q=1#frag\n", 0, true, "key=https://x.example/p?q=1#frag"},
    {"key =\n", 0, true, "key="},
    {"key = \n", 0, true, "key="},
    {"snake_case_9 = v\n", 0, true, "snake_case_9=v"},
    {"# header\n\ncloud = AzureCloud\n# middle\ntimeout = 30\n\n", 0, true, "cloud=AzureCloud|timeout=30"},
    {"a = 1\na = 2\n", 0, true, "a=1|a=2"},
    {"a = 1\n\n\nb = 2", 0, true, "a=1|b=2"},
    /* errors */
    {"key value\n", 0, false, "expected"},
    {"key\n", 0, false, "expected"},
    {"= value\n", 0, false, "expected"},
    {" = value\n", 0, false, "expected"},
    {"Key = value\n", 0, false, "expected"},
    {"KEY = value\n", 0, false, "expected"},
    {"my-key = value\n", 0, false, "expected"},
    {"my.key = value\n", 0, false, "expected"},
    {"key : value\n", 0, false, "expected"},
    {"two words = value\n", 0, false, "expected"},
    {"[section]\n", 0, false, "expected"},
    {"key = value\nbroken\n", 0, false, ":2:"},
    {"# c\n\nkey = v\n\nbad line\n", 0, false, ":5:"},
    /* control characters */
    {"key = va\001lue\n", 0, false, "control characters"},
    {"key = value\033[31m\n", 0, false, "control characters"},
    {"key = va\rlue\n", 0, false, "control characters"},
    {"key = value\r\r\n", 0, false, "control characters"},
    {"key = value\177\n", 0, false, "control characters"},
    {"key = caf\303\251\n", 0, false, "control characters"},
    {"key = a\0b\n", 12, false, "control characters"},
    {"\0key = v\n", 9, false, ""},
    {"key\001 = v\n", 0, false, ""},
    {"ok = 1\nkey = \f\n", 0, false, ":2:"},
};

/* "k=v|k=v" of what was parsed. */
static void render(const struct config_file *cf, char *out, size_t outlen)
{
	size_t n = 0;

	out[0] = '\0';
	for (size_t i = 0; i < cf->count && n < outlen; i++)
		n += (size_t)snprintf(out + n, outlen - n, "%s%s=%s", i ? "|" : "", cf->items[i].key,
		                      cf->items[i].value);
}

static void test_parse(void **state)
{
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(parse_rows) / sizeof(parse_rows[0]); i++) {
		const struct parse_row *r = &parse_rows[i];
		size_t len = r->len ? r->len : strlen(r->text);
		struct config_file cf = {0};
		struct azmi_error err = AZMI_ERROR_INIT;
		char got[512];
		azmi_err rc = config_parse(&cf, "test.conf", r->text, len, &err);

		if (r->ok) {
			render(&cf, got, sizeof(got));
			CHECK(fails, rc == AZMI_OK, "\"%s\": refused: %s", unit_show(r->text, len),
			      err.message);
			CHECK(fails, rc != AZMI_OK || strcmp(got, r->want) == 0,
			      "\"%s\": got \"%s\", want \"%s\"", unit_show(r->text, len), got, r->want);
		} else {
			CHECK(fails, rc == AZMI_ERR_CONFIG, "\"%s\": rc %d", unit_show(r->text, len), rc);
			CHECK(fails, strstr(err.message, r->want) != NULL,
			      "\"%s\": message \"%s\" lacks \"%s\"", unit_show(r->text, len), err.message,
			      r->want);
			CHECK(fails, strstr(err.message, "test.conf") != NULL,
			      "\"%s\": message \"%s\" lacks the name", unit_show(r->text, len), err.message);
			CHECK(fails, util_is_printable(err.message, strlen(err.message)),
			      "\"%s\": message not printable", unit_show(r->text, len));
		}
		config_file_free(&cf);
	}
	TABLE_DONE(fails);
}

/* Line numbers, value length limit, config_get (last one wins, marks used). */
static void test_parse_details(void **state)
{
	static const char text[] = "# c\n\na = 1\nb = x\n\na = 2\n";
	struct config_file cf = {0};
	struct azmi_error err = AZMI_ERROR_INIT;
	size_t n = CONFIG_MAX_VALUE + 8;
	char *big = malloc(n + 16);

	(void)state;
	assert_int_equal(config_parse(&cf, "t", text, sizeof(text) - 1, &err), AZMI_OK);
	assert_int_equal(cf.count, 3);
	assert_int_equal(cf.items[0].line, 3);
	assert_int_equal(cf.items[1].line, 4);
	assert_int_equal(cf.items[2].line, 6);
	assert_false(cf.items[0].used);
	assert_string_equal(config_get(&cf, "a"), "2");
	assert_true(cf.items[0].used && cf.items[2].used);
	assert_false(cf.items[1].used);
	assert_null(config_get(&cf, "c"));
	assert_null(config_get(&cf, "A"));
	config_file_free(&cf);
	config_file_free(&cf); /* twice is harmless */

	/* a value of exactly CONFIG_MAX_VALUE bytes, then one more */
	assert_non_null(big);
	for (int extra = 0; extra < 2; extra++) {
		memcpy(big, "k = ", 4);
		memset(big + 4, 'v', CONFIG_MAX_VALUE + extra);
		memcpy(big + 4 + CONFIG_MAX_VALUE + extra, "  \n", 3);
		azmi_err rc = config_parse(&cf, "t", big, 4 + CONFIG_MAX_VALUE + extra + 3, &err);
		if (extra == 0) {
			assert_int_equal(rc, AZMI_OK);
			assert_int_equal(strlen(config_get(&cf, "k")), CONFIG_MAX_VALUE);
		} else {
			assert_int_equal(rc, AZMI_ERR_CONFIG);
			assert_non_null(strstr(err.message, "longer than"));
		}
		config_file_free(&cf);
	}
	free(big);
	(void)n;

	assert_true(config_key_is_known("imds_endpoint"));
	assert_true(config_key_is_known("curl_rule"));
	assert_false(config_key_is_known("imds_endpiont"));
	assert_false(config_key_is_known(""));
}

/* Each part's own key list (its folder's config_keys.def) is known to the core, built in. */
static void test_keys_of_every_part(void **state)
{
	static const char *const keys[] = {
#define CONFIG_KEY(name)        #name,
#define CONFIG_KEY_DIRECT(name) #name,
#include "../../core/config_keys.def"
#include "../../login/config_keys.def"
#include "../../registry/config_keys.def"
#include "../../libcurl_auth/config_keys.def"
#undef CONFIG_KEY
#undef CONFIG_KEY_DIRECT
	};
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		CHECK(fails, config_key_is_known(keys[i]), "%s", keys[i]);
	/* 10 of the core, 18 of logins, 1 of registries, 3 of the curl plug-in. */
	CHECK(fails, sizeof(keys) / sizeof(keys[0]) == 32, "%zu keys", sizeof(keys) / sizeof(keys[0]));
	CHECK(fails, !config_key_is_known("allowed_domain"), "a typo");
	CHECK(fails, !config_key_is_known("CONFIG_KEY"), "the macro");
	TABLE_DONE(fails);
}

/* ---- settings_load with the environment ------------------------------------------------------ */

static const char *const env_names[] = {
    "AZMI_CA_FILE",
    "AZMI_CACHE_DIR",
    "AZURE_CLIENT_ID",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "IDENTITY_SERVER_THUMBPRINT",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "DEFAULT_IDENTITY_CLIENT_ID",
    "IMDS_ENDPOINT",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_CLIENT_SEND_CERTIFICATE_CHAIN",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "AZURE_TOKEN_CREDENTIALS",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
};

static void env_clear(void)
{
	for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
		unsetenv(env_names[i]);
}

struct settings_row {
	const char *config;
	const char *env[4]; /* "NAME=value" */
	bool ok;
	const char *want_imds; /* NULL: not checked */
	long want_timeout_ms;  /* 0: not checked */
	int want_cloud;        /* -1: not checked */
	const char *want_cache_dir;
	const char *error; /* substring */
};

static const struct settings_row settings_rows[] = {
    /* defaults */
    {"", {NULL}, true, "http://169.254.169.254", 90000, CLOUD_PUBLIC, NULL, NULL},
    /* AZURE_POD_IDENTITY_AUTHORITY_HOST replaces the IMDS base; trailing slashes go */
    {"",
     {"AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:8080"},
     true,
     "http://127.0.0.1:8080",
     0,
     -1,
     NULL,
     NULL},
    {"",
     {"AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:8080/"},
     true,
     "http://127.0.0.1:8080",
     0,
     -1,
     NULL,
     NULL},
    {"",
     {"AZURE_POD_IDENTITY_AUTHORITY_HOST=https://pod.example///"},
     true,
     "https://pod.example",
     0,
     -1,
     NULL,
     NULL},
    {"", {"AZURE_POD_IDENTITY_AUTHORITY_HOST=http://h/base/"}, true, "http://h/base", 0, -1, NULL, NULL},
    {"imds_endpoint = http://10.0.0.1:1\n",
     {"AZURE_POD_IDENTITY_AUTHORITY_HOST=http://10.0.0.2:2/"},
     true,
     "http://10.0.0.2:2",
     0,
     -1,
     NULL,
     NULL},
    {"", {"AZURE_POD_IDENTITY_AUTHORITY_HOST="}, true, "http://169.254.169.254", 0, -1, NULL, NULL},
    {"",
     {"AZURE_POD_IDENTITY_AUTHORITY_HOST=ftp://h"},
     false,
     NULL,
     0,
     -1,
     NULL,
     "AZURE_POD_IDENTITY_AUTHORITY_HOST"},
    {"",
     {"AZURE_POD_IDENTITY_AUTHORITY_HOST=169.254.169.254"},
     false,
     NULL,
     0,
     -1,
     NULL,
     "AZURE_POD_IDENTITY_AUTHORITY_HOST"},
    {"",
     {"AZURE_POD_IDENTITY_AUTHORITY_HOST=http://a b"},
     false,
     NULL,
     0,
     -1,
     NULL,
     "AZURE_POD_IDENTITY_AUTHORITY_HOST"},
    {"",
     {"AZURE_POD_IDENTITY_AUTHORITY_HOST=http://a\nb"},
     false,
     NULL,
     0,
     -1,
     NULL,
     "AZURE_POD_IDENTITY_AUTHORITY_HOST"},
    {"",
     {"AZURE_POD_IDENTITY_AUTHORITY_HOST=http://"},
     false,
     NULL,
     0,
     -1,
     NULL,
     "AZURE_POD_IDENTITY_AUTHORITY_HOST"},
    {"",
     {"AZURE_POD_IDENTITY_AUTHORITY_HOST=///"},
     false,
     NULL,
     0,
     -1,
     NULL,
     "AZURE_POD_IDENTITY_AUTHORITY_HOST"},
    /* imds_endpoint from the file */
    {"imds_endpoint = http://10.0.0.1:8080/\n", {NULL}, true, "http://10.0.0.1:8080", 0, -1, NULL, NULL},
    {"imds_endpoint = https://x.example\n", {NULL}, true, "https://x.example", 0, -1, NULL, NULL},
    {"imds_endpoint = file:///etc/passwd\n", {NULL}, false, NULL, 0, -1, NULL, "imds_endpoint"},
    {"imds_endpoint = 169.254.169.254\n", {NULL}, false, NULL, 0, -1, NULL, "imds_endpoint"},
    {"imds_endpoint = http://a b\n", {NULL}, false, NULL, 0, -1, NULL, "imds_endpoint"},
    /* cache directory */
    {"", {"AZMI_CACHE_DIR=/run/user/1000/azmi"}, true, NULL, 0, -1, "/run/user/1000/azmi", NULL},
    {"", {"AZMI_CACHE_DIR=relative/dir"}, false, NULL, 0, -1, NULL, "AZMI_CACHE_DIR"},
    {"", {"AZMI_CACHE_DIR=./cache"}, false, NULL, 0, -1, NULL, "AZMI_CACHE_DIR"},
    {"", {"AZMI_CACHE_DIR=~/cache"}, false, NULL, 0, -1, NULL, "AZMI_CACHE_DIR"},
    {"cache_dir = /var/cache/azmi\n", {NULL}, true, NULL, 0, -1, "/var/cache/azmi", NULL},
    {"cache_dir = /var/cache/azmi\n", {"AZMI_CACHE_DIR=/tmp/x"}, true, NULL, 0, -1, "/tmp/x", NULL},
    {"cache_dir = cache\n", {NULL}, false, NULL, 0, -1, NULL, "cache_dir"},
    {"cache = maybe\n", {NULL}, false, NULL, 0, -1, NULL, "cache"},
    /* timeout bounds: whole seconds from 1 to 3600 */
    {"timeout = 1\n", {NULL}, true, NULL, 1000, -1, NULL, NULL},
    {"timeout = 30\n", {NULL}, true, NULL, 30000, -1, NULL, NULL},
    {"timeout = 3600\n", {NULL}, true, NULL, 3600000, -1, NULL, NULL},
    {"timeout = 0\n", {NULL}, false, NULL, 0, -1, NULL, "timeout"},
    {"timeout = 3601\n", {NULL}, false, NULL, 0, -1, NULL, "timeout"},
    {"timeout = -5\n", {NULL}, false, NULL, 0, -1, NULL, "timeout"},
    {"timeout = 10s\n", {NULL}, false, NULL, 0, -1, NULL, "timeout"},
    {"timeout = 1.5\n", {NULL}, false, NULL, 0, -1, NULL, "timeout"},
    {"timeout = 99999999999999999999\n", {NULL}, false, NULL, 0, -1, NULL, "timeout"},
    {"timeout =\n", {NULL}, false, NULL, 0, -1, NULL, "timeout"},
    /* cloud names */
    {"cloud = AzureCloud\n", {NULL}, true, NULL, 0, CLOUD_PUBLIC, NULL, NULL},
    {"cloud = AzureUSGovernment\n", {NULL}, true, NULL, 0, CLOUD_USGOV, NULL, NULL},
    {"cloud = AzureChinaCloud\n", {NULL}, true, NULL, 0, CLOUD_CHINA, NULL, NULL},
    {"cloud = AzureGermanCloud\n", {NULL}, false, NULL, 0, -1, NULL, "cloud"},
    {"cloud = public\n", {NULL}, false, NULL, 0, -1, NULL, "cloud"},
    {"cloud =\n", {NULL}, false, NULL, 0, -1, NULL, "cloud"},
    /* IDENTITY_ENDPOINT must be a URL */
    {"",
     {"IDENTITY_ENDPOINT=http://127.0.0.1:41234/msi/token", "IDENTITY_HEADER=secret"},
     true,
     NULL,
     0,
     -1,
     NULL,
     NULL},
    {"", {"IDENTITY_ENDPOINT=localhost:41234"}, false, NULL, 0, -1, NULL, "IDENTITY_ENDPOINT"},
};

static int check_settings(const struct settings_row *rows, size_t n)
{
	int fails = 0;

	for (size_t i = 0; i < n; i++) {
		const struct settings_row *r = &rows[i];
		struct config_file cf = {0};
		struct settings s;
		struct azmi_error err = AZMI_ERROR_INIT;
		char desc[300];
		azmi_err rc;

		env_clear();
		snprintf(desc, sizeof(desc), "config \"%s\" env %s", unit_show(r->config, strlen(r->config)),
		         r->env[0] ? r->env[0] : "-");
		for (size_t j = 0; j < 4 && r->env[j]; j++) {
			char *copy = strdup(r->env[j]), *eq = strchr(copy, '=');
			*eq = '\0';
			setenv(copy, eq + 1, 1);
			free(copy);
		}
		rc = config_parse(&cf, "t.conf", r->config, strlen(r->config), &err);
		CHECK(fails, rc == AZMI_OK, "%s: test config refused: %s", desc, err.message);
		rc = settings_load(&s, &cf, &err);
		if (r->ok) {
			CHECK(fails, rc == AZMI_OK, "%s: refused: %s", desc, err.message);
			if (rc == AZMI_OK) {
				CHECK(fails,
				      r->want_imds == NULL || strcmp(s.imds_endpoint, r->want_imds) == 0,
				      "%s: imds_endpoint \"%s\", want \"%s\"", desc, s.imds_endpoint,
				      r->want_imds);
				CHECK(fails, r->want_timeout_ms == 0 || s.timeout_ms == r->want_timeout_ms,
				      "%s: timeout_ms %ld, want %ld", desc, s.timeout_ms, r->want_timeout_ms);
				CHECK(fails, r->want_cloud < 0 || (int)s.cloud == r->want_cloud,
				      "%s: cloud %d, want %d", desc, (int)s.cloud, r->want_cloud);
				CHECK(fails,
				      r->want_cache_dir == NULL ||
				          (s.cache_dir && strcmp(s.cache_dir, r->want_cache_dir) == 0),
				      "%s: cache_dir \"%s\", want \"%s\"", desc,
				      s.cache_dir ? s.cache_dir : "(null)", r->want_cache_dir);
			}
		} else {
			CHECK(fails, rc == AZMI_ERR_CONFIG, "%s: rc %d, want a configuration error", desc,
			      rc);
			CHECK(fails, strstr(err.message, r->error) != NULL, "%s: message \"%s\" lacks \"%s\"",
			      desc, err.message, r->error);
		}
		settings_free(&s);
		config_file_free(&cf);
	}
	env_clear();
	return fails;
}

static void test_settings(void **state)
{
	(void)state;
	TABLE_DONE(check_settings(settings_rows, sizeof(settings_rows) / sizeof(settings_rows[0])));
}

/*
 * imds_endpoint from the file is checked before its trailing slashes are
 * trimmed, so "http://" passes the check and becomes "http:".  The same
 * value through AZURE_POD_IDENTITY_AUTHORITY_HOST is refused.
 */
static void test_settings_scheme_only_endpoint(void **state)
{
	static const struct settings_row rows[] = {
	    {"imds_endpoint = http://\n", {NULL}, false, NULL, 0, -1, NULL, "imds_endpoint"},
	    {"imds_endpoint = https:///\n", {NULL}, false, NULL, 0, -1, NULL, "imds_endpoint"},
	};

	(void)state;
	TABLE_DONE(check_settings(rows, sizeof(rows) / sizeof(rows[0])));
}

/* What the environment fills in besides the endpoints. */
/* The Entra authority: the cloud's by default, AZURE_AUTHORITY_HOST without its trailing slash otherwise. */
static void test_settings_authority(void **state)
{
	static const struct {
		const char *config, *env, *want;
	} rows[] = {
	    {"", NULL, "https://login.microsoftonline.com"},
	    {"cloud = AzureCloud\n", NULL, "https://login.microsoftonline.com"},
	    {"cloud = AzureUSGovernment\n", NULL, "https://login.microsoftonline.us"},
	    {"cloud = AzureChinaCloud\n", NULL, "https://login.chinacloudapi.cn"},
	    {"cloud = AzureChinaCloud\n", "https://login.example/", "https://login.example"},
	    {"", "https://login.example///", "https://login.example"},
	};
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct config_file cf = {0};
		struct settings s;
		struct azmi_error err = AZMI_ERROR_INIT;

		env_clear();
		if (rows[i].env)
			setenv("AZURE_AUTHORITY_HOST", rows[i].env, 1);
		assert_int_equal(config_parse(&cf, "t", rows[i].config, strlen(rows[i].config), &err),
		                 AZMI_OK);
		azmi_err rc = settings_load(&s, &cf, &err);
		CHECK(fails, rc == AZMI_OK && s.authority_host && strcmp(s.authority_host, rows[i].want) == 0,
		      "\"%s\" + %s: rc %d, authority \"%s\", want \"%s\"", rows[i].config,
		      rows[i].env ? rows[i].env : "-", rc,
		      rc == AZMI_OK && s.authority_host ? s.authority_host : "", rows[i].want);
		settings_free(&s);
		config_file_free(&cf);
	}
	env_clear();
	TABLE_DONE(fails);
}

/* arm_endpoint and graph_endpoint: the cloud's by default, https base URLs only, trailing slash dropped. */
static void test_settings_arm_graph(void **state)
{
	static const struct {
		const char *config;
		bool ok;
		const char *arm, *graph; /* ok: the values; else arm is a substring of the error */
		bool arm_explicit, graph_explicit, cloud_explicit;
	} rows[] = {
	    {"", true, "https://management.azure.com", "https://graph.microsoft.com", false, false, false},
	    {"cloud = AzureUSGovernment\n", true, "https://management.usgovcloudapi.net",
	     "https://graph.microsoft.us", false, false, true},
	    {"cloud = AzureChinaCloud\n", true, "https://management.chinacloudapi.cn",
	     "https://microsoftgraph.chinacloudapi.cn", false, false, true},
	    {"arm_endpoint = https://127.0.0.1:8443/\ngraph_endpoint = https://graph.example\n", true,
	     "https://127.0.0.1:8443", "https://graph.example", true, true, false},
	    {"arm_endpoint = https://arm.example///\n", true, "https://arm.example",
	     "https://graph.microsoft.com", true, false, false},
	    {"arm_endpoint = http://arm.example\n", false, "arm_endpoint", NULL, false, false, false},
	    {"arm_endpoint = https://\n", false, "arm_endpoint", NULL, false, false, false},
	    {"arm_endpoint = https:///\n", false, "arm_endpoint", NULL, false, false, false},
	    {"arm_endpoint = https://arm.example/base\n", false, "arm_endpoint", NULL, false, false, false},
	    {"arm_endpoint = https://arm.example?x=1\n", false, "arm_endpoint", NULL, false, false, false},
	    {"arm_endpoint = https://user@arm.example\n", false, "arm_endpoint", NULL, false, false, false},
	    {"arm_endpoint = https://arm.example#f\n", false, "arm_endpoint", NULL, false, false, false},
	    {"arm_endpoint = https://a b\n", false, "arm_endpoint", NULL, false, false, false},
	    {"arm_endpoint = management.azure.com\n", false, "arm_endpoint", NULL, false, false, false},
	    {"graph_endpoint = ftp://graph.example\n", false, "graph_endpoint", NULL, false, false, false},
	    {"graph_endpoint = https://graph.example/v1.0\n", false, "graph_endpoint", NULL, false, false,
	     false},
	};
	int fails = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct config_file cf = {0};
		struct settings s;
		struct azmi_error err = AZMI_ERROR_INIT;
		azmi_err rc;

		env_clear();
		assert_int_equal(config_parse(&cf, "t", rows[i].config, strlen(rows[i].config), &err),
		                 AZMI_OK);
		rc = settings_load(&s, &cf, &err);
		if (rows[i].ok) {
			CHECK(fails, rc == AZMI_OK, "\"%s\": refused: %s", rows[i].config, err.message);
			if (rc == AZMI_OK) {
				CHECK(fails, strcmp(s.arm_endpoint, rows[i].arm) == 0, "\"%s\": arm \"%s\"",
				      rows[i].config, s.arm_endpoint);
				CHECK(fails, strcmp(s.graph_endpoint, rows[i].graph) == 0,
				      "\"%s\": graph \"%s\"", rows[i].config, s.graph_endpoint);
				CHECK(fails,
				      s.arm_endpoint_explicit == rows[i].arm_explicit &&
				          s.graph_endpoint_explicit == rows[i].graph_explicit &&
				          s.cloud_explicit == rows[i].cloud_explicit,
				      "\"%s\": explicit flags %d %d %d", rows[i].config,
				      s.arm_endpoint_explicit, s.graph_endpoint_explicit, s.cloud_explicit);
			}
		} else {
			CHECK(fails, rc == AZMI_ERR_CONFIG && strstr(err.message, rows[i].arm) != NULL,
			      "\"%s\": rc %d message \"%s\"", rows[i].config, rc, err.message);
		}
		settings_free(&s);
		config_file_free(&cf);
	}
	assert_string_equal(settings_cloud_arm(CLOUD_USGOV), "https://management.usgovcloudapi.net");
	assert_string_equal(settings_cloud_graph(CLOUD_CHINA), "https://microsoftgraph.chinacloudapi.cn");
	TABLE_DONE(fails);
}

static void test_settings_env_values(void **state)
{
	struct config_file cf = {0};
	struct settings s;
	struct azmi_error err = AZMI_ERROR_INIT;

	(void)state;
	env_clear();
	setenv("AZURE_CLIENT_ID", "11111111-2222-3333-4444-555555555555", 1);
	setenv("IDENTITY_ENDPOINT", "http://127.0.0.1:41234/msi/token", 1);
	setenv("IDENTITY_HEADER", "hdr-secret", 1);
	setenv("AZMI_CA_FILE", "/etc/ssl/test-ca.pem", 1);
	setenv("AZURE_CLIENT_SECRET", "client-secret", 1);
	setenv("AZURE_TENANT_ID", "tenant", 1);
	setenv("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN", "True", 1);
	static const char conf[] = "ca_file = /etc/other.pem\ncache = no\n";
	assert_int_equal(config_parse(&cf, "t", conf, sizeof(conf) - 1, &err), AZMI_OK);
	assert_int_equal(settings_load(&s, &cf, &err), AZMI_OK);
	assert_string_equal(s.azure_client_id, "11111111-2222-3333-4444-555555555555");
	assert_string_equal(s.identity_endpoint, "http://127.0.0.1:41234/msi/token");
	assert_string_equal(s.identity_header, "hdr-secret");
	assert_string_equal(s.client_secret, "client-secret");
	assert_string_equal(s.tenant_id, "tenant");
	assert_true(s.send_cert_chain);
	assert_string_equal(s.ca_file, "/etc/ssl/test-ca.pem"); /* the environment wins over the file */
	assert_false(s.cache_enabled);
	assert_false(s.imds_endpoint_from_env);
	settings_free(&s);
	assert_null(s.imds_endpoint);
	config_file_free(&cf);

	env_clear();
	setenv("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9/", 1);
	assert_int_equal(settings_load(&s, &cf, &err), AZMI_OK);
	assert_true(s.imds_endpoint_from_env);
	assert_true(s.cache_enabled);
	assert_null(s.azure_client_id);
	assert_null(s.cache_dir);
	settings_free(&s);
	env_clear();
}

/* The proxy of remote requests: the file's, else the environment's only where it may steer us. */
static void test_settings_proxy(void **state)
{
	static const struct {
		const char *conf;
		bool trusted;
		azmi_err rc;
		const char *want; /* NULL: libcurl's environment rules */
	} rows[] = {
	    {"", true, AZMI_OK, NULL},
	    {"", false, AZMI_OK, ""},
	    {"proxy = http://proxy.example:3128\n", true, AZMI_OK, "http://proxy.example:3128"},
	    {"proxy = http://proxy.example:3128\n", false, AZMI_OK, "http://proxy.example:3128"},
	    {"proxy = socks5h://127.0.0.1:1080\n", false, AZMI_OK, "socks5h://127.0.0.1:1080"},
	    {"proxy = none\n", true, AZMI_OK, ""},
	    {"proxy = ftp://proxy.example\n", true, AZMI_ERR_CONFIG, NULL},
	    {"proxy = proxy.example:3128\n", true, AZMI_ERR_CONFIG, NULL},
	};

	(void)state;
	env_clear();
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct config_file cf = {0};
		struct settings s;
		struct azmi_error err = AZMI_ERROR_INIT;
		const char *got;

		assert_int_equal(config_parse(&cf, "t", rows[i].conf, strlen(rows[i].conf), &err), AZMI_OK);
		assert_int_equal(settings_load(&s, &cf, &err), rows[i].rc);
		if (rows[i].rc == AZMI_OK) {
			assert_true(s.env_trusted); /* not a setuid test program */
			s.env_trusted = rows[i].trusted;
			got = settings_proxy(&s);
			if (rows[i].want == NULL)
				assert_null(got);
			else
				assert_string_equal(got, rows[i].want);
		}
		settings_free(&s);
		config_file_free(&cf);
	}
}

/* ---- config_read: the file's safety checks --------------------------------------------------- */

struct read_fixture {
	char *dir;
};

static int read_setup(void **state)
{
	struct read_fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->dir = unit_tmpdir()) == NULL)
		return -1;
	*state = f;
	return 0;
}

static int read_teardown(void **state)
{
	struct read_fixture *f = *state;

	unit_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* config_read of `path`: rc, and the message must hold `want` on failure. */
static void expect_read(const char *path, bool required, azmi_err want_rc, const char *want)
{
	struct config_file cf = {0};
	struct azmi_error err = AZMI_ERROR_INIT;
	azmi_err rc = config_read(&cf, path, required, &err);

	if (rc != want_rc || (want && strstr(err.message, want) == NULL))
		print_error("config_read(%s): rc %d (want %d), message \"%s\" (want \"%s\")\n", path, rc,
		            want_rc, err.message, want ? want : "");
	assert_int_equal(rc, want_rc);
	if (want)
		assert_non_null(strstr(err.message, want));
	config_file_free(&cf);
}

static void test_read_ok(void **state)
{
	struct read_fixture *f = *state;
	char *p = unit_path(f->dir, "azmi.conf");
	struct config_file cf = {0};
	struct azmi_error err = AZMI_ERROR_INIT;
	static const char text[] = "# test\ncloud = AzureChinaCloud\r\ntimeout = 5\n";

	assert_int_equal(unit_write_file(p, text, sizeof(text) - 1, 0600), 0);
	assert_int_equal(config_read(&cf, p, true, &err), AZMI_OK);
	assert_string_equal(cf.path, p);
	assert_int_equal(cf.count, 2);
	assert_string_equal(config_get(&cf, "cloud"), "AzureChinaCloud");
	config_file_free(&cf);
	/* readable by everyone is fine: only writability matters */
	assert_int_equal(chmod(p, 0644), 0);
	expect_read(p, true, AZMI_OK, NULL);
	assert_int_equal(chmod(p, 0400), 0);
	expect_read(p, true, AZMI_OK, NULL);
	/* empty file */
	assert_int_equal(unit_write_file(p, "", 0, 0600), 0);
	expect_read(p, true, AZMI_OK, NULL);
	/* a parse error in the file names the file and line */
	assert_int_equal(unit_write_file(p, "a = 1\nnot valid\n", 16, 0600), 0);
	expect_read(p, true, AZMI_ERR_CONFIG, ":2:");
	expect_read(p, true, AZMI_ERR_CONFIG, p);
	free(p);
}

static void test_read_missing(void **state)
{
	struct read_fixture *f = *state;
	char *p = unit_path(f->dir, "nonexistent.conf");
	struct config_file cf = {0};
	struct azmi_error err = AZMI_ERROR_INIT;

	assert_int_equal(config_read(&cf, p, false, &err), AZMI_OK);
	assert_null(cf.path);
	assert_int_equal(cf.count, 0);
	expect_read(p, true, AZMI_ERR_CONFIG, p);
	free(p);
}

static void test_read_unsafe(void **state)
{
	struct read_fixture *f = *state;
	char *p = unit_path(f->dir, "azmi.conf"), *link = unit_path(f->dir, "link.conf");
	char *sub = unit_path(f->dir, "subdir"), *fifo = unit_path(f->dir, "fifo");

	assert_int_equal(unit_write_file(p, "cloud = AzureCloud\n", 19, 0600), 0);
	/* a symbolic link, even to a good file */
	assert_int_equal(symlink(p, link), 0);
	expect_read(link, true, AZMI_ERR_CONFIG, "symbolic link");
	expect_read(link, false, AZMI_ERR_CONFIG, "symbolic link");
	/* writable by group or others */
	assert_int_equal(chmod(p, 0620), 0);
	expect_read(p, true, AZMI_ERR_CONFIG, "writable by group or others");
	assert_int_equal(chmod(p, 0602), 0);
	expect_read(p, true, AZMI_ERR_CONFIG, "writable by group or others");
	assert_int_equal(chmod(p, 0666), 0);
	expect_read(p, false, AZMI_ERR_CONFIG, "chmod go-w");
	assert_int_equal(chmod(p, 0600), 0);
	/* not a regular file */
	assert_int_equal(mkdir(sub, 0700), 0);
	expect_read(sub, true, AZMI_ERR_CONFIG, "not a regular file");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	expect_read(fifo, true, AZMI_ERR_CONFIG, "not a regular file");
	expect_read("/dev/null", true, AZMI_ERR_CONFIG, "not a regular file");
	/* owned by someone other than root or us */
	if (unit_is_root()) {
		assert_int_equal(chown(p, 65534, 65534), 0);
		expect_read(p, true, AZMI_ERR_CONFIG, "owned by uid 65534");
		assert_int_equal(chown(p, 0, 0), 0);
		expect_read(p, true, AZMI_OK, NULL);
	}
	free(p);
	free(link);
	free(sub);
	free(fifo);
}

static void test_read_size(void **state)
{
	struct read_fixture *f = *state;
	char *p = unit_path(f->dir, "big.conf");
	char *text = malloc(CONFIG_MAX_BYTES + 2);

	assert_non_null(text);
	/* exactly CONFIG_MAX_BYTES of comment lines is fine */
	memset(text, '#', CONFIG_MAX_BYTES + 1);
	for (size_t i = 63; i < CONFIG_MAX_BYTES + 1; i += 64)
		text[i] = '\n';
	assert_int_equal(unit_write_file(p, text, CONFIG_MAX_BYTES, 0600), 0);
	expect_read(p, true, AZMI_OK, NULL);
	assert_int_equal(unit_write_file(p, text, CONFIG_MAX_BYTES + 1, 0600), 0);
	expect_read(p, true, AZMI_ERR_CONFIG, "larger than");
	free(text);
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_parse_details),
	    cmocka_unit_test(test_keys_of_every_part),
	    cmocka_unit_test(test_settings),
	    cmocka_unit_test(test_settings_scheme_only_endpoint),
	    cmocka_unit_test(test_settings_env_values),
	    cmocka_unit_test(test_settings_authority),
	    cmocka_unit_test(test_settings_arm_graph),
	    cmocka_unit_test(test_settings_proxy),
	    cmocka_unit_test_setup_teardown(test_read_ok, read_setup, read_teardown),
	    cmocka_unit_test_setup_teardown(test_read_missing, read_setup, read_teardown),
	    cmocka_unit_test_setup_teardown(test_read_unsafe, read_setup, read_teardown),
	    cmocka_unit_test_setup_teardown(test_read_size, read_setup, read_teardown),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
