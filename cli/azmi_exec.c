/* azmi_exec.c - run a program (or curl) with the plug-in in LD_PRELOAD. */
#include "azmi_exec.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef AZMI_CURL_INSTALL_PATH
#define AZMI_CURL_INSTALL_PATH "/usr/local/lib/libazmi_curl.so.1"
#endif
#ifndef AZMI_MULTIARCH
#define AZMI_MULTIARCH ""
#endif
#define PLUGIN_NAME "libazmi_curl.so.1"

/* An absolute path to a regular file, usable in LD_PRELOAD (no ' ' or ':', which separate entries there). */
static int usable(const char *path)
{
	struct stat st;

	return path[0] == '/' && strpbrk(path, " :") == NULL && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* DIR/suffix into buf; false when it does not fit. */
static int join(char *buf, size_t len, const char *dir, const char *suffix)
{
	int n = snprintf(buf, len, "%s/%s", dir, suffix);

	return n > 0 && (size_t)n < len;
}

/* The plug-in's path into buf (PATH_MAX); 0 when found, else a message was printed. */
static int find_plugin(char *buf, size_t len)
{
	const char *env = getenv("AZMI_CURL_LIBRARY");
	char exe[PATH_MAX], *slash;
	ssize_t n;
	const char *near[] = {PLUGIN_NAME, "../lib/" PLUGIN_NAME, "../lib/" AZMI_MULTIARCH "/" PLUGIN_NAME};

	if (env != NULL && env[0] != '\0') {
		if (!usable(env) || strlen(env) >= len) {
			fprintf(stderr,
			        "azmi: AZMI_CURL_LIBRARY=%s is not an absolute path to a file "
			        "(without spaces or colons)\n",
			        env);
			return -1;
		}
		snprintf(buf, len, "%s", env);
		return 0;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		slash = strrchr(exe, '/');
		if (slash != NULL) {
			*slash = '\0';
			for (size_t i = 0; i < sizeof(near) / sizeof(near[0]); i++) {
				if (i == 2 && AZMI_MULTIARCH[0] == '\0')
					continue;
				if (join(buf, len, exe, near[i]) && usable(buf))
					return 0;
			}
		}
	}
	if (usable(AZMI_CURL_INSTALL_PATH) && strlen(AZMI_CURL_INSTALL_PATH) < len) {
		snprintf(buf, len, "%s", AZMI_CURL_INSTALL_PATH);
		return 0;
	}
	fprintf(stderr, "azmi: cannot find %s (set AZMI_CURL_LIBRARY, or install it to %s)\n", PLUGIN_NAME,
	        AZMI_CURL_INSTALL_PATH);
	return -1;
}

/* LD_PRELOAD = old + " " + plugin, unless the plug-in is already listed. */
static int set_preload(const char *plugin)
{
	const char *old = getenv("LD_PRELOAD");
	char *value;
	int r;

	if (old == NULL || old[0] == '\0')
		return setenv("LD_PRELOAD", plugin, 1);
	for (const char *p = old; *p != '\0';) {
		size_t n = strcspn(p, " :");
		if (n == strlen(plugin) && strncmp(p, plugin, n) == 0)
			return 0;
		p += n;
		p += strspn(p, " :");
	}
	if (asprintf(&value, "%s:%s", old, plugin) < 0)
		return -1;
	r = setenv("LD_PRELOAD", value, 1);
	free(value);
	return r;
}

int azmi_exec_main(int argc, char **argv, int curl_mode)
{
	static char curl_name[] = "curl";
	char plugin[PATH_MAX];
	char **args;
	int off = curl_mode ? 1 : 0;

	if (argc < 0 || (!curl_mode && (argc < 1 || argv[0] == NULL || argv[0][0] == '\0'))) {
		fprintf(stderr, "azmi: usage: azmi exec -- COMMAND [ARGS...]\n");
		return 2;
	}
	if (find_plugin(plugin, sizeof(plugin)) != 0)
		return 127;
	if (set_preload(plugin) != 0) {
		fprintf(stderr, "azmi: cannot set LD_PRELOAD: %s\n", strerror(errno));
		return 126;
	}
	args = calloc((size_t)argc + 2, sizeof(*args));
	if (args == NULL) {
		fprintf(stderr, "azmi: out of memory\n");
		return 126;
	}
	if (curl_mode)
		args[0] = curl_name;
	for (int i = 0; i < argc; i++)
		args[i + off] = argv[i];
	execvp(args[0], args);
	fprintf(stderr, "azmi: cannot run %s: %s\n", args[0], strerror(errno));
	free(args);
	return errno == ENOENT ? 127 : 126;
}
