/* response.c: status, headers and body of a response, and the CGI-style header block. */
#include "http/response.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

void http_response_init(struct http_response *response)
{
	memset(response, 0, sizeof *response);
	response->status = 200;
	response->content_type = "text/html; charset=utf-8";
}

void http_response_free(struct http_response *response)
{
	if (response->no_store && response->body.data != NULL)
		sodium_memzero(response->body.data, response->body.capacity);
	buf_free(&response->body);
}

void http_response_header(struct http_response *response, const char *name, const char *value)
{
	if (response->header_count == HTTP_HEADERS_MAX)
		return;
	response->headers[response->header_count].name = name;
	response->headers[response->header_count].value = value;
	response->header_count++;
}

void http_response_redirect(struct http_response *response, const char *location)
{
	response->status = 303;
	http_response_header(response, "Location", location);
	buf_clear(&response->body);
}

const char *http_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 303: return "See Other";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

/*
 * The policy every console page carries: no inline script, no framing, no referrer leaks across
 * origins, no MIME sniffing.
 */
static const char security_headers[] =
	"Content-Security-Policy: default-src 'none'; style-src 'self'; img-src 'self' data:; "
	"script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'\r\n"
	"X-Content-Type-Options: nosniff\r\n"
	"X-Frame-Options: DENY\r\n"
	"Referrer-Policy: same-origin\r\n";

/* "Name: value" and CRLF, without printf: the gatekeeper sends a few of these per request. */
static void append_header(struct buf *head, const char *name, const char *value)
{
	buf_puts(head, name);
	buf_append(head, ": ", 2);
	buf_puts(head, value);
	buf_append(head, "\r\n", 2);
}

/* Decimal digits of `number`, without printf (about 500 instructions less per call). */
static void append_number(struct buf *head, size_t number)
{
	char digits[24];
	size_t at = sizeof digits;
	do {
		digits[--at] = (char)('0' + number % 10);
		number /= 10;
	} while (number > 0);
	buf_append(head, digits + at, sizeof digits - at);
}

/*
 * The header block and the body go out in one buffer and one write, sized once: a refusal (head
 * with the security headers, and a small JSON body) costs one allocation, not three.
 */
#define HEAD_ROOM 768

/* What every page's header block ends with: caching, the security headers, the handler's own, a blank line. */
static void append_page_headers(struct buf *head, const struct http_response *response)
{
	buf_puts(head, response->no_store ? "Cache-Control: no-store\r\n" : "Cache-Control: no-cache\r\n");
	buf_puts(head, security_headers);
	for (size_t i = 0; i < response->header_count; i++)
		append_header(head, response->headers[i].name, response->headers[i].value);
	buf_puts(head, "\r\n");
}

void http_response_send(const struct http_response *response, const struct http_request *request)
{
	if (response->streamed)
		return;
	struct buf head = BUF_INIT;
	bool with_body = !response->headers_only && request->method != HTTP_HEAD && response->body.length > 0;
	buf_reserve(&head, HEAD_ROOM + (with_body ? response->body.length : 0));
	buf_puts(&head, "Status: ");
	append_number(&head, response->status > 0 ? (size_t)response->status : 500);
	buf_puts(&head, " ");
	buf_puts(&head, http_status_text(response->status));
	buf_puts(&head, "\r\n");
	if (response->headers_only) {
		for (size_t i = 0; i < response->header_count; i++)
			append_header(&head, response->headers[i].name, response->headers[i].value);
		buf_puts(&head, "\r\n");
		request->io->write(request->io->context, head.data, head.length);
		buf_free(&head);
		return;
	}
	if (response->body.length > 0 || response->status != 303)
		append_header(&head, "Content-Type", response->content_type);
	buf_puts(&head, "Content-Length: ");
	append_number(&head, response->body.length);
	buf_puts(&head, "\r\n");
	append_page_headers(&head, response);
	if (with_body)
		buf_append(&head, response->body.data, response->body.length);
	request->io->write(request->io->context, head.data, head.length);
	if (response->no_store) /* the body may hold a secret: wipe the copy as well */
		sodium_memzero(head.data, head.capacity);
	buf_free(&head);
}

void http_response_stream_begin(struct http_response *response, const struct http_request *request)
{
	struct buf head = BUF_INIT;
	buf_puts(&head, "Status: ");
	append_number(&head, response->status > 0 ? (size_t)response->status : 500);
	buf_puts(&head, " ");
	buf_puts(&head, http_status_text(response->status));
	buf_puts(&head, "\r\n");
	append_header(&head, "Content-Type", response->content_type);
	append_page_headers(&head, response);
	request->io->write(request->io->context, head.data, head.length);
	buf_free(&head);
	response->streamed = true;
}

void http_response_stream(const struct http_response *response, const struct http_request *request,
			  const char *bytes, size_t length)
{
	if (response->streamed && request->method != HTTP_HEAD && length > 0)
		request->io->write(request->io->context, bytes, length);
}
