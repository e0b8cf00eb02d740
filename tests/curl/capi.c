/*
 * capi.c - the C API of libazmi_curl against the https echo server.
 * Usage: capi CAFILE ARM_BASE STORAGE_BASE OTHER_BASE
 *   e.g. capi ca.pem https://management.azure.com:8443 https://acct2.blob.core.windows.net:8443
 *        https://other.example.com:9443
 * Prints "ok - name" or "FAIL - name" per check and exits non-zero on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "testlib.h"

#include "azmi_curl.h"

static const char *cafile;

static CURL *new_handle(struct body *b)
{
	CURL *h = curl_easy_init();

	curl_easy_setopt(h, CURLOPT_CAINFO, cafile);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	return h;
}

/* Perform and return the number of Authorization values the echo server saw, -1 on failure. */
static int perform_count_auth(CURL *h, struct body *b)
{
	const char *a;
	int n = 0;

	b->len = 0;
	b->data[0] = '\0';
	if (curl_easy_perform(h) != CURLE_OK)
		return -1;
	a = strstr(b->data, "\"authorization\": [");
	if (a == NULL)
		return -1;
	a += strlen("\"authorization\": [");
	for (; *a != ']' && *a != '\0'; a++)
		if (*a == '"')
			n++;
	return n / 2;
}

struct scope_case {
	const char *url;
	const char *scope;
};

#define ST "https://storage.azure.com/.default"
static const struct scope_case scope_cases[] = {
    {"https://acct.blob.core.windows.net/c/b", ST},
    {"https://ACCT.Blob.Core.Windows.NET/c", ST},
    {"https://acct.blob.core.windows.net./c", ST},
    {"https://acct.blob.core.windows.net:8443/c", ST},
    {"https://acct.dfs.core.windows.net/fs", ST},
    {"https://acct.queue.core.windows.net/q", ST},
    {"https://acct.table.core.windows.net/t", ST},
    {"https://acct.file.core.windows.net/share", ST},
    {"https://acct.z12.blob.storage.azure.net/c", ST},
    {"https://management.azure.com/subscriptions?api-version=2022-12-01",
     "https://management.azure.com/.default"},
    {"https://kv1.vault.azure.net/secrets/s?api-version=7.4", "https://vault.azure.net/.default"},
    {"https://hsm1.managedhsm.azure.net/keys", "https://managedhsm.azure.net/.default"},
    /* Other clouds' hosts: none under the default cloud (run_tests.py test_cloud covers cloud = ...). */
    {"https://acct.blob.core.usgovcloudapi.net/c", NULL},
    {"https://management.usgovcloudapi.net/", NULL},
    {"https://kv.vault.usgovcloudapi.net/", NULL},
    {"https://acct.blob.core.chinacloudapi.cn/c", NULL},
    {"https://management.chinacloudapi.cn/", NULL},
    {"https://kv.vault.azure.cn/", NULL},
    {"https://dev.azure.com/org/proj/_git/repo", "499b84ac-1321-427f-aa17-267ca6975798/.default"},
    {"https://org1.visualstudio.com/proj/_git/repo", "499b84ac-1321-427f-aa17-267ca6975798/.default"},
    {"https://dev.azure.com.evil.example/", NULL},
    {"https://a.b.visualstudio.com/", NULL},
    {"https://visualstudio.com/", NULL},
    {"https://api.contoso.example/v1", "https://contoso.example/.default"}, /* config rule */
    {"https://x.blob.contoso.example/c", ST},                               /* config rule, storage */
    {"https://nope.vault.azure.net/", NULL},                                /* config: none */
    {"http://acct.blob.core.windows.net/c", NULL},
    {"ftp://acct.blob.core.windows.net/c", NULL},
    {"acct.blob.core.windows.net/c", NULL},
    {"https://evilmanagement.azure.com.attacker.net/", NULL},
    {"https://management.azure.com.attacker.net/", NULL},
    {"https://xmanagement.azure.com/", NULL},
    {"https://management.azure.com@evil.example/", NULL},
    {"https://evil.example/management.azure.com", NULL},
    {"https://evil.example/?h=kv.vault.azure.net", NULL},
    {"https://blob.core.windows.net/c", NULL},
    {"https://a.b.blob.core.windows.net/c", NULL},
    {"https://vault.azure.net/", NULL},
    {"https://acct.blob.core.windows.net.evil.example/c", NULL},
    {"https://reg.azurecr.io/v2/", NULL},
    {"https://127.0.0.1/", NULL},
    {"https://[::1]/", NULL},
};

static void test_scopes(void)
{
	char name[300];

	for (size_t i = 0; i < sizeof(scope_cases) / sizeof(scope_cases[0]); i++) {
		const char *got = azmi_curl_scope(scope_cases[i].url);
		const char *want = scope_cases[i].scope;
		snprintf(name, sizeof(name), "scope of %s is %s", scope_cases[i].url, want ? want : "none");
		check(want ? (got && strcmp(got, want) == 0) : got == NULL, name);
	}
}

int main(int argc, char **argv)
{
	char arm[512], storage[512], other[512], other2[512];
	struct body b, b2;
	struct azmi_error err = AZMI_ERROR_INIT;
	CURL *h, *d;

	if (argc != 5) {
		fprintf(stderr, "usage: capi CAFILE ARM_BASE STORAGE_BASE OTHER_BASE\n");
		return 2;
	}
	cafile = argv[1];
	snprintf(arm, sizeof(arm), "%s/capi/arm?api-version=2022-12-01", argv[2]);
	snprintf(storage, sizeof(storage), "%s/capi/c/b", argv[3]);
	snprintf(other, sizeof(other), "%s/capi/other", argv[4]);
	snprintf(other2, sizeof(other2), "%s/capi/other2", argv[4]);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_scopes();

	/* A struct azmi_error of a size this library does not know is refused and not written. */
	{
		struct azmi_error odd = AZMI_ERROR_INIT;

		odd.size = sizeof(odd) - 8;
		snprintf(odd.message, sizeof(odd.message), "untouched");
		h = new_handle(&b);
		check(azmi_curl_prepare(h, arm, &odd) == AZMI_ERR_USAGE && odd.size == sizeof(odd) - 8 &&
		          strcmp(odd.message, "untouched") == 0,
		      "prepare refuses an azmi_error of unknown size and leaves it alone");
		check(azmi_curl_install(&odd) == AZMI_ERR_USAGE && strcmp(odd.message, "untouched") == 0,
		      "install refuses an azmi_error of unknown size and leaves it alone");
		curl_easy_cleanup(h);
	}

	/* Prepare attaches; re-targeting the same handle drops the token. */
	h = new_handle(&b);
	check(azmi_curl_prepare(h, arm, &err) == AZMI_OK, "prepare ARM");
	if (err.message[0])
		printf("# %s\n", err.message);
	check(perform_count_auth(h, &b) == 1 && strstr(b.data, "Bearer ") != NULL,
	      "prepared handle carries a bearer");
	curl_easy_setopt(h, CURLOPT_URL, other);
	check(perform_count_auth(h, &b) == 0, "re-targeted handle carries nothing");
	check(azmi_curl_prepare(h, other, &err) == AZMI_OK, "prepare a foreign URL is OK");
	check(perform_count_auth(h, &b) == 0, "prepared foreign URL carries nothing");

	/* A duplicate of a token-carrying handle, pointed elsewhere, carries nothing. */
	azmi_curl_prepare(h, arm, &err);
	d = curl_easy_duphandle(h);
	curl_easy_setopt(d, CURLOPT_WRITEDATA, &b2);
	curl_easy_setopt(d, CURLOPT_URL, other2);
	check(perform_count_auth(d, &b2) == 0, "duplicate pointed elsewhere carries nothing");
	check(perform_count_auth(h, &b) == 1, "original still carries its bearer");
	curl_easy_cleanup(d);

	/* Reset forgets everything. */
	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_CAINFO, cafile);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, body_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(h, CURLOPT_URL, other);
	check(perform_count_auth(h, &b) == 0, "reset handle carries nothing");
	curl_easy_cleanup(h);

	/* The application's header list is never modified; Storage gets x-ms-version on a copy. */
	{
		struct curl_slist *list = curl_slist_append(NULL, "X-Test: 1");
		h = new_handle(&b);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
		check(azmi_curl_prepare(h, storage, &err) == AZMI_OK, "prepare Storage");
		check(perform_count_auth(h, &b) == 1 &&
		          strstr(b.data, "\"x_ms_version\": [\"2021-08-06\"]") != NULL,
		      "Storage request carries a bearer and x-ms-version");
		check(list->next == NULL && strcmp(list->data, "X-Test: 1") == 0,
		      "application header list unchanged");
		curl_easy_cleanup(h);
		curl_slist_free_all(list);
	}

	/* An explicit choice the plug-in refuses: credentials following redirects. */
	h = new_handle(&b);
	curl_easy_setopt(h, CURLOPT_UNRESTRICTED_AUTH, 1L);
	check(azmi_curl_prepare(h, arm, &err) == AZMI_ERR_USAGE && strstr(err.message, "redirect") != NULL,
	      "prepare refuses a handle with CURLOPT_UNRESTRICTED_AUTH");
	check(perform_count_auth(h, &b) == 0, "refused handle carries nothing");
	curl_easy_cleanup(h);

	/* A prepared handle whose CURLU is edited afterwards loses the token at perform. */
	{
		CURLU *u = curl_url();
		curl_url_set(u, CURLUPART_URL, arm, 0);
		h = new_handle(&b);
		curl_easy_setopt(h, CURLOPT_CURLU, u);
		check(azmi_curl_prepare(h, NULL, &err) == AZMI_OK, "prepare a CURLU handle");
		check(perform_count_auth(h, &b) == 1, "prepared CURLU handle carries a bearer");
		curl_url_set(u, CURLUPART_URL, other, 0);
		check(perform_count_auth(h, &b) == 0,
		      "prepared CURLU edited to another host carries nothing");
		curl_easy_cleanup(h);
		curl_url_cleanup(u);
	}

	/* From here on every handle is decided at perform and multi add. */
	check(azmi_curl_install(&err) == AZMI_OK, "install");
	{
		CURLM *m = curl_multi_init();
		struct body bs[3];
		CURL *hs[3];
		const char *urls[3] = {arm, storage, other};
		int running = 1;
		for (int i = 0; i < 3; i++) {
			bs[i].len = 0;
			bs[i].data[0] = '\0';
			hs[i] = new_handle(&bs[i]);
			curl_easy_setopt(hs[i], CURLOPT_URL, urls[i]);
			curl_multi_add_handle(m, hs[i]);
		}
		while (running) {
			curl_multi_perform(m, &running);
			if (running)
				curl_multi_poll(m, NULL, 0, 1000, NULL);
		}
		check(strstr(bs[0].data, "Bearer ") != NULL, "multi: ARM handle carries a bearer");
		check(strstr(bs[1].data, "Bearer ") != NULL, "multi: Storage handle carries a bearer");
		check(strstr(bs[2].data, "\"authorization\": []") != NULL,
		      "multi: foreign handle carries nothing");
		for (int i = 0; i < 3; i++) {
			curl_multi_remove_handle(m, hs[i]);
			curl_easy_cleanup(hs[i]);
		}
		curl_multi_cleanup(m);
	}
	{
		CURLU *u = curl_url();
		curl_url_set(u, CURLUPART_URL, arm, 0);
		h = new_handle(&b);
		curl_easy_setopt(h, CURLOPT_CURLU, u);
		check(perform_count_auth(h, &b) == 1, "CURLU handle carries a bearer");
		curl_url_set(u, CURLUPART_URL, other, 0);
		check(perform_count_auth(h, &b) == 0, "CURLU changed to another host carries nothing");
		curl_easy_cleanup(h);
		curl_url_cleanup(u);
	}
	{
		struct curl_slist *list = curl_slist_append(NULL, "Authorization: Bearer app-own");
		h = new_handle(&b);
		curl_easy_setopt(h, CURLOPT_URL, arm);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
		check(perform_count_auth(h, &b) == 1 && strstr(b.data, "Bearer app-own") != NULL,
		      "application's own Authorization: exactly one, its own");
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
		check(perform_count_auth(h, &b) == 1 && strstr(b.data, "app-own") == NULL,
		      "same handle without it: the plug-in's bearer");
		curl_easy_cleanup(h);
		curl_slist_free_all(list);
	}
	curl_global_cleanup();
	return check_summary("capi");
}
