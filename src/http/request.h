/*
 * request.h: one HTTP request as the web server handed it over (CGI/FastCGI variables and body).
 *
 * The server layer supplies a `struct http_io` (FastCGI stream or plain CGI stdio); http_request_read()
 * turns it into a parsed request with its limits applied. Handlers read only this struct.
 */
#ifndef KEYWARD_HTTP_REQUEST_H
#define KEYWARD_HTTP_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

#include "http/form.h"

struct arena;
struct visit;
struct api_caller;

#define HTTP_BODY_MAX ((size_t)64 * 1024)
#define HTTP_PATH_MAX 2048
#define HTTP_PATH_PARAMS_MAX 4
/* A body must have fully arrived this long after the request began; the server's read enforces it. */
#define HTTP_BODY_SECONDS 10

/*
 * The bridge to the web server: how to read a variable, read the body, write the response. A read
 * that returned 0 because the body's deadline passed (not at its end) says so through timed_out.
 */
struct http_io {
	const char *(*getenv)(void *context, const char *name); /* NULL when unset */
	size_t (*read)(void *context, char *buffer, size_t size); /* 0 at end, on error or past the deadline */
	void (*write)(void *context, const char *bytes, size_t length);
	void *context;
	bool (*timed_out)(void *context); /* true once a read stopped at the deadline; NULL: reads have none */
	/*
	 * True when the web server sent variable `name` more than once, as FastCGI allows: nginx (before
	 * 1.23) sends each copy of a repeated request header as a parameter of its own, and getenv sees
	 * the first only. NULL: never (a CGI environment holds each name once).
	 */
	bool (*repeated)(void *context, const char *name);
};

enum http_method { HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PATCH, HTTP_OTHER };

enum http_body_status {
	HTTP_BODY_NONE,        /* no body expected or none sent */
	HTTP_BODY_FORM,        /* urlencoded body parsed into `form` */
	HTTP_BODY_JSON,        /* application/json body kept as bytes in `body` */
	HTTP_BODY_TOO_LARGE,   /* CONTENT_LENGTH above HTTP_BODY_MAX: nothing was read */
	HTTP_BODY_WRONG_TYPE,  /* a body that is neither urlencoded form data nor JSON */
	HTTP_BODY_INCOMPLETE,  /* fewer bytes arrived than CONTENT_LENGTH promised */
	HTTP_BODY_TIMED_OUT,   /* the body had not fully arrived HTTP_BODY_SECONDS after the request began */
};

struct http_request {
	struct arena *arena;
	const struct http_io *io;
	enum http_method method;
	const char *method_name;
	const char *path;  /* request path below the base path, starting with '/', not decoded */
	bool path_valid;   /* false when the path is too long or holds bytes outside printable ASCII */
	struct form query;
	struct form form;  /* the POST body, when body_status is HTTP_BODY_FORM */
	const char *body;  /* the POST body, when body_status is HTTP_BODY_JSON (NUL-terminated copy) */
	size_t body_length;
	enum http_body_status body_status;
	const char *remote_addr;
	const char *cookies; /* raw Cookie header, "" when none */
	bool https;
	const char *path_params[HTTP_PATH_PARAMS_MAX]; /* filled by the router: "{…}" segments */
	size_t path_param_count;
	struct visit *visit; /* the console's own state of this request (who, which workspace: pages.c); NULL elsewhere */
	struct api_caller *api_caller; /* the JSON API's caller (which key, which workspace: api/); NULL elsewhere */
};

/*
 * Read the variables and, for POST, the body (at most HTTP_BODY_MAX bytes: a larger
 * CONTENT_LENGTH is refused without reading). `base_path` ("" or "/console") is stripped from
 * the front of the path. Never fails: problems are recorded in the struct for the router.
 */
void http_request_read(struct http_request *request, struct arena *arena, const struct http_io *io,
		       const char *base_path);

/* A request variable (CGI meta-variable or HTTP_* header), or NULL. */
const char *http_request_env(const struct http_request *request, const char *name);

/* True when the web server sent variable `name` more than once (struct http_io, repeated). */
bool http_request_env_repeated(const struct http_request *request, const char *name);

/* The value of cookie `name` from the Cookie header, or NULL. */
const char *http_request_cookie(const struct http_request *request, const char *name);

#endif
