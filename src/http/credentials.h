/*
 * credentials.h: the API key a request carries, from "Authorization: Bearer <key>" or
 * "X-API-Key: <key>". Web servers join repeated headers with ", ", so a value holding a comma
 * or a space (after the scheme) is more than one key; so is a header the server sent as two
 * variables (nginx before 1.23 over FastCGI).
 */
#ifndef KEYWARD_HTTP_CREDENTIALS_H
#define KEYWARD_HTTP_CREDENTIALS_H

#include <stddef.h>

#include "http/request.h"

enum http_key_presence {
	HTTP_KEY_NONE,    /* no key, an empty bearer, or another Authorization scheme */
	HTTP_KEY_ONE,     /* *key and *length are set (not NUL-terminated in general) */
	HTTP_KEY_SEVERAL, /* two different keys, or one header holding several */
};

enum http_key_presence http_request_api_key(const struct http_request *request, const char **key, size_t *length);

#endif
