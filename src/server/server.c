/* server.c: FastCGI accept loops (spawned or standalone, a thread pool per listener) and plain CGI. */
#include "server/server.h"

#include <errno.h>
#include <fcgiapp.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "core/alloc.h"
#include "core/app.h"
#include "core/config.h"
#include "domain/key_cache.h"
#include "domain/usage.h"
#include "http/request.h"
#include "pages/pages.h"
#include "store/store.h"

/* The workers of one listener: its own accept loop (and lock), threads and store connections. */
struct pool {
	const struct server_listener *listener;
	pthread_mutex_t accept_lock; /* libfcgi recommends serialising accept() across threads on some platforms */
};

struct worker {
	pthread_t thread;
	struct pool *pool;
	const struct config *config;
	const struct view *view;
	struct usage *usage; /* shared by every pool of the process */
	int status;
};

/* A worker's FastCGI request in hand, and when its body must have arrived. */
struct exchange {
	FCGX_Request request;
	int64_t body_deadline; /* CLOCK_MONOTONIC milliseconds */
	bool read_timeout_set; /* SO_RCVTIMEO is set on the connection */
	bool timed_out;        /* a body read stopped at the deadline */
};

/* Set by the main thread before it makes the workers' accept() fail on purpose. */
static atomic_bool stopping;

static int64_t monotonic_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static const char *fcgi_getenv(void *context, const char *name)
{
	struct exchange *exchange = context;
	return FCGX_GetParam(name, exchange->request.envp);
}

/* True when the FastCGI parameters hold `name` more than once (libfcgi's FCGX_GetParam returns the first). */
static bool fcgi_repeated(void *context, const char *name)
{
	struct exchange *exchange = context;
	size_t length = strlen(name);
	int seen = 0;
	for (char **entry = exchange->request.envp; entry != NULL && *entry != NULL; entry++)
		if (strncmp(*entry, name, length) == 0 && (*entry)[length] == '=' && ++seen > 1)
			return true;
	return false;
}

/* Make a read on the connection wait `milliseconds` (> 0) at most, or for ever when 0. */
static bool set_read_timeout(struct exchange *exchange, int64_t milliseconds)
{
	struct timeval wait = { .tv_sec = (time_t)(milliseconds / 1000),
				.tv_usec = (suseconds_t)(milliseconds % 1000) * 1000 };
	if (setsockopt(exchange->request.ipcFd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait) != 0)
		return false;
	exchange->read_timeout_set = milliseconds > 0;
	return true;
}

/*
 * Read body bytes, never waiting past the body's deadline. libfcgi's FCGX_GetStr() fills its buffer
 * with blocking read()s until it has all it was asked for, so a body that trickles in would keep
 * one call busy for as long as the client likes; and a read error (the timeout, EAGAIN) closes
 * the input stream only, the output stream still takes the answer. So: bytes libfcgi already
 * holds are handed out without waiting; otherwise ask for one byte (one record's worth lands in
 * libfcgi's buffer) with SO_RCVTIMEO set to the time left. (FCGX_Stream's rdNext and stop are in
 * the public header, and FCGX_GetStr's own fast path is the same test.)
 */
static size_t fcgi_read(void *context, char *buffer, size_t size)
{
	struct exchange *exchange = context;
	FCGX_Stream *in = exchange->request.in;
	if (size > (size_t)INT32_MAX)
		size = INT32_MAX;
	ptrdiff_t held = in->stop - in->rdNext;
	if (held > 0 && !FCGX_HasSeenEOF(in)) {
		int got = FCGX_GetStr(buffer, (size_t)held < size ? (int)held : (int)size, in);
		return got > 0 ? (size_t)got : 0;
	}
	if (FCGX_HasSeenEOF(in) || size == 0)
		return 0;
	int64_t left = exchange->body_deadline - monotonic_ms();
	if (left <= 0 || !set_read_timeout(exchange, left)) {
		exchange->timed_out = left <= 0;
		return 0;
	}
	int got = FCGX_GetStr(buffer, 1, in);
	if (got > 0)
		return (size_t)got;
	int error = FCGX_GetError(in);
	exchange->timed_out = error == EAGAIN || error == EWOULDBLOCK || monotonic_ms() >= exchange->body_deadline;
	return 0;
}

static bool fcgi_timed_out(void *context)
{
	struct exchange *exchange = context;
	return exchange->timed_out;
}

static void fcgi_write(void *context, const char *bytes, size_t length)
{
	struct exchange *exchange = context;
	FCGX_PutStr(bytes, (int)length, exchange->request.out);
}

/* An authorizer never gets the request body (FastCGI spec, 6.3): reading one would wait forever. */
static size_t no_body(void *context, char *buffer, size_t size)
{
	(void)context;
	(void)buffer;
	(void)size;
	return 0;
}

/*
 * A request whose body missed its deadline: send the answer and FCGI_END_REQUEST now, and close our
 * side; then read and drop what the web server still sends, SERVER_LINGER_MS at most, so that the
 * close does not reset the connection under the answer; then stop reading. FCGX_Finish_r() closes
 * the connection (its input stream failed), and libfcgi's own wait for the peer there (read until
 * 2 s pass without a byte) ends at once instead of following a client that keeps trickling.
 */
static void finish_timed_out(struct exchange *exchange)
{
	FCGX_FClose(exchange->request.err);
	FCGX_FClose(exchange->request.out);
	int fd = exchange->request.ipcFd;
	if (shutdown(fd, SHUT_WR) != 0)
		return;
	int64_t until = monotonic_ms() + SERVER_LINGER_MS;
	char dropped[1024];
	for (int64_t left = SERVER_LINGER_MS; left > 0; left = until - monotonic_ms()) {
		struct pollfd peer = { .fd = fd, .events = POLLIN };
		int ready = poll(&peer, 1, (int)left);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0 || read(fd, dropped, sizeof dropped) <= 0)
			break;
	}
	shutdown(fd, SHUT_RD);
}

/*
 * A gate request's view of its variables: no CONTENT_LENGTH, as nginx passes the client's along
 * (fastcgi_params) although an auth subrequest never carries a body; writes go to the real stream.
 */
static const char *gate_getenv(void *context, const char *name)
{
	const struct http_io *io = context;
	return strcmp(name, "CONTENT_LENGTH") == 0 ? NULL : io->getenv(io->context, name);
}

static void gate_write(void *context, const char *bytes, size_t length)
{
	const struct http_io *io = context;
	io->write(io->context, bytes, length);
}

static bool gate_repeated(void *context, const char *name)
{
	const struct http_io *io = context;
	return io->repeated != NULL && io->repeated(io->context, name);
}

/*
 * Serve one request with a fresh arena turn: an authorizer request (any path) goes to the
 * gatekeeper, a gate request (SCRIPT_NAME API_GATE_SCRIPT, from nginx's auth_request) too but only
 * on a listener that serves the gatekeeper alone, /api/ to the JSON API, everything else to the
 * console's pages, except on a gatekeeper's listener, which refuses console pages. A gate request
 * anywhere else is refused (404): the public console's address must not be a way to ask about any
 * URI from any address. Neither kind of gatekeeper request reads a body. A body that missed its
 * deadline is answered 408 by the API or the pages, as any other bad body.
 */
static void serve_one(struct app *app, struct arena *arena, const struct http_io *io, enum server_serves serves)
{
	const char *role = io->getenv(io->context, "FCGI_ROLE");
	bool authorizer = role != NULL && strcmp(role, "AUTHORIZER") == 0;
	const char *script = io->getenv(io->context, "SCRIPT_NAME");
	bool gate = !authorizer && script != NULL && strcmp(script, API_GATE_SCRIPT) == 0;
	struct http_io authorizer_io = *io;
	authorizer_io.read = no_body; /* even when a server passes CONTENT_LENGTH along */
	authorizer_io.timed_out = NULL;
	struct http_io gate_io = { gate_getenv, no_body, gate_write, (void *)io, NULL, gate_repeated };
	struct http_request request;
	if (gate)
		http_request_read(&request, arena, &gate_io, "");
	else
		http_request_read(&request, arena, authorizer ? &authorizer_io : io, authorizer ? "" : app->config->base_path);
	if (authorizer)
		api_authorize(app, &request);
	else if (gate && serves == SERVER_SERVES_GATEKEEPER)
		api_gate(app, &request);
	else if (gate)
		api_refuse(&request, 404, "gate_not_served",
			   "The gate (SCRIPT_NAME " API_GATE_SCRIPT ") is answered only on the gatekeeper's own listener: "
			   "keyward serve --gatekeeper ADDRESS");
	else if (api_owns_path(request.path))
		api_handle(app, &request);
	else if (serves == SERVER_SERVES_GATEKEEPER)
		api_refuse(&request, 404, "gatekeeper_only",
			   "This listener serves the gatekeeper only: FastCGI authorizer requests, the gate (SCRIPT_NAME "
			   API_GATE_SCRIPT ") and the JSON API under /api/. The console has a listener of its own.");
	else
		pages_handle(app, &request);
	arena_reset(arena);
}

static void *worker_main(void *argument)
{
	struct worker *worker = argument;
	struct pool *pool = worker->pool;
	char error[512];
	struct store *store = store_open(worker->config->database_path, error, sizeof error);
	if (store == NULL) {
		fprintf(stderr, "keyward: %s\n", error);
		worker->status = 1;
		kill(getpid(), SIGTERM); /* wake the main thread: this process cannot serve */
		return NULL;
	}
	struct key_cache *key_cache = key_cache_new();
	key_cache_set_stale_seconds(key_cache, worker->config->stale_seconds);
	struct app app = { .config = worker->config, .store = store, .key_cache = key_cache, .view = worker->view,
			   .usage = worker->usage };
	struct arena *arena = arena_new();
	struct exchange exchange = { 0 };
	FCGX_InitRequest(&exchange.request, pool->listener->fd, 0);
	struct http_io io = { fcgi_getenv, fcgi_read, fcgi_write, &exchange, fcgi_timed_out, fcgi_repeated };
	for (;;) {
		pthread_mutex_lock(&pool->accept_lock);
		int accepted = FCGX_Accept_r(&exchange.request);
		pthread_mutex_unlock(&pool->accept_lock);
		if (accepted < 0)
			break;
		exchange.body_deadline = monotonic_ms() + (int64_t)HTTP_BODY_SECONDS * 1000;
		exchange.timed_out = false;
		serve_one(&app, arena, &io, pool->listener->serves);
		if (exchange.timed_out)
			finish_timed_out(&exchange);
		else if (exchange.read_timeout_set)
			set_read_timeout(&exchange, 0); /* a connection the web server keeps waits for its next request */
		exchange.read_timeout_set = false;
		FCGX_Finish_r(&exchange.request);
	}
	if (!atomic_load(&stopping)) {
		/*
		 * The listening socket failed under us (say, the web server that spawned us went away
		 * without a signal). Without this the process would linger forever, serving no one.
		 */
		fprintf(stderr, "keyward: the FastCGI socket stopped accepting connections; this process stops\n");
		worker->status = 1;
		kill(getpid(), SIGTERM);
	}
	FCGX_Free(&exchange.request, 1);
	arena_free(arena);
	key_cache_free(key_cache);
	store_close(store);
	return NULL;
}

bool server_address_is_unix(const char *address)
{
	return strchr(address, ':') == NULL;
}

int server_listen(const char *address)
{
	if (FCGX_Init() != 0)
		return -1;
	/* libfcgi copies the address into a buffer of its own (MAXPATHLEN) unchecked. */
	size_t length = strlen(address);
	size_t most = server_address_is_unix(address) ? sizeof(((struct sockaddr_un *)0)->sun_path) - 1 : 255;
	if (length > most) {
		fprintf(stderr, "keyward: %.40s… is too long for %s (at most %zu bytes)\n", address,
			server_address_is_unix(address) ? "a unix socket path" : "an address", most);
		return -1;
	}
	if (!server_address_is_unix(address))
		return FCGX_OpenSocket(address, 128);
	mode_t previous = umask(0177); /* no one else may connect before server_socket_access() */
	int fd = FCGX_OpenSocket(address, 128);
	umask(previous);
	return fd;
}

bool server_parse_socket_mode(const char *text, unsigned *mode)
{
	size_t length = strlen(text);
	if (length < 1 || length > 4 || strspn(text, "01234567") != length)
		return false;
	unsigned long value = strtoul(text, NULL, 8);
	if (value > 0777 || (value & 0600) != 0600) /* a socket its own user cannot use is a mistake */
		return false;
	*mode = (unsigned)value;
	return true;
}

/* The group `name` (or number) names, or false. */
static bool find_group(const char *name, gid_t *gid)
{
	char buffer[16384];
	struct group entry;
	struct group *found = NULL;
	if (getgrnam_r(name, &entry, buffer, sizeof buffer, &found) == 0 && found != NULL) {
		*gid = found->gr_gid;
		return true;
	}
	size_t length = strlen(name);
	if (length == 0 || length > 9 || strspn(name, "0123456789") != length)
		return false;
	*gid = (gid_t)strtoul(name, NULL, 10);
	return true;
}

bool server_socket_access(const char *path, unsigned mode, const char *group, char *error, size_t error_size)
{
	if (mode == 0)
		mode = SERVER_SOCKET_MODE_DEFAULT;
	if (group != NULL) {
		gid_t gid;
		if (!find_group(group, &gid)) {
			snprintf(error, error_size, "--socket-group: there is no group \"%.64s\"", group);
			return false;
		}
		if (chown(path, (uid_t)-1, gid) != 0) {
			snprintf(error, error_size, "cannot give socket %s to group %.64s: %s (only root, or a member of "
						    "the group, may)", path, group, strerror(errno));
			return false;
		}
	}
	if (chmod(path, (mode_t)mode) != 0) {
		snprintf(error, error_size, "cannot set the mode of socket %s: %s", path, strerror(errno));
		return false;
	}
	return true;
}

/* True when `listener` listens on a unix socket bound to its own address: one server_listen() made. */
static bool listener_made_socket(const struct server_listener *listener)
{
	struct sockaddr_un bound;
	socklen_t size = sizeof bound;
	memset(&bound, 0, sizeof bound);
	if (!server_address_is_unix(listener->address) || getsockname(listener->fd, (struct sockaddr *)&bound, &size) != 0 ||
	    bound.sun_family != AF_UNIX)
		return false;
	return strncmp(bound.sun_path, listener->address, sizeof bound.sun_path) == 0;
}

/* Remove the socket file of each listener that made one (while it still is a socket). */
static void remove_sockets(const struct server_listener *listeners, const bool *made, size_t listener_count)
{
	for (size_t i = 0; i < listener_count; i++) {
		struct stat info;
		if (made[i] && lstat(listeners[i].address, &info) == 0 && S_ISSOCK(info.st_mode))
			unlink(listeners[i].address);
	}
}

/*
 * Workers block the stop signals; the main thread waits for one with sigwait(), then lets each
 * worker finish the request in hand: FCGX_ShutdownPending() and a shutdown() of each listening
 * socket make the accept() they wait in fail, so they leave their loops and are joined. The usage
 * the workers of every pool recorded is written last. SIGHUP is waited for too, so that it does
 * not end the process (its default), and only said in the log.
 */
int server_run_fastcgi(const struct config *config, const struct view *view, const struct server_listener *listeners,
		       size_t listener_count)
{
	if (FCGX_Init() != 0) {
		fprintf(stderr, "keyward: cannot initialise libfcgi\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	sigset_t stop;
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	char error[512];
	bool *made = xcalloc(listener_count, sizeof *made);
	for (size_t i = 0; i < listener_count; i++) {
		made[i] = listener_made_socket(&listeners[i]);
		if (made[i] && !server_socket_access(listeners[i].address, listeners[i].socket_mode,
						     listeners[i].socket_group, error, sizeof error)) {
			fprintf(stderr, "keyward: %s\n", error);
			remove_sockets(listeners, made, listener_count);
			free(made);
			return 1;
		}
	}
	struct usage *usage = usage_start(config, error, sizeof error);
	if (usage == NULL) {
		fprintf(stderr, "keyward: usage recording: %s\n", error);
		remove_sockets(listeners, made, listener_count);
		free(made);
		return 1;
	}
	size_t total = 0;
	struct pool *pools = xcalloc(listener_count, sizeof *pools);
	for (size_t i = 0; i < listener_count; i++) {
		pools[i].listener = &listeners[i];
		pthread_mutex_init(&pools[i].accept_lock, NULL);
		total += listeners[i].threads < 1 ? 1 : (size_t)listeners[i].threads;
	}
	struct worker *workers = xcalloc(total, sizeof *workers);
	size_t started = 0;
	int status = 0;
	for (size_t i = 0; i < listener_count && status == 0; i++) {
		int threads = listeners[i].threads < 1 ? 1 : listeners[i].threads;
		for (int n = 0; n < threads; n++, started++) {
			workers[started] = (struct worker){ .pool = &pools[i], .config = config, .view = view, .usage = usage };
			if (pthread_create(&workers[started].thread, NULL, worker_main, &workers[started]) != 0) {
				fprintf(stderr, "keyward: cannot start worker thread %d for %s\n", n, listeners[i].address);
				status = 1;
				break;
			}
		}
	}
	int signal_number = 0;
	while (status == 0 && sigwait(&stop, &signal_number) == 0 && signal_number == SIGHUP)
		fprintf(stderr, "keyward: SIGHUP ignored: keyward has no log file or settings to reload (its messages "
				"go to standard error); still serving. Stop it with SIGTERM; restart it to read new "
				"settings.\n");
	atomic_store(&stopping, true);
	FCGX_ShutdownPending();
	for (size_t i = 0; i < listener_count; i++)
		shutdown(listeners[i].fd, SHUT_RDWR);
	for (size_t i = 0; i < started; i++) {
		pthread_join(workers[i].thread, NULL);
		status |= workers[i].status;
	}
	free(workers);
	for (size_t i = 0; i < listener_count; i++)
		pthread_mutex_destroy(&pools[i].accept_lock);
	free(pools);
	remove_sockets(listeners, made, listener_count);
	free(made);
	usage_stop(usage); /* writes what the workers recorded */
	return status;
}

static const char *cgi_getenv(void *context, const char *name)
{
	(void)context;
	return getenv(name);
}

static size_t cgi_read(void *context, char *buffer, size_t size)
{
	(void)context;
	return fread(buffer, 1, size, stdin);
}

static void cgi_write(void *context, const char *bytes, size_t length)
{
	(void)context;
	fwrite(bytes, 1, length, stdout);
}

int server_run_cgi(const struct config *config, const struct view *view)
{
	char error[512];
	struct store *store = store_open(config->database_path, error, sizeof error);
	if (store == NULL) {
		fprintf(stderr, "keyward: %s\n", error);
		fputs("Status: 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\nThe database is unavailable.\n",
		      stdout);
		return 1;
	}
	char error_usage[512];
	struct usage *usage = usage_start(config, error_usage, sizeof error_usage);
	if (usage == NULL)
		fprintf(stderr, "keyward: usage recording: %s\n", error_usage);
	struct app app = { .config = config, .store = store, .view = view, .usage = usage }; /* one request: no key cache */
	struct arena *arena = arena_new();
	struct http_io io = { cgi_getenv, cgi_read, cgi_write, NULL, NULL, NULL }; /* the web server bounds the body */
	serve_one(&app, arena, &io, SERVER_SERVES_ALL);
	fflush(stdout);
	usage_stop(usage);
	arena_free(arena);
	store_close(store);
	return 0;
}
