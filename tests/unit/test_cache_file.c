/* test_cache_file.c - the cross-process token cache: file format, and the safety checks on directory and files. */
#include "unit.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cache_file.h"
#include "token.h"
#include "util.h"

#define TOKEN "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.c2lnbmF0dXJl"

/* ---- a log hook that remembers warnings ---------------------------------------------------- */

struct captured {
	int warnings;
	char last[1024];
};

static void capture(void *userdata, enum azmi_log_level level, const char *line)
{
	struct captured *c = userdata;

	if (level <= AZMI_LOG_WARNING) {
		c->warnings++;
		snprintf(c->last, sizeof(c->last), "%s", line);
	}
}

struct fixture {
	char *root; /* private temporary directory */
	char *dir;  /* the cache directory inside it */
	struct captured log;
	struct log_sink sink;
	struct file_cache fc;
	int64_t now;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->root = unit_tmpdir()) == NULL)
		return -1;
	f->dir = unit_path(f->root, "cache");
	f->sink.fn = capture;
	f->sink.userdata = &f->log;
	f->fc.dirfd = -1;
	f->now = (int64_t)time(NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	file_cache_close(&f->fc);
	unit_rmtree(f->root);
	free(f->root);
	free(f->dir);
	free(f);
	return 0;
}

static const struct cache_key key_system = {"imds", AZMI_ID_SYSTEM, NULL, "https://storage.azure.com"};
static const struct cache_key key_client = {"imds", AZMI_ID_CLIENT_ID, "11111111-2222-3333-4444-555555555555",
                                            "https://storage.azure.com"};

static struct azmi_token *new_token(const char *text, int64_t now, int64_t life, const struct cache_key *k)
{
	struct expiry x = {now + life, 0, 0};

	expiry_schedule(&x, now, -1);
	return token_new(text, strlen(text), &x, k->resource, k->source);
}

/* The path of the cache file for `k`. */
static char *file_for(const struct fixture *f, const struct cache_key *k)
{
	char name[41];

	file_cache_name(k, name);
	return unit_path(f->dir, name);
}

static void open_cache(struct fixture *f)
{
	file_cache_open(&f->fc, f->dir, &f->sink);
	assert_true(file_cache_enabled(&f->fc));
}

/* ---- file names ------------------------------------------------------------------------------ */

static void test_name(void **state)
{
	static const struct cache_key keys[] = {
	    {"imds", AZMI_ID_SYSTEM, NULL, "https://storage.azure.com"},
	    {"imds", AZMI_ID_SYSTEM, NULL, "https://vault.azure.net"},
	    {"appservice", AZMI_ID_SYSTEM, NULL, "https://storage.azure.com"},
	    {"imds", AZMI_ID_CLIENT_ID, "a", "https://storage.azure.com"},
	    {"imds", AZMI_ID_OBJECT_ID, "a", "https://storage.azure.com"},
	    {"imds", AZMI_ID_CLIENT_ID, "b", "https://storage.azure.com"},
	    {"imds", AZMI_ID_CLIENT_ID, "", "https://storage.azure.com"},
	    {"imds", AZMI_ID_CLIENT_ID, "ab", "c"},
	    {"imds", AZMI_ID_CLIENT_ID, "a", "bc"},
	};
	char names[sizeof(keys) / sizeof(keys[0])][41];

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		file_cache_name(&keys[i], names[i]);
		assert_int_equal(strlen(names[i]), 40);
		assert_int_equal(strspn(names[i], "0123456789abcdef"), 40);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(names[i], names[j]);
	}
	char again[41];
	file_cache_name(&keys[0], again);
	assert_string_equal(again, names[0]);
}

/* ---- store and load -------------------------------------------------------------------------- */

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	struct azmi_token *tok, *back;
	struct stat st;
	char *path, *text;
	size_t len;

	open_cache(f);
	tok = new_token(TOKEN, f->now, 3600, &key_client);
	assert_int_equal(file_cache_store(&f->fc, &key_client, tok), AZMI_OK);
	path = file_for(f, &key_client);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());

	back = file_cache_load(&f->fc, &key_client, f->now);
	assert_non_null(back);
	assert_string_equal(back->access_token, TOKEN);
	assert_int_equal(back->access_token_len, strlen(TOKEN));
	assert_int_equal(back->expires_on, tok->expires_on);
	assert_string_equal(back->resource, key_client.resource);
	assert_string_equal(back->source, key_client.source);
	assert_int_equal(token_expiry(back)->refresh_on, token_expiry(tok)->refresh_on);
	assert_int_equal(token_expiry(back)->stale_on, token_expiry(tok)->stale_on);
	azmi_token_release(back);

	/* the text parses on its own too, and only for its own key */
	text = unit_read_file(path, &len);
	assert_non_null(text);
	back = file_cache_parse(text, len, &key_client, f->now);
	assert_non_null(back);
	azmi_token_release(back);
	assert_null(file_cache_parse(text, len, &key_system, f->now));
	assert_null(file_cache_load(&f->fc, &key_system, f->now));

	/* no temporary file left behind; the directory holds just the one file */
	char *cmd = NULL;
	assert_true(asprintf(&cmd, "test $(ls -A '%s' | wc -l) -eq 1", f->dir) > 0);
	assert_int_equal(system(cmd), 0);
	free(cmd);

	/* a second store replaces the first */
	struct azmi_token *tok2 = new_token("second-token", f->now, 7200, &key_client);
	assert_int_equal(file_cache_store(&f->fc, &key_client, tok2), AZMI_OK);
	back = file_cache_load(&f->fc, &key_client, f->now);
	assert_non_null(back);
	assert_string_equal(back->access_token, "second-token");
	azmi_token_release(back);

	/* the system identity has its own file */
	assert_int_equal(file_cache_store(&f->fc, &key_system, tok), AZMI_OK);
	back = file_cache_load(&f->fc, &key_system, f->now);
	assert_non_null(back);
	assert_string_equal(back->access_token, TOKEN);
	azmi_token_release(back);

	assert_int_equal(f->log.warnings, 0);
	azmi_token_release(tok);
	azmi_token_release(tok2);
	free(text);
	free(path);
}

/* A missing file is simply a miss, without a warning; a disabled cache does nothing. */
static void test_missing_and_disabled(void **state)
{
	struct fixture *f = *state;
	struct file_cache off = {.dirfd = -1};
	struct azmi_token *tok = new_token(TOKEN, f->now, 3600, &key_system);

	open_cache(f);
	assert_null(file_cache_load(&f->fc, &key_system, f->now));
	assert_int_equal(f->log.warnings, 0);
	assert_false(file_cache_enabled(&off));
	assert_null(file_cache_load(&off, &key_system, f->now));
	assert_int_equal(file_cache_store(&off, &key_system, tok), AZMI_OK);
	assert_int_equal(file_cache_lock(&off, &key_system, util_mono_ms() + 100), -1);
	file_cache_unlock(-1);
	file_cache_close(&off);
	azmi_token_release(tok);
}

/* ---- file_cache_parse on edited texts ---------------------------------------------------------- */

/* A well-formed text for key_client with the given times, token and extra tail. */
static char *text_for(const struct cache_key *k, const char *source, const char *kind, const char *id,
                      const char *resource, const char *exp, const char *refresh, const char *stale,
                      const char *token, const char *tail)
{
	char *t = NULL;

	if (asprintf(
	        &t,
	        "azmi-token-cache 1\nsource %s\nkind %s\nid %s\nresource %s\nexpires_on %s\nrefresh_on %s\n"
	        "stale_on %s\ntoken %s%s",
	        source ? source : k->source, kind ? kind : "2", id ? id : k->id,
	        resource ? resource : k->resource, exp, refresh, stale, token, tail) < 0)
		return NULL;
	return t;
}

static void test_parse_edits(void **state)
{
	struct fixture *f = *state;
	const int64_t now = f->now;
	char e[32], r[32], s[32], e_far[32], s_past[32], r_late[32];
	int fails = 0;

	snprintf(e, sizeof(e), "%lld", (long long)(now + 3600));
	snprintf(r, sizeof(r), "%lld", (long long)(now + 3000));
	snprintf(s, sizeof(s), "%lld", (long long)(now + 3300));
	snprintf(e_far, sizeof(e_far), "%lld", (long long)(now + 8 * 86400));
	snprintf(s_past, sizeof(s_past), "%lld", (long long)now);
	snprintf(r_late, sizeof(r_late), "%lld", (long long)(now + 3400));

	struct {
		const char *what;
		char *text;
		bool ok;
	} rows[] = {
	    {"valid", text_for(&key_client, NULL, NULL, NULL, NULL, e, r, s, TOKEN, "\n"), true},
	    {"refresh due but not stale",
	     text_for(&key_client, NULL, NULL, NULL, NULL, e, s_past, s, TOKEN, "\n"), true},
	    /* key mismatch, field by field */
	    {"other source", text_for(&key_client, "appservice", NULL, NULL, NULL, e, r, s, TOKEN, "\n"),
	     false},
	    {"other kind", text_for(&key_client, NULL, "3", NULL, NULL, e, r, s, TOKEN, "\n"), false},
	    {"kind as a word", text_for(&key_client, NULL, "client_id", NULL, NULL, e, r, s, TOKEN, "\n"),
	     false},
	    {"other id",
	     text_for(&key_client, NULL, NULL, "11111111-2222-3333-4444-555555555556", NULL, e, r, s, TOKEN,
	              "\n"),
	     false},
	    {"id prefix",
	     text_for(&key_client, NULL, NULL, "11111111-2222-3333-4444", NULL, e, r, s, TOKEN, "\n"), false},
	    {"id with suffix",
	     text_for(&key_client, NULL, NULL, "11111111-2222-3333-4444-555555555555x", NULL, e, r, s, TOKEN,
	              "\n"),
	     false},
	    {"system id", text_for(&key_client, NULL, NULL, "-", NULL, e, r, s, TOKEN, "\n"), false},
	    {"other resource",
	     text_for(&key_client, NULL, NULL, NULL, "https://vault.azure.net", e, r, s, TOKEN, "\n"), false},
	    {"resource with slash",
	     text_for(&key_client, NULL, NULL, NULL, "https://storage.azure.com/", e, r, s, TOKEN, "\n"),
	     false},
	    /* times */
	    {"stale now", text_for(&key_client, NULL, NULL, NULL, NULL, e, r, s_past, TOKEN, "\n"), false},
	    {"expired", text_for(&key_client, NULL, NULL, NULL, NULL, s_past, s_past, s_past, TOKEN, "\n"),
	     false},
	    {"refresh_on > stale_on",
	     text_for(&key_client, NULL, NULL, NULL, NULL, e, r_late, s, TOKEN, "\n"), false},
	    {"stale_on > expires_on", text_for(&key_client, NULL, NULL, NULL, NULL, s, r, e, TOKEN, "\n"),
	     false},
	    {"lifetime over 7 days", text_for(&key_client, NULL, NULL, NULL, NULL, e_far, r, s, TOKEN, "\n"),
	     false},
	    /* malformed numbers */
	    {"letters", text_for(&key_client, NULL, NULL, NULL, NULL, "soon", r, s, TOKEN, "\n"), false},
	    {"negative", text_for(&key_client, NULL, NULL, NULL, NULL, e, "-1", s, TOKEN, "\n"), false},
	    {"plus sign", text_for(&key_client, NULL, NULL, NULL, NULL, e, r, "+1700000000", TOKEN, "\n"),
	     false},
	    {"empty number", text_for(&key_client, NULL, NULL, NULL, NULL, e, "", s, TOKEN, "\n"), false},
	    {"two spaces", text_for(&key_client, NULL, NULL, NULL, NULL, e, r, " 1", TOKEN, "\n"), false},
	    {"fraction", text_for(&key_client, NULL, NULL, NULL, NULL, "1700003600.5", r, s, TOKEN, "\n"),
	     false},
	    {"exponent", text_for(&key_client, NULL, NULL, NULL, NULL, "1.7e9", r, s, TOKEN, "\n"), false},
	    {"overflow",
	     text_for(&key_client, NULL, NULL, NULL, NULL, "99999999999999999999999", r, s, TOKEN, "\n"),
	     false},
	    /* the token line and the end of the text */
	    {"missing final newline", text_for(&key_client, NULL, NULL, NULL, NULL, e, r, s, TOKEN, ""),
	     false},
	    {"extra data", text_for(&key_client, NULL, NULL, NULL, NULL, e, r, s, TOKEN, "\nmore\n"), false},
	    {"extra newline", text_for(&key_client, NULL, NULL, NULL, NULL, e, r, s, TOKEN, "\n\n"), false},
	    {"CRLF", text_for(&key_client, NULL, NULL, NULL, NULL, e, r, s, TOKEN, "\r\n"), false},
	    {"empty token", text_for(&key_client, NULL, NULL, NULL, NULL, e, r, s, "", "\n"), false},
	    {"token with a space", text_for(&key_client, NULL, NULL, NULL, NULL, e, r, s, "abc def", "\n"),
	     false},
	    {"token with a control", text_for(&key_client, NULL, NULL, NULL, NULL, e, r, s, "abc\001", "\n"),
	     false},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct azmi_token *tok;

		assert_non_null(rows[i].text);
		tok = file_cache_parse(rows[i].text, strlen(rows[i].text), &key_client, now);
		CHECK(fails, (tok != NULL) == rows[i].ok, "%s: %s", rows[i].what,
		      tok ? "accepted" : "refused");
		if (tok) {
			CHECK(fails, strcmp(tok->access_token, TOKEN) == 0, "%s: wrong token", rows[i].what);
			azmi_token_release(tok);
		}
		free(rows[i].text);
	}
	TABLE_DONE(fails);
}

/* Structural damage: wrong magic, fields out of order or missing, truncation at every byte. */
static void test_parse_structure(void **state)
{
	struct fixture *f = *state;
	char *good = NULL;
	int fails = 0;

	assert_true(
	    asprintf(&good,
	             "azmi-token-cache 1\nsource imds\nkind 1\nid -\nresource https://storage.azure.com\n"
	             "expires_on %lld\nrefresh_on %lld\nstale_on %lld\ntoken %s\n",
	             (long long)(f->now + 3600), (long long)(f->now + 3300), (long long)(f->now + 3300),
	             TOKEN) > 0);
	struct azmi_token *tok = file_cache_parse(good, strlen(good), &key_system, f->now);
	assert_non_null(tok);
	azmi_token_release(tok);

	/* every proper prefix is refused */
	for (size_t len = 0; len < strlen(good); len++) {
		tok = file_cache_parse(good, len, &key_system, f->now);
		CHECK(fails, tok == NULL, "prefix of %zu bytes accepted", len);
		azmi_token_release(tok);
	}

	static const char *const bad[] = {
	    "",
	    "azmi-token-cache 1",
	    "azmi-token-cache 1\n",
	    "azmi-token-cache 2\nsource imds\n",
	    "azmi-token-cache 1 \nsource imds\n",
	    "AZMI-TOKEN-CACHE 1\nsource imds\n",
	    "azmi-token-cache 1\nkind 0\nsource imds\nid -\nresource https://storage.azure.com\n",
	    "azmi-token-cache 1\nsource imds\nkind 0\nresource https://storage.azure.com\n",
	    "azmi-token-cache 1\nsource  imds\nkind 0\nid -\n",
	    "azmi-token-cache 1\nsource\timds\nkind 0\nid -\n",
	    "azmi-token-cache 1\nsourceimds\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tok = file_cache_parse(bad[i], strlen(bad[i]), &key_system, f->now);
		CHECK(fails, tok == NULL, "\"%s\" accepted", unit_show(bad[i], strlen(bad[i])));
		azmi_token_release(tok);
	}
	free(good);
	TABLE_DONE(fails);
}

/* ---- the directory --------------------------------------------------------------------------- */

static void expect_dir_refused(struct fixture *f, const char *dir, const char *why)
{
	struct file_cache fc;

	f->log.warnings = 0;
	f->log.last[0] = '\0';
	file_cache_open(&fc, dir, &f->sink);
	if (file_cache_enabled(&fc) || f->log.warnings != 1 || (why && strstr(f->log.last, why) == NULL))
		print_error("dir %s: enabled %d, warnings %d, last \"%s\" (want \"%s\")\n", dir,
		            file_cache_enabled(&fc), f->log.warnings, f->log.last, why ? why : "");
	assert_false(file_cache_enabled(&fc));
	assert_int_equal(f->log.warnings, 1);
	if (why)
		assert_non_null(strstr(f->log.last, why));
	/* a store into a refused cache is a no-op, a load a miss */
	struct azmi_token *tok = new_token(TOKEN, f->now, 3600, &key_system);
	assert_int_equal(file_cache_store(&fc, &key_system, tok), AZMI_OK);
	assert_null(file_cache_load(&fc, &key_system, f->now));
	azmi_token_release(tok);
	file_cache_close(&fc);
}

static void test_dir_created(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	mode_t old = umask(0);

	file_cache_open(&f->fc, f->dir, &f->sink);
	umask(old);
	assert_true(file_cache_enabled(&f->fc));
	assert_int_equal(stat(f->dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(f->log.warnings, 0);
	/* an existing private directory is used as it is */
	file_cache_close(&f->fc);
	open_cache(f);
}

static void test_dir_unsafe(void **state)
{
	struct fixture *f = *state;
	char *good = unit_path(f->root, "good"), *link = unit_path(f->root, "link"),
	     *file = unit_path(f->root, "file");
	char *missing_parent = unit_path(f->root, "no/such/dir");

	assert_int_equal(mkdir(f->dir, 0700), 0);
	assert_int_equal(chmod(f->dir, 0755), 0);
	expect_dir_refused(f, f->dir, "0755");
	assert_int_equal(chmod(f->dir, 0750), 0);
	expect_dir_refused(f, f->dir, "group or others");
	assert_int_equal(chmod(f->dir, 0701), 0);
	expect_dir_refused(f, f->dir, "group or others");
	assert_int_equal(chmod(f->dir, 01777), 0);
	expect_dir_refused(f, f->dir, NULL);
	assert_int_equal(chmod(f->dir, 0700), 0);
	if (unit_is_root()) {
		assert_int_equal(chown(f->dir, 65534, 65534), 0);
		expect_dir_refused(f, f->dir, "another user");
		assert_int_equal(chown(f->dir, 0, 0), 0);
	}
	/* a symbolic link to a good directory */
	assert_int_equal(mkdir(good, 0700), 0);
	assert_int_equal(symlink(good, link), 0);
	expect_dir_refused(f, link, "symbolic link");
	/* not a directory */
	assert_int_equal(unit_write_file(file, "x", 1, 0600), 0);
	expect_dir_refused(f, file, "not a directory");
	/* cannot be created */
	expect_dir_refused(f, missing_parent, "cannot be created");
	free(good);
	free(link);
	free(file);
	free(missing_parent);
}

static void test_default_dir(void **state)
{
	char *d = file_cache_default_dir();

	(void)state;
	assert_non_null(d);
	if (geteuid() == 0)
		assert_string_equal(d, "/run/azmi");
	else
		assert_true(d[0] == '/');
	free(d);
}

/* ---- the file -------------------------------------------------------------------------------- */

/* Store a good token for key_system, then let `spoil` change the file; the load must miss. */
static void expect_file_refused(struct fixture *f, const char *why)
{
	struct azmi_token *tok;

	f->log.warnings = 0;
	f->log.last[0] = '\0';
	tok = file_cache_load(&f->fc, &key_system, f->now);
	if (tok != NULL || (why && strstr(f->log.last, why) == NULL))
		print_error("load: %s, last warning \"%s\" (want \"%s\")\n", tok ? "accepted" : "refused",
		            f->log.last, why ? why : "");
	assert_null(tok);
	if (why) {
		assert_int_equal(f->log.warnings, 1);
		assert_non_null(strstr(f->log.last, why));
	}
}

static void store_good(struct fixture *f)
{
	struct azmi_token *tok = new_token(TOKEN, f->now, 3600, &key_system);

	assert_int_equal(file_cache_store(&f->fc, &key_system, tok), AZMI_OK);
	azmi_token_release(tok);
	tok = file_cache_load(&f->fc, &key_system, f->now);
	assert_non_null(tok);
	azmi_token_release(tok);
}

static void test_file_unsafe(void **state)
{
	struct fixture *f = *state;
	char *path, *elsewhere = unit_path(f->root, "elsewhere"), *text;
	size_t len;

	open_cache(f);
	path = file_for(f, &key_system);

	/* group- or world-readable */
	store_good(f);
	assert_int_equal(chmod(path, 0644), 0);
	expect_file_refused(f, "group or others");
	assert_int_equal(chmod(path, 0640), 0);
	expect_file_refused(f, "group or others");
	assert_int_equal(chmod(path, 0602), 0);
	expect_file_refused(f, "group or others");

	/* owned by another user */
	if (unit_is_root()) {
		store_good(f);
		assert_int_equal(chown(path, 65534, 65534), 0);
		expect_file_refused(f, "another user");
	}

	/* a symbolic link to a good file outside */
	store_good(f);
	text = unit_read_file(path, &len);
	assert_non_null(text);
	assert_int_equal(unit_write_file(elsewhere, text, len, 0600), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(symlink(elsewhere, path), 0);
	expect_file_refused(f, "symbolic link");
	/* storing replaces the link by a file, and leaves its target alone */
	store_good(f);
	struct stat st;
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	char *after = unit_read_file(elsewhere, NULL);
	assert_string_equal(after, text);
	free(after);

	/* larger than 64 KiB, even if well-formed at the start */
	char *big = malloc(CACHE_FILE_MAX_BYTES + len + 1);
	assert_non_null(big);
	memcpy(big, text, len);
	memset(big + len, '\n', CACHE_FILE_MAX_BYTES + 1 - len);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(unit_write_file(path, big, CACHE_FILE_MAX_BYTES + 1, 0600), 0);
	expect_file_refused(f, "too large");
	free(big);

	/* a directory or a FIFO in its place (no hang on the FIFO) */
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkdir(path, 0700), 0);
	expect_file_refused(f, "not a regular file");
	assert_int_equal(rmdir(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	expect_file_refused(f, "not a regular file");
	assert_int_equal(unlink(path), 0);

	/* corrupt: a miss without a warning, and replaced by the next store */
	assert_int_equal(unit_write_file(path, "garbage\n", 8, 0600), 0);
	expect_file_refused(f, NULL);
	assert_int_equal(f->log.warnings, 0);
	store_good(f);

	/* a stale file is a miss */
	struct azmi_token *tok = file_cache_load(&f->fc, &key_system, f->now + 3300);
	assert_null(tok);

	free(text);
	free(path);
	free(elsewhere);
}

/* The lock excludes a second holder until released, and gives up at the deadline. */
static void test_lock(void **state)
{
	struct fixture *f = *state;
	int a, b;
	int64_t t0;
	struct stat st;
	char name[41], *lockpath;

	open_cache(f);
	a = file_cache_lock(&f->fc, &key_system, util_mono_ms() + 1000);
	assert_true(a >= 0);
	file_cache_name(&key_system, name);
	lockpath = NULL;
	assert_true(asprintf(&lockpath, "%s/%s.lock", f->dir, name) > 0);
	assert_int_equal(lstat(lockpath, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	t0 = util_mono_ms();
	b = file_cache_lock(&f->fc, &key_system, t0 + 150);
	assert_int_equal(b, -1);
	assert_in_range(util_mono_ms() - t0, 100, 1000);
	/* another key is not blocked */
	b = file_cache_lock(&f->fc, &key_client, util_mono_ms() + 100);
	assert_true(b >= 0);
	file_cache_unlock(b);
	file_cache_unlock(a);
	b = file_cache_lock(&f->fc, &key_system, util_mono_ms() + 100);
	assert_true(b >= 0);
	file_cache_unlock(b);

	/* an unsafe lock file is refused */
	assert_int_equal(chmod(lockpath, 0644), 0);
	f->log.warnings = 0;
	assert_int_equal(file_cache_lock(&f->fc, &key_system, util_mono_ms() + 100), -1);
	assert_int_equal(f->log.warnings, 1);
	assert_int_equal(unlink(lockpath), 0);
	assert_int_equal(symlink("/etc/passwd", lockpath), 0);
	assert_int_equal(file_cache_lock(&f->fc, &key_system, util_mono_ms() + 100), -1);
	free(lockpath);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name),
	    cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_and_disabled, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parse_edits, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_parse_structure, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dir_created, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dir_unsafe, setup, teardown),
	    cmocka_unit_test(test_default_dir),
	    cmocka_unit_test_setup_teardown(test_file_unsafe, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lock, setup, teardown),
	};

	return cmocka_run_group_tests_name("cache_file", tests, NULL, NULL);
}
