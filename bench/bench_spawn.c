/*
 * bench_spawn.c - time fresh processes that print a token, the same way for every tool.
 *
 *   bench_spawn seq N WARMUP DIR -- [NAME=VALUE...] COMMAND [ARG...]
 *       Runs COMMAND WARMUP times untimed, then N times one after another,
 *       reading its standard output through a pipe as $(COMMAND) would.
 *       Prints {"runs":N,"ok":K,"us":[...],"failure":"..."}: the wall time
 *       of each run from spawn to exit, in microseconds.
 *   bench_spawn seq-any N WARMUP DIR -- [NAME=VALUE...] COMMAND [ARG...]
 *       The same for reference programs and downloads: exit status 0 is
 *       enough (the caller checks DIR/last.out).
 *   bench_spawn herd N DIR -- [NAME=VALUE...] COMMAND [ARG...]
 *       Forks N children that wait on one pipe, then lets them all exec
 *       COMMAND at the same moment.  Prints {"n":N,"ok":K,"wall_ms":W,
 *       "p50_ms":..,"max_ms":..,"failure":"..."}.
 *
 * A run counts as ok when it exits 0 and its first output line is a JWT
 * (three base64url parts).  Standard error goes to DIR (err.txt, err.I); the
 * last good output of seq is left in DIR/last.out for the caller to check
 * (the first 4 MiB of it).  NAME=VALUE words before COMMAND are set in the
 * child's environment only, as env(1) would, so that for instance LD_PRELOAD
 * reaches the measured program and not bench_spawn itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OUT_CAP  (4 << 20)
#define MAX_RUNS 100000
#define MAX_HERD 1000
#define PATH_CAP 4096

extern char **environ;

/* The children's environment: ours, with the NAME=VALUE words of the command line. */
static char **child_env = NULL;

/* NAME=VALUE, NAME a shell variable name. */
static bool is_assignment(const char *s)
{
	size_t i = 0;

	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
		return false;
	while ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
	       s[i] == '_')
		i++;
	return s[i] == '=';
}

/* Consumes the leading NAME=VALUE words of cmd; returns the command itself. */
static char **take_assignments(char **cmd)
{
	size_t n_env = 0, n_set = 0, k = 0;

	while (cmd[n_set] != NULL && is_assignment(cmd[n_set]))
		n_set++;
	while (environ[n_env] != NULL)
		n_env++;
	if ((child_env = calloc(n_env + n_set + 1, sizeof(char *))) == NULL) {
		fprintf(stderr, "bench_spawn: out of memory\n");
		exit(1);
	}
	for (size_t i = 0; i < n_env; i++) {
		size_t name = strcspn(environ[i], "=");
		bool replaced = false;
		for (size_t j = 0; j < n_set; j++)
			replaced |= strncmp(cmd[j], environ[i], name + 1) == 0;
		if (!replaced)
			child_env[k++] = environ[i];
	}
	for (size_t j = 0; j < n_set; j++)
		child_env[k++] = cmd[j];
	if (cmd[n_set] == NULL) {
		fprintf(stderr, "bench_spawn: no command after the NAME=VALUE words\n");
		exit(2);
	}
	return cmd + n_set;
}

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* The first line is header.payload.signature in base64url. */
static bool looks_like_jwt(const char *s, size_t len)
{
	int dots = 0;
	size_t seg = 0, i;

	for (i = 0; i < len && s[i] != '\n'; i++) {
		char c = s[i];
		if (c == '.') {
			if (seg == 0)
				return false;
			dots++;
			seg = 0;
		} else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		           c == '-' || c == '_') {
			seg++;
		} else {
			return false;
		}
	}
	return dots == 2 && seg > 0 && i >= 40;
}

static void describe(char *buf, size_t cap, int status, bool token)
{
	if (WIFSIGNALED(status))
		snprintf(buf, cap, "killed by signal %d", WTERMSIG(status));
	else if (WEXITSTATUS(status) != 0)
		snprintf(buf, cap, "exit status %d", WEXITSTATUS(status));
	else if (!token)
		snprintf(buf, cap, "exit status 0 but no token on standard output");
	else
		buf[0] = '\0';
}

static long parse_count(const char *s, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max) {
		fprintf(stderr, "bench_spawn: %s must be a number from 0 to %ld\n", what, max);
		exit(2);
	}
	return v;
}

static void path_in(char *buf, const char *dir, const char *name)
{
	if (snprintf(buf, PATH_CAP, "%s/%s", dir, name) >= PATH_CAP) {
		fprintf(stderr, "bench_spawn: directory name too long\n");
		exit(2);
	}
}

/* One run: spawn, read stdout to EOF, reap.  Returns the wall time in µs; *ok and `why` say how it went. */
static double run_once(char **cmd, const char *dir, bool any, char *out, size_t *out_len, bool *ok, char *why,
                       size_t why_cap)
{
	posix_spawn_file_actions_t fa;
	char errpath[PATH_CAP];
	int fds[2], status = 0;
	pid_t pid;
	double t0, t1;
	size_t len = 0;
	ssize_t n;
	char sink[4096];

	path_in(errpath, dir, "err.txt");
	if (pipe2(fds, O_CLOEXEC) != 0) {
		perror("bench_spawn: pipe");
		exit(1);
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	t0 = now_us();
	if ((errno = posix_spawnp(&pid, cmd[0], &fa, NULL, cmd, child_env)) != 0) {
		fprintf(stderr, "bench_spawn: cannot run %s: %s\n", cmd[0], strerror(errno));
		exit(1);
	}
	close(fds[1]);
	for (;;) {
		if (len < OUT_CAP)
			n = read(fds[0], out + len, OUT_CAP - len);
		else
			n = read(fds[0], sink, sizeof(sink));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len < OUT_CAP)
			len += (size_t)n;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	t1 = now_us();
	close(fds[0]);
	posix_spawn_file_actions_destroy(&fa);
	*ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && (any || looks_like_jwt(out, len));
	describe(why, why_cap, status, any || looks_like_jwt(out, len));
	*out_len = len;
	return t1 - t0;
}

static void save(const char *dir, const char *name, const char *data, size_t len)
{
	char path[PATH_CAP];
	FILE *f;

	path_in(path, dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return;
	fwrite(data, 1, len, f);
	fclose(f);
}

static void copy_file(const char *dir, const char *from, const char *to)
{
	char path[PATH_CAP], buf[8192];
	size_t n;
	FILE *f;

	path_in(path, dir, from);
	if ((f = fopen(path, "r")) == NULL)
		return;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	save(dir, to, buf, n);
}

static int cmd_seq(long runs, long warmup, const char *dir, bool any, char **cmd)
{
	char *out = malloc(OUT_CAP);
	double *us = calloc((size_t)runs + 1, sizeof(double));
	char why[128], failure[128] = "";
	long ok_count = 0;
	size_t len;
	bool ok;

	if (out == NULL || us == NULL) {
		fprintf(stderr, "bench_spawn: out of memory\n");
		return 1;
	}
	for (long i = 0; i < warmup + runs; i++) {
		double t = run_once(cmd, dir, any, out, &len, &ok, why, sizeof(why));
		if (ok) {
			save(dir, "last.out", out, len);
		} else if (failure[0] == '\0') {
			snprintf(failure, sizeof(failure), "%s", why);
			copy_file(dir, "err.txt", "first-failure.txt");
		}
		if (i < warmup)
			continue;
		us[i - warmup] = t;
		ok_count += ok;
	}
	printf("{\"runs\":%ld,\"ok\":%ld,\"failure\":\"%s\",\"us\":[", runs, ok_count, failure);
	for (long i = 0; i < runs; i++)
		printf("%s%.1f", i ? "," : "", us[i]);
	printf("]}\n");
	free(out);
	free(us);
	return 0;
}

/* A child of the herd: wait for the start signal, then become COMMAND. */
static void herd_child(int go, long i, const char *dir, char **cmd)
{
	char name[64], path[PATH_CAP], c;
	int fd;

	snprintf(name, sizeof(name), "out.%ld", i);
	path_in(path, dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 || dup2(fd, 1) < 0)
		_exit(126);
	close(fd);
	snprintf(name, sizeof(name), "err.%ld", i);
	path_in(path, dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0 || dup2(fd, 2) < 0)
		_exit(126);
	close(fd);
	if ((fd = open("/dev/null", O_RDONLY)) < 0 || dup2(fd, 0) < 0)
		_exit(126);
	close(fd);
	while (read(go, &c, 1) < 0 && errno == EINTR)
		;
	environ = child_env;
	execvp(cmd[0], cmd);
	_exit(127);
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static bool herd_output_ok(const char *dir, long i)
{
	char name[64], path[PATH_CAP], buf[65536];
	size_t n;
	FILE *f;

	snprintf(name, sizeof(name), "out.%ld", i);
	path_in(path, dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	return looks_like_jwt(buf, n);
}

static int cmd_herd(long n, const char *dir, char **cmd)
{
	pid_t pids[MAX_HERD];
	double end[MAX_HERD], t0, t1;
	int status[MAX_HERD], go[2];
	char why[128], failure[160] = "";
	long ok_count = 0, left = n;

	if (pipe2(go, O_CLOEXEC) != 0) {
		perror("bench_spawn: pipe");
		return 1;
	}
	fflush(stdout);
	for (long i = 0; i < n; i++) {
		if ((pids[i] = fork()) < 0) {
			perror("bench_spawn: fork");
			return 1;
		}
		if (pids[i] == 0) {
			close(go[1]);
			herd_child(go[0], i, dir, cmd);
		}
	}
	close(go[0]);
	usleep(100000); /* let every child reach its read() */
	t0 = now_us();
	close(go[1]);
	while (left > 0) {
		int st;
		pid_t p = waitpid(-1, &st, 0);
		if (p < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (long i = 0; i < n; i++) {
			if (pids[i] == p) {
				end[i] = now_us() - t0;
				status[i] = st;
				left--;
			}
		}
	}
	t1 = now_us();
	for (long i = 0; i < n; i++) {
		bool token = herd_output_ok(dir, i);
		bool ok = WIFEXITED(status[i]) && WEXITSTATUS(status[i]) == 0 && token;
		ok_count += ok;
		if (!ok && failure[0] == '\0') {
			describe(why, sizeof(why), status[i], token);
			snprintf(failure, sizeof(failure), "process %ld: %s", i, why);
		}
	}
	qsort(end, (size_t)n, sizeof(end[0]), by_value);
	printf("{\"n\":%ld,\"ok\":%ld,\"failure\":\"%s\",\"wall_ms\":%.1f,\"p50_ms\":%.1f,\"max_ms\":%.1f}\n",
	       n, ok_count, failure, (t1 - t0) / 1e3, end[n / 2] / 1e3, end[n - 1] / 1e3);
	return 0;
}

int main(int argc, char **argv)
{
	int dash = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			dash = i;
			break;
		}
	}
	if (dash == 5 && dash + 1 < argc && (strcmp(argv[1], "seq") == 0 || strcmp(argv[1], "seq-any") == 0))
		return cmd_seq(parse_count(argv[2], MAX_RUNS, "N"), parse_count(argv[3], MAX_RUNS, "WARMUP"),
		               argv[4], strcmp(argv[1], "seq-any") == 0, take_assignments(argv + dash + 1));
	if (dash == 4 && dash + 1 < argc && strcmp(argv[1], "herd") == 0) {
		long n = parse_count(argv[2], MAX_HERD, "N");
		if (n == 0) {
			fprintf(stderr, "bench_spawn: N must be at least 1\n");
			return 2;
		}
		return cmd_herd(n, argv[3], take_assignments(argv + dash + 1));
	}
	fprintf(stderr, "usage: bench_spawn seq|seq-any N WARMUP DIR -- [NAME=VALUE...] COMMAND [ARG...]\n"
	                "       bench_spawn herd N DIR -- [NAME=VALUE...] COMMAND [ARG...]\n");
	return 2;
}
