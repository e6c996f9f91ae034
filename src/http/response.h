/*
 * response.h: the response a handler builds, and how it is sent.
 *
 * Handlers set a status, add headers and append to the body; http_response_send() writes the
 * CGI-style header block (with the security headers every page carries) and the body.
 */
#ifndef KEYWARD_HTTP_RESPONSE_H
#define KEYWARD_HTTP_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "http/request.h"

#define HTTP_HEADERS_MAX 16

struct http_header {
	const char *name;
	const char *value;
};

struct http_response {
	int status;
	const char *content_type;
	bool no_store; /* Cache-Control: no-store (pages that show a secret) */
	bool headers_only; /* only Status and the added headers: an authorizer's grant, whose other
			      headers Apache would pass on to the client */
	struct http_header headers[HTTP_HEADERS_MAX];
	size_t header_count;
	struct buf body;
	bool streamed; /* the header block went out with http_response_stream_begin() */
};

void http_response_init(struct http_response *response);
void http_response_free(struct http_response *response);

/* Add a header; names and values must outlive the response (arena or literals). Extra ones are dropped. */
void http_response_header(struct http_response *response, const char *name, const char *value);

/* 303 See Other to `location` (already prefixed with the base path). */
void http_response_redirect(struct http_response *response, const char *location);

/* Write the header block and the body (no body for HEAD). */
void http_response_send(const struct http_response *response, const struct http_request *request);

/*
 * A body too large to hold (an export of every key): send the header block now, with the status,
 * content type and headers set so far but no Content-Length (the web server ends the body when
 * the request ends), and then the body in parts with http_response_stream(), each sent as it is
 * given; http_response_send() sends nothing more. For HEAD, the parts are not sent.
 */
void http_response_stream_begin(struct http_response *response, const struct http_request *request);
void http_response_stream(const struct http_response *response, const struct http_request *request,
			  const char *bytes, size_t length);

/* "Not Found" for 404 and so on. */
const char *http_status_text(int status);

#endif
