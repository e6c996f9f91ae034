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

/* Who may connect to a unix socket keyward serve makes, unless --socket-mode says otherwise: its user and group. */
#define SERVER_SOCKET_MODE_DEFAULT 0660

/* A listening socket and the pool of workers that serves it. */
struct server_listener {
	const char *address; /* as given, for messages */
	int fd;
	int threads;         /* 1 to SERVER_THREADS_MAX */
	enum server_serves serves;
	/*
	 * For a unix socket that server_listen() made at `address`: its mode (0 means
	 * SERVER_SOCKET_MODE_DEFAULT) and group (a name or number; NULL: the process's own).
	 */
	unsigned socket_mode;
	const char *socket_group;
};

/*
 * Serve FastCGI on each of `listeners` with its own workers until SIGTERM or SIGINT; each worker
 * finishes the request in hand, then the recorded usage is written. First, each unix socket that
 * server_listen() made gets its listener's mode and group (server_socket_access()); last, its file
 * is removed. SIGHUP is logged and otherwise ignored: keyward keeps no files open to reopen (its
 * messages go to standard error, which the web server or systemd holds). Returns the exit status:
 * 0 after a stop signal, 1 when a listener, a worker or the usage recorder could not start or a
 * listening socket failed.
 */
int server_run_fastcgi(const struct config *config, const struct view *view, const struct server_listener *listeners,
		       size_t listener_count);

/* True when `address` names a unix socket (a path: no ':'), false for "HOST:PORT" or ":PORT". */
bool server_address_is_unix(const char *address);

/*
 * Open a FastCGI listening socket on "127.0.0.1:9000", ":9000" or "/path/to.sock"; -1 on failure
 * (a path too long for a unix socket included). A unix socket replaces any file at its path, and
 * is made with mode 0600 (only this user may connect) until server_run_fastcgi() widens it.
 */
int server_listen(const char *address);

/*
 * --socket-mode: an octal mode of 1 to 4 digits, at most 0777, that lets the owner read and write
 * ("0660", "660", "0600"); false otherwise.
 */
bool server_parse_socket_mode(const char *text, unsigned *mode);

/*
 * Give the unix socket at `path` the mode `mode` (0: SERVER_SOCKET_MODE_DEFAULT) and, unless
 * `group` is NULL, the group `group` (a name or a number). False with a sentence in `error` when
 * the group does not exist or the change is not allowed (only root, or a member of the group,
 * may give a file to a group).
 */
bool server_socket_access(const char *path, unsigned mode, const char *group, char *error, size_t error_size);

/* Answer the one CGI request in this process's environment. Returns the exit status. */
int server_run_cgi(const struct config *config, const struct view *view);

#endif
