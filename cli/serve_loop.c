/*
 * serve_loop.c - the sockets of `azmi serve`: one epoll thread reads request
 * heads from every client, a small pool of workers answers whole requests.
 *
 * Everything is allocated at start-up: a fixed table of connection slots
 * (each with its own head buffer) and one response buffer per worker, so a
 * burst of clients costs no memory; clients beyond the table get a 503.  A
 * client that has not sent its whole head by its deadline gets a 408: a slow
 * client holds one slot, never a worker.
 */
#include "serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

enum { SLOT_FREE, SLOT_READING, SLOT_QUEUED };
#define LISTEN_MAX 2
#define TICK_MS    200

struct conn {
	int fd;
	int state;
	int status; /* http_parse's verdict once the head is whole */
	int64_t deadline;
	size_t len;
	struct http_request req;
	char buf[HTTP_HEAD_MAX + 1];
};

struct loop {
	struct serve_config *cfg;
	struct conn *conns;
	int *queue; /* ring of slot numbers waiting for a worker */
	size_t qhead, qlen;
	int *free_slots;
	size_t nfree;
	int lfd[LISTEN_MAX];
	int nlfd;
	int epfd;
	bool stopping;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

/* Best effort for a refusal from the event thread: one non-blocking send, then close. */
static void refuse_now(int fd, int status, const char *message)
{
	char out[1024];
	size_t n = serve_error(status, message, out, sizeof(out));

	if (n && send(fd, out, n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* the client is gone or its window is full: nothing more to do */
	}
	close(fd);
}

/* Send all of out[0..n) before the deadline; false when the client stalls or leaves. */
static bool send_all(int fd, const char *out, size_t n, int64_t deadline)
{
	size_t done = 0;

	while (done < n) {
		ssize_t w = send(fd, out + done, n - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0) {
			done += (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		int64_t left = deadline - util_mono_ms();
		struct pollfd p = {.fd = fd, .events = POLLOUT};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
	}
	return true;
}

static void slot_release(struct loop *l, int i)
{
	struct conn *c = &l->conns[i];

	close(c->fd);
	explicit_bzero(c->buf, sizeof(c->buf)); /* it held the secret header */
	c->fd = -1;
	c->len = 0;
	pthread_mutex_lock(&l->lock);
	c->state = SLOT_FREE;
	l->free_slots[l->nfree++] = i;
	pthread_mutex_unlock(&l->lock);
}

static const char *parse_message(int status)
{
	switch (status) {
	case 414:
		return "The request line is too long";
	case 431:
		return "The request head is too large";
	case 501:
		return "A request body is not accepted";
	case 505:
		return "Only HTTP/1.0 and HTTP/1.1 are spoken here";
	default:
		return "Malformed request";
	}
}

static void *worker(void *arg)
{
	struct loop *l = arg;
	char *out = malloc(SERVE_OUT_MAX);

	for (;;) {
		int i, status;
		size_t n;

		pthread_mutex_lock(&l->lock);
		while (l->qlen == 0 && !l->stopping)
			pthread_cond_wait(&l->cond, &l->lock);
		if (l->qlen == 0) {
			pthread_mutex_unlock(&l->lock);
			break;
		}
		i = l->queue[l->qhead];
		l->qhead = (l->qhead + 1) % (size_t)l->cfg->max_conns;
		l->qlen--;
		pthread_mutex_unlock(&l->lock);

		struct conn *c = &l->conns[i];
		if (out == NULL)
			n = serve_error(status = 503, "Out of memory", c->buf, sizeof(c->buf));
		else if (c->status != 0)
			n = serve_error(status = c->status, parse_message(c->status), out, SERVE_OUT_MAX);
		else
			n = serve_answer(l->cfg, &c->req, out, SERVE_OUT_MAX, &status);
		if (n)
			send_all(c->fd, out ? out : c->buf, n, util_mono_ms() + l->cfg->client_timeout_ms);
		if (out)
			explicit_bzero(out, n);
		slot_release(l, i);
	}
	free(out);
	return NULL;
}

static void enqueue(struct loop *l, int i)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->conns[i].fd, NULL);
	pthread_mutex_lock(&l->lock);
	l->conns[i].state = SLOT_QUEUED;
	l->queue[(l->qhead + l->qlen) % (size_t)l->cfg->max_conns] = i;
	l->qlen++;
	pthread_cond_signal(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

/* Read what the client sent; hand the connection to a worker once the head is whole or refused. */
static void on_readable(struct loop *l, int i)
{
	struct conn *c = &l->conns[i];

	for (;;) {
		size_t room = HTTP_HEAD_MAX - c->len;
		ssize_t r = room ? recv(c->fd, c->buf + c->len, room, MSG_DONTWAIT) : 0;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN)
			return;
		if (r <= 0 && room) {
			epoll_ctl(l->epfd, EPOLL_CTL_DEL, c->fd, NULL);
			slot_release(l, i); /* closed or reset before a whole request */
			return;
		}
		c->len += (size_t)r;
		c->status = http_parse(c->buf, c->len, &c->req);
		if (c->status != 1) {
			enqueue(l, i);
			return;
		}
	}
}

static void on_accept(struct loop *l, int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), i = -1;
		if (fd < 0)
			return; /* EAGAIN, or a transient error such as EMFILE: try on the next event */
		pthread_mutex_lock(&l->lock);
		if (l->nfree > 0)
			i = l->free_slots[--l->nfree];
		pthread_mutex_unlock(&l->lock);
		if (i < 0) {
			refuse_now(fd, 503, "Too many clients at once; try again");
			continue;
		}
		struct conn *c = &l->conns[i];
		c->fd = fd;
		c->len = 0;
		c->state = SLOT_READING;
		c->deadline = util_mono_ms() + l->cfg->client_timeout_ms;
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i + LISTEN_MAX};
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			slot_release(l, i);
	}
}

/* Clients still sending their head after the deadline get a 408. */
static void sweep(struct loop *l)
{
	int64_t now = util_mono_ms();

	for (int i = 0; i < l->cfg->max_conns; i++) {
		struct conn *c = &l->conns[i];
		if (c->state != SLOT_READING || c->deadline > now)
			continue;
		c->status = 408;
		enqueue(l, i);
	}
}

static int listen_tcp(struct serve_config *cfg)
{
	struct sockaddr_storage ss = {0};
	socklen_t len;
	int fd, one = 1, v6 = strchr(cfg->listen_host, ':') != NULL;

	if (v6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)cfg->port);
		a->sin6_addr = in6addr_loopback;
		len = sizeof(*a);
	} else {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons((uint16_t)cfg->port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*a);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 1024) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		fprintf(stderr, "azmi: cannot listen on %s port %u: %s\n", cfg->listen_host, cfg->port,
		        strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	cfg->port =
	    ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
}

static int listen_unix(const struct serve_config *cfg)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct stat st;
	int fd;

	if (strlen(cfg->unix_path) >= sizeof(a.sun_path)) {
		fprintf(stderr, "azmi: --unix %s: the path is too long\n", cfg->unix_path);
		return -1;
	}
	memcpy(a.sun_path, cfg->unix_path, strlen(cfg->unix_path) + 1); /* length checked above */
	if (lstat(cfg->unix_path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(cfg->unix_path); /* a stale socket of an earlier run; anything else is left alone */
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	mode_t old = umask(0777);
	int r = fd < 0 ? -1 : bind(fd, (struct sockaddr *)&a, sizeof(a));
	umask(old);
	if (r < 0 || chmod(cfg->unix_path, (mode_t)cfg->unix_mode) < 0 || listen(fd, 1024) < 0) {
		fprintf(stderr, "azmi: cannot listen on %s: %s\n", cfg->unix_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int loop_init(struct loop *l, struct serve_config *cfg)
{
	memset(l, 0, sizeof(*l));
	l->cfg = cfg;
	l->epfd = -1;
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	l->conns = calloc((size_t)cfg->max_conns, sizeof(*l->conns));
	l->queue = calloc((size_t)cfg->max_conns, sizeof(int));
	l->free_slots = calloc((size_t)cfg->max_conns, sizeof(int));
	if (!l->conns || !l->queue || !l->free_slots) {
		fputs("azmi: out of memory\n", stderr);
		return -1;
	}
	for (int i = cfg->max_conns - 1; i >= 0; i--) {
		l->conns[i].fd = -1;
		l->free_slots[l->nfree++] = i;
	}
	if (cfg->port || !cfg->unix_path)
		if ((l->lfd[l->nlfd] = listen_tcp(cfg)) >= 0)
			l->nlfd++;
	if (cfg->unix_path)
		if ((l->lfd[l->nlfd] = listen_unix(cfg)) >= 0)
			l->nlfd++;
	if (l->nlfd != (cfg->unix_path ? 1 : 0) + (cfg->port || !cfg->unix_path ? 1 : 0))
		return -1;
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -1;
	for (int k = 0; k < l->nlfd; k++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)k};
		if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->lfd[k], &ev) < 0)
			return -1;
	}
	/* Said once every socket listens: whoever waits for these lines may connect to any of them. */
	if (cfg->unix_path)
		fprintf(stderr, "azmi serve: listening on %s\n", cfg->unix_path);
	if (cfg->port || !cfg->unix_path) {
		bool v6 = strchr(cfg->listen_host, ':') != NULL;
		fprintf(stderr, "azmi serve: listening on http://%s%s%s:%u%s\n", v6 ? "[" : "",
		        cfg->listen_host, v6 ? "]" : "", cfg->port, cfg->path);
	}
	return 0;
}

static void loop_free(struct loop *l)
{
	for (int k = 0; k < l->nlfd; k++)
		close(l->lfd[k]);
	if (l->cfg->unix_path && l->nlfd)
		unlink(l->cfg->unix_path);
	if (l->epfd >= 0)
		close(l->epfd);
	for (int i = 0; l->conns && i < l->cfg->max_conns; i++)
		if (l->conns[i].fd >= 0)
			close(l->conns[i].fd);
	free(l->conns);
	free(l->queue);
	free(l->free_slots);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
}

static void handle_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: epoll_wait must return */

	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void run_events(struct loop *l)
{
	struct epoll_event ev[64];
	int64_t next_sweep = util_mono_ms() + TICK_MS;

	while (!stop_signal) {
		int n = epoll_wait(l->epfd, ev, (int)ARRAY_SIZE(ev), TICK_MS);
		for (int k = 0; k < n; k++) {
			if (ev[k].data.u64 < LISTEN_MAX)
				on_accept(l, l->lfd[ev[k].data.u64]);
			else
				on_readable(l, (int)(ev[k].data.u64 - LISTEN_MAX));
		}
		if (util_mono_ms() >= next_sweep) {
			sweep(l);
			next_sweep = util_mono_ms() + TICK_MS;
		}
	}
}

int serve_run(struct serve_config *cfg)
{
	struct loop l;
	pthread_t *tids = calloc((size_t)cfg->threads, sizeof(*tids));
	int started = 0, rc = EXIT_INTERNAL;

	handle_signals();
	if (loop_init(&l, cfg) < 0 || tids == NULL) {
		free(tids);
		loop_free(&l);
		return EXIT_FAILED;
	}
	for (; started < cfg->threads; started++)
		if (pthread_create(&tids[started], NULL, worker, &l) != 0)
			break;
	if (started == cfg->threads) {
		run_events(&l);
		serve_log(cfg, false, "stopping on signal %d", (int)stop_signal);
		rc = EXIT_OK;
	}
	pthread_mutex_lock(&l.lock);
	l.stopping = true; /* workers finish the queue, then leave */
	pthread_cond_broadcast(&l.cond);
	pthread_mutex_unlock(&l.lock);
	for (int k = 0; k < started; k++)
		pthread_join(tids[k], NULL);
	free(tids);
	loop_free(&l);
	return rc;
}
