/*
 * bench_serve.c - load for `azmi serve`: THREADS clients ask for the same
 * cached token over and over for SECONDS, one connection per request (as
 * the SDKs' clients do with Connection: close), and the answers are checked
 * to be 200s carrying a token.
 *
 *   BENCH_SECRET=... bench_serve PORT THREADS SECONDS RESOURCE
 * prints {"requests":N,"errors":N,"seconds":S,"rps":R}.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct job {
	int port;
	double end;
	const char *request;
	long ok, errors;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one_request(const struct job *j)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)j->port)};
	char buf[16384];
	size_t len = 0;
	ssize_t n;
	int fd = socket(AF_INET, SOCK_STREAM, 0), ok = 0;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return 0;
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    send(fd, j->request, strlen(j->request), MSG_NOSIGNAL) == (ssize_t)strlen(j->request)) {
		while (len < sizeof(buf) - 1 && (n = recv(fd, buf + len, sizeof(buf) - 1 - len, 0)) > 0)
			len += (size_t)n;
		buf[len] = '\0';
		ok = strncmp(buf, "HTTP/1.1 200 ", 13) == 0 && strstr(buf, "\"access_token\":\"ey") != NULL;
	}
	close(fd);
	return ok;
}

static void *worker(void *arg)
{
	struct job *j = arg;

	while (now() < j->end) {
		if (one_request(j))
			j->ok++;
		else
			j->errors++;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	const char *secret = getenv("BENCH_SECRET");
	char request[4096];
	long threads, ok = 0, errors = 0;
	double seconds, start;

	if (argc != 5 || secret == NULL) {
		fprintf(stderr, "usage: BENCH_SECRET=... bench_serve PORT THREADS SECONDS RESOURCE\n");
		return 2;
	}
	threads = strtol(argv[2], NULL, 10);
	seconds = strtod(argv[3], NULL);
	if (threads < 1 || threads > 256 || seconds <= 0)
		return 2;
	snprintf(request, sizeof(request),
	         "GET /msi/token?api-version=2019-08-01&resource=%s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\n"
	         "X-IDENTITY-HEADER: %s\r\nConnection: close\r\n\r\n",
	         argv[4], argv[1], secret);
	struct job *jobs = calloc((size_t)threads, sizeof(*jobs));
	pthread_t *tids = calloc((size_t)threads, sizeof(*tids));
	if (!jobs || !tids)
		return 1;
	start = now();
	for (long i = 0; i < threads; i++) {
		jobs[i] = (struct job){
		    .port = (int)strtol(argv[1], NULL, 10), .end = start + seconds, .request = request};
		pthread_create(&tids[i], NULL, worker, &jobs[i]);
	}
	for (long i = 0; i < threads; i++) {
		pthread_join(tids[i], NULL);
		ok += jobs[i].ok;
		errors += jobs[i].errors;
	}
	seconds = now() - start;
	printf("{\"requests\":%ld,\"errors\":%ld,\"seconds\":%.2f,\"rps\":%.0f}\n", ok, errors, seconds,
	       (double)ok / seconds);
	free(jobs);
	free(tids);
	return 0;
}
