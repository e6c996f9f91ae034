/*
 * server.h: the ways keyward takes requests from a web server.
 *
 *   spawned     a FastCGI application whose listening socket is fd 0 (lighttpd bin-path, mod_fcgid)
 *   standalone  a FastCGI server on "host:port" or a unix socket path, with worker threads
 *   cgi         one request from the environment and stdin, answered on stdout
 * Each worker thread has its own store connection, arena and FCGX_Request.
 */
#ifndef KEYWARD_SERVER_H
#define KEYWARD_SERVER_H

#include <stdbool.h>

struct config;
struct view;

#define SERVER_THREADS_DEFAULT 4
#define SERVER_THREADS_MAX 64

/* Serve FastCGI on `listen_fd` with `threads` workers until told to stop. Returns the exit status. */
int server_run_fastcgi(const struct config *config, const struct view *view, int listen_fd, int threads);

/* Open a FastCGI listening socket on "127.0.0.1:9000", ":9000" or "/path/to.sock"; -1 on failure. */
int server_listen(const char *address);

/* Answer the one CGI request in this process's environment. Returns the exit status. */
int server_run_cgi(const struct config *config, const struct view *view);

#endif
