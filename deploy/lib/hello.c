/*
 * hello: the backend that e2e tests run inside containers.
 *
 *   hello ADDR PORT NAME [--ignore-term] [--log]
 *
 * Answers every request, whatever the method (GET, OPTIONS for HAProxy's
 * `option httpchk`, HEAD, POST...), with
 *
 *   200 OK, Content-Type: text/plain, Connection: close, "Hello from NAME\n"
 *
 * and closes the connection. A health endpoint with a switch, for tests of
 * health checks:
 *
 *   GET /health        200 "healthy NAME" or 500 "unhealthy NAME", or no
 *                      answer at all while hanging
 *   GET /health/fail   /health answers 500 from now on (this answers 200)
 *   GET /health/ok     /health answers 200 again
 *   GET /health/hang   /health never answers (the connection stays open)
 *
 * With --log every request is one line on stdout, "<unix time with ms>
 * request GET /health 500" ("hang" for a request left unanswered), so a test
 * counts what it got and a benchmark sees when. One thread, one poll loop, non-blocking sockets:
 * enough for a few thousand requests per second from wrk or HAProxy.
 *
 * SIGTERM and SIGINT make it exit 0 at once. With --ignore-term it ignores
 * SIGTERM, so `docker stop -t N` has to wait N seconds and SIGKILL it.
 *
 * Built by deploy/lib/loopback.sh with `cc -static -O2` and copied into a busybox
 * image; it must stay a single self-contained file with no dependencies.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 2048
#define REQ_MAX 8192
#define IDLE_TIMEOUT_MS 10000

enum conn_state { READING, WRITING, DRAINING };

struct conn {
	int fd;
	enum conn_state state;
	size_t in_len;
	char in[REQ_MAX];
	const char *out; /* points into response or head_response */
	size_t out_len;
	size_t out_off;
	long long deadline_ms;
};

static struct conn *conns[MAX_CONNS];
static size_t nconns;
static char response[1024];
static size_t response_len;
static char head_response[256];
static size_t head_response_len;
static char health_ok[512], health_fail[512];
enum health_mode { HEALTH_OK, HEALTH_FAIL, HEALTH_HANG };
static enum health_mode health_mode;
static int log_requests;
static int wake_pipe[2] = {-1, -1};
static volatile sig_atomic_t stopping;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_term(int sig)
{
	int saved = errno;
	char c = 1;

	(void)sig;
	stopping = 1;
	if (write(wake_pipe[1], &c, 1) < 0) {
		/* the pipe is full: the loop is already going to wake up */
	}
	errno = saved;
}

static void conn_close(size_t i)
{
	close(conns[i]->fd);
	free(conns[i]);
	conns[i] = conns[--nconns];
}

static void conn_on_writable(size_t i)
{
	struct conn *c = conns[i];
	ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			conn_close(i);
		return;
	}
	c->out_off += (size_t)n;
	if (c->out_off < c->out_len)
		return;
	/* Half-close and read until the peer closes, so that unread request
	 * bytes do not turn our close into a reset the client would see. */
	shutdown(c->fd, SHUT_WR);
	c->state = DRAINING;
	c->deadline_ms = now_ms() + 2000;
}

/* The request is complete once the blank line ending the headers arrived,
 * or the buffer is full (we answer anyway: this is a test server). */
static int request_complete(const struct conn *c)
{
	return c->in_len == sizeof(c->in) || memmem(c->in, c->in_len, "\r\n\r\n", 4) ||
	       memmem(c->in, c->in_len, "\n\n", 2);
}

/* "METHOD PATH" of the request line, each cut at 63 bytes. */
static void request_line(const struct conn *c, char *method, char *path)
{
	size_t i = 0, j = 0;

	while (i < c->in_len && c->in[i] != ' ' && j < 63)
		method[j++] = c->in[i++];
	method[j] = 0;
	while (i < c->in_len && c->in[i] == ' ')
		i++;
	j = 0;
	while (i < c->in_len && c->in[i] != ' ' && c->in[i] != '\r' && c->in[i] != '\n' && j < 63)
		path[j++] = c->in[i++];
	path[j] = 0;
}

/* Picks the answer; -1 when the request is left unanswered (hang). */
static int route(struct conn *c)
{
	char method[64], path[64];
	const char *status = "200";

	request_line(c, method, path);
	if (strcmp(path, "/health/fail") == 0)
		health_mode = HEALTH_FAIL;
	else if (strcmp(path, "/health/ok") == 0)
		health_mode = HEALTH_OK;
	else if (strcmp(path, "/health/hang") == 0)
		health_mode = HEALTH_HANG;
	if (strcmp(path, "/health") == 0 && health_mode == HEALTH_HANG) {
		status = "hang";
	} else if (strcmp(path, "/health") == 0) {
		c->out = health_mode == HEALTH_OK ? health_ok : health_fail;
		status = health_mode == HEALTH_OK ? "200" : "500";
	} else if (strcmp(method, "HEAD") == 0) {
		c->out = head_response;
	} else {
		c->out = response;
	}
	if (log_requests) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		printf("%lld.%03ld request %s %s %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000000,
		       method, path, status);
		fflush(stdout);
	}
	if (strcmp(status, "hang") == 0)
		return -1;
	c->out_len = c->out == head_response ? head_response_len
		     : c->out == response    ? response_len
					     : strlen(c->out);
	return 0;
}

static void conn_on_readable(size_t i)
{
	struct conn *c = conns[i];
	ssize_t n;

	if (c->state == DRAINING) {
		char sink[4096];

		n = read(c->fd, sink, sizeof(sink));
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			conn_close(i);
		return;
	}
	n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		conn_close(i);
		return;
	}
	if (n < 0)
		return;
	c->in_len += (size_t)n;
	if (!request_complete(c))
		return;
	if (route(c) < 0) {
		/* hanging: read until the client gives up and closes */
		c->state = DRAINING;
		c->deadline_ms = now_ms() + 600000;
		return;
	}
	c->state = WRITING;
	conn_on_writable(i);
}

static void accept_all(int lfd)
{
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0)
			return;
		if (nconns == MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->state = READING;
		c->deadline_ms = now_ms() + IDLE_TIMEOUT_MS;
		conns[nconns++] = c;
	}
}

static int listen_on(const char *addr, const char *port)
{
	struct sockaddr_in sin;
	int one = 1;
	char *end;
	long p = strtol(port, &end, 10);
	int fd;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	if (*end || p <= 0 || p > 65535) {
		fprintf(stderr, "hello: bad port '%s'\n", port);
		return -1;
	}
	sin.sin_port = htons((unsigned short)p);
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
		fprintf(stderr, "hello: bad IPv4 address '%s'\n", addr);
		return -1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(fd, 1024) < 0) {
		fprintf(stderr, "hello: cannot listen on %s:%s: %s\n", addr, port, strerror(errno));
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static struct pollfd pfds[MAX_CONNS + 2];
	struct sigaction sa;
	int ignore_term = 0;
	int lfd;
	int body_len;

	for (int a = 4; a < argc; a++) {
		if (strcmp(argv[a], "--ignore-term") == 0)
			ignore_term = 1;
		else if (strcmp(argv[a], "--log") == 0)
			log_requests = 1;
		else
			argc = 0;
	}
	if (argc < 4) {
		fprintf(stderr, "usage: hello ADDR PORT NAME [--ignore-term] [--log]\n");
		return 2;
	}
	body_len = (int)strlen(argv[3]) + (int)strlen("Hello from \n");
	snprintf(head_response, sizeof(head_response),
		 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
		 "Connection: close\r\n\r\n",
		 body_len);
	head_response_len = strlen(head_response);
	if (head_response_len + (size_t)body_len >= sizeof(response)) {
		fprintf(stderr, "hello: NAME too long\n");
		return 2;
	}
	snprintf(response, sizeof(response), "%sHello from %s\n", head_response, argv[3]);
	response_len = strlen(response);
	if (strlen(argv[3]) > 200) {
		fprintf(stderr, "hello: NAME too long\n");
		return 2;
	}
	snprintf(health_ok, sizeof(health_ok),
		 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
		 "Connection: close\r\n\r\nhealthy %s\n",
		 (int)strlen(argv[3]) + 9, argv[3]);
	snprintf(health_fail, sizeof(health_fail),
		 "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
		 "Content-Length: %d\r\nConnection: close\r\n\r\nunhealthy %s\n",
		 (int)strlen(argv[3]) + 11, argv[3]);

	if (pipe2(wake_pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
		perror("hello: pipe");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	if (ignore_term)
		signal(SIGTERM, SIG_IGN);
	else
		sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	lfd = listen_on(argv[1], argv[2]);
	if (lfd < 0)
		return 1;
	printf("hello: %s listening on %s:%s%s\n", argv[3], argv[1], argv[2],
	       ignore_term ? " (ignoring SIGTERM)" : "");
	fflush(stdout);

	while (!stopping) {
		size_t i, n = nconns;
		long long now;

		pfds[0].fd = wake_pipe[0];
		pfds[0].events = POLLIN;
		pfds[1].fd = lfd;
		pfds[1].events = nconns < MAX_CONNS ? POLLIN : 0;
		for (i = 0; i < n; i++) {
			pfds[i + 2].fd = conns[i]->fd;
			pfds[i + 2].events = conns[i]->state == WRITING ? POLLOUT : POLLIN;
			pfds[i + 2].revents = 0;
		}
		if (poll(pfds, n + 2, 500) < 0) {
			if (errno == EINTR)
				continue;
			perror("hello: poll");
			return 1;
		}
		/* Walk backwards: conn_close moves the last entry into slot i,
		 * and that entry (index > i) has already been handled. */
		now = now_ms();
		for (i = n; i-- > 0;) {
			short re = pfds[i + 2].revents;

			if (re & (POLLERR | POLLNVAL)) {
				conn_close(i);
			} else if (re & POLLOUT) {
				conn_on_writable(i);
			} else if (re & (POLLIN | POLLHUP)) {
				conn_on_readable(i);
			} else if (now > conns[i]->deadline_ms) {
				conn_close(i);
			}
		}
		if (pfds[1].revents & POLLIN)
			accept_all(lfd);
	}
	printf("hello: %s stopping\n", argv[3]);
	return 0;
}
