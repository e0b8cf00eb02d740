/*
 * plugin.c - process-wide set-up of the curl plug-in: the real libcurl entry
 * points, the token context, the settings from the configuration file, and
 * the one stderr line.
 */
#include "plugin.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "http_fns.h"
#include "plugin_settings.h"

struct real_curl real;
__thread int plugin_busy;

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool init_ok;
static atomic_bool installed;
static atomic_bool warned;
static bool strict;
static void *self_base;

static void self_marker(void)
{
}

/* True when `p` lies in this library (a hook, not libcurl). */
static bool in_self(void *p)
{
	Dl_info info;

	return p != NULL && dladdr(p, &info) != 0 && info.dli_fbase == self_base;
}

/*
 * The libcurl definition of `name`: the next one after this library (what the
 * application would have called), else the first one in the process that is
 * not ours, else the one in the libcurl this library was linked against.
 */
static void *resolve(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == NULL || in_self(p))
		p = dlsym(RTLD_DEFAULT, name);
	if (p == NULL || in_self(p)) {
		void *lib = dlopen("libcurl.so.4", RTLD_LAZY | RTLD_NOLOAD);
		p = lib ? dlsym(lib, name) : NULL;
		if (lib)
			dlclose(lib);
	}
	return in_self(p) ? NULL : p;
}

/* True when this library was loaded through LD_PRELOAD (then the hooks are on by themselves). */
static bool preloaded(void)
{
	const char *pre = getenv("LD_PRELOAD");
	const char *mine, *slash;
	Dl_info info;
	size_t mlen;

	if (pre == NULL || dladdr((void *)self_marker, &info) == 0 || info.dli_fname == NULL)
		return false;
	slash = strrchr(info.dli_fname, '/');
	mine = slash ? slash + 1 : info.dli_fname;
	mlen = strlen(mine);
	while (*pre != '\0') {
		size_t n = strcspn(pre, " :");
		const char *base = pre;
		for (size_t i = 0; i < n; i++)
			if (pre[i] == '/')
				base = pre + i + 1;
		if ((size_t)(pre + n - base) == mlen && strncmp(base, mine, mlen) == 0)
			return true;
		pre += n;
		pre += strspn(pre, " :");
	}
	return false;
}

#define RESOLVE(field, name) (real.field = (__typeof__(real.field))resolve(name)) != NULL

static void do_init(void)
{
	static struct http_curl_fns fns;
	Dl_info info;
	const char *s;

	if (dladdr((void *)self_marker, &info) != 0)
		self_base = info.dli_fbase;
	init_ok = RESOLVE(easy_setopt, "curl_easy_setopt") && RESOLVE(easy_perform, "curl_easy_perform") &&
	          RESOLVE(multi_add_handle, "curl_multi_add_handle") &&
	          RESOLVE(easy_duphandle, "curl_easy_duphandle") && RESOLVE(easy_reset, "curl_easy_reset") &&
	          RESOLVE(easy_cleanup, "curl_easy_cleanup") && RESOLVE(easy_init, "curl_easy_init") &&
	          RESOLVE(easy_getinfo, "curl_easy_getinfo") && RESOLVE(slist_append, "curl_slist_append") &&
	          RESOLVE(slist_free_all, "curl_slist_free_all") && RESOLVE(url, "curl_url") &&
	          RESOLVE(url_set, "curl_url_set") && RESOLVE(url_get, "curl_url_get") &&
	          RESOLVE(url_cleanup, "curl_url_cleanup") && RESOLVE(free, "curl_free");
	if (!init_ok)
		return;
	fns.easy_init = real.easy_init;
	fns.easy_setopt = real.easy_setopt;
	fns.easy_perform = real.easy_perform;
	fns.easy_getinfo = real.easy_getinfo;
	fns.easy_cleanup = real.easy_cleanup;
	fns.slist_append = real.slist_append;
	fns.slist_free_all = real.slist_free_all;
	/* Optional: the application has initialised its libcurl; messages fall back to numbers. */
	fns.easy_strerror = (const char *(*)(CURLcode))resolve("curl_easy_strerror");
	real.header = (__typeof__(real.header))resolve("curl_easy_header");
	http_set_curl_functions(&fns);
	/* A fork while another thread holds the table lock must not leave the child's hooks stuck. */
	pthread_atfork(handles_lock, handles_unlock, handles_unlock);
	s = secure_getenv("AZMI_CURL_STRICT");
	strict = s != NULL && strcmp(s, "1") == 0;
	if (preloaded())
		atomic_store(&installed, true);
}

bool plugin_init(void)
{
	pthread_once(&init_once, do_init);
	return init_ok;
}

bool plugin_installed(void)
{
	return atomic_load(&installed);
}

void plugin_set_installed(void)
{
	atomic_store(&installed, true);
}

bool plugin_strict(void)
{
	return strict;
}

void plugin_warn_once(const char *line)
{
	char buf[1200];
	size_t n = 0;

	if (atomic_exchange(&warned, true))
		return;
	/* One line: printable characters only, whatever the message held. */
	for (; line[n] != '\0' && n + 2 < sizeof(buf); n++)
		buf[n] = (line[n] >= 0x20 && line[n] < 0x7f) ? line[n] : ' ';
	buf[n++] = '\n';
	if (write(STDERR_FILENO, buf, n) < 0) {
		/* Nothing more can be done: the library never fails a transfer for its own log line. */
	}
}
