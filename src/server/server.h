/*
 * server.h: the ways keyward takes requests from a web server.
 *
 *   spawned     a FastCGI application whose listening socket is fd 0 (lighttpd bin-path, mod_fcgid)
 *   standalone  a FastCGI server on "host:port" or a unix socket path, with worker threads; a second
 *               listener may serve the gatekeeper alone, with a pool of its own
 *   cgi         one request from the environment and stdin, answered on stdout
 * Each listener has its own accept loop and worker threads; each worker its own store connection,
 * key cache, arena and FCGX_Request. All of a process's workers share one usage recorder. Over
 * FastCGI, a request body must have arrived HTTP_BODY_SECONDS after the request began: later, the
 * answer is 408 and the worker is free again.
 */
#ifndef KEYWARD_SERVER_H
#define KEYWARD_SERVER_H

#include <stdbool.h>
#include <stddef.h>

struct config;
struct view;

#define SERVER_THREADS_DEFAULT 4
#define SERVER_THREADS_MAX 64
/* After a 408, how long a worker reads and drops what the web server still sends before it closes. */
#define SERVER_LINGER_MS 2000

/* What a listener's workers answer. */
enum server_serves {
	SERVER_SERVES_ALL,        /* the console, the JSON API and authorizer requests; gate requests get 404 */
	SERVER_SERVES_GATEKEEPER, /* authorizer and gate requests, the JSON API under /api/; console pages get 404 */
};

/* A listening socket and the pool of workers that serves it. */
struct server_listener {
	const char *address; /* as given, for messages */
	int fd;
	int threads;         /* 1 to SERVER_THREADS_MAX */
	enum server_serves serves;
};

/*
 * Serve FastCGI on each of `listeners` with its own workers until SIGTERM, SIGINT or SIGHUP; each
 * worker finishes the request in hand, then the recorded usage is written. Returns the exit status.
 */
int server_run_fastcgi(const struct config *config, const struct view *view, const struct server_listener *listeners,
		       size_t listener_count);

/* Open a FastCGI listening socket on "127.0.0.1:9000", ":9000" or "/path/to.sock"; -1 on failure. */
int server_listen(const char *address);

/* Answer the one CGI request in this process's environment. Returns the exit status. */
int server_run_cgi(const struct config *config, const struct view *view);

#endif
