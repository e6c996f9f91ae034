/* server.c: FastCGI accept loops (spawned or standalone, threaded) and plain CGI, around pages_handle(). */
#include "server/server.h"

#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
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

struct worker {
	pthread_t thread;
	const struct config *config;
	const struct view *view;
	struct usage *usage;
	int listen_fd;
	int status;
};

/* libfcgi recommends serialising accept() across threads on some platforms. */
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;

/* Set by the main thread before it makes the workers' accept() fail on purpose. */
static atomic_bool stopping;

static const char *fcgi_getenv(void *context, const char *name)
{
	FCGX_Request *request = context;
	return FCGX_GetParam(name, request->envp);
}

static size_t fcgi_read(void *context, char *buffer, size_t size)
{
	FCGX_Request *request = context;
	int got = FCGX_GetStr(buffer, size > (size_t)INT32_MAX ? INT32_MAX : (int)size, request->in);
	return got > 0 ? (size_t)got : 0;
}

static void fcgi_write(void *context, const char *bytes, size_t length)
{
	FCGX_Request *request = context;
	FCGX_PutStr(bytes, (int)length, request->out);
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
 * Serve one request with a fresh arena turn: an authorizer request (any path) goes to the
 * gatekeeper, /api/ to the JSON API, everything else to the console's pages.
 */
static void serve_one(struct app *app, struct arena *arena, const struct http_io *io)
{
	const char *role = io->getenv(io->context, "FCGI_ROLE");
	bool authorizer = role != NULL && strcmp(role, "AUTHORIZER") == 0;
	struct http_io authorizer_io = *io;
	authorizer_io.read = no_body; /* even when a server passes CONTENT_LENGTH along */
	struct http_request request;
	http_request_read(&request, arena, authorizer ? &authorizer_io : io, authorizer ? "" : app->config->base_path);
	if (authorizer)
		api_authorize(app, &request);
	else if (api_owns_path(request.path))
		api_handle(app, &request);
	else
		pages_handle(app, &request);
	arena_reset(arena);
}

static void *worker_main(void *argument)
{
	struct worker *worker = argument;
	char error[512];
	struct store *store = store_open(worker->config->database_path, error, sizeof error);
	if (store == NULL) {
		fprintf(stderr, "keyward: %s\n", error);
		worker->status = 1;
		kill(getpid(), SIGTERM); /* wake the main thread: this process cannot serve */
		return NULL;
	}
	struct key_cache *key_cache = key_cache_new();
	struct app app = { .config = worker->config, .store = store, .key_cache = key_cache, .view = worker->view,
			   .usage = worker->usage };
	struct arena *arena = arena_new();
	FCGX_Request request;
	FCGX_InitRequest(&request, worker->listen_fd, 0);
	struct http_io io = { fcgi_getenv, fcgi_read, fcgi_write, &request };
	for (;;) {
		pthread_mutex_lock(&accept_lock);
		int accepted = FCGX_Accept_r(&request);
		pthread_mutex_unlock(&accept_lock);
		if (accepted < 0)
			break;
		serve_one(&app, arena, &io);
		FCGX_Finish_r(&request);
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
	FCGX_Free(&request, 1);
	arena_free(arena);
	key_cache_free(key_cache);
	store_close(store);
	return NULL;
}

int server_listen(const char *address)
{
	if (FCGX_Init() != 0)
		return -1;
	int fd = FCGX_OpenSocket(address, 128);
	return fd;
}

/*
 * Workers block the stop signals; the main thread waits for one with sigwait(), then lets each
 * worker finish the request in hand: FCGX_ShutdownPending() and a shutdown() of the listening
 * socket make the accept() they wait in fail, so they leave their loops and are joined.
 */
int server_run_fastcgi(const struct config *config, const struct view *view, int listen_fd, int threads)
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
	if (threads < 1)
		threads = 1;
	char error[512];
	struct usage *usage = usage_start(config, error, sizeof error);
	if (usage == NULL) {
		fprintf(stderr, "keyward: usage recording: %s\n", error);
		return 1;
	}
	struct worker *workers = xcalloc((size_t)threads, sizeof *workers);
	int started = 0;
	for (; started < threads; started++) {
		workers[started] = (struct worker){ .config = config, .view = view, .usage = usage, .listen_fd = listen_fd };
		if (pthread_create(&workers[started].thread, NULL, worker_main, &workers[started]) != 0) {
			fprintf(stderr, "keyward: cannot start worker thread %d\n", started);
			break;
		}
	}
	int signal_number = 0;
	if (started > 0)
		sigwait(&stop, &signal_number);
	atomic_store(&stopping, true);
	FCGX_ShutdownPending();
	shutdown(listen_fd, SHUT_RDWR);
	int status = started == threads ? 0 : 1;
	for (int i = 0; i < started; i++) {
		pthread_join(workers[i].thread, NULL);
		status |= workers[i].status;
	}
	free(workers);
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
	struct http_io io = { cgi_getenv, cgi_read, cgi_write, NULL };
	serve_one(&app, arena, &io);
	fflush(stdout);
	usage_stop(usage);
	arena_free(arena);
	store_close(store);
	return 0;
}
