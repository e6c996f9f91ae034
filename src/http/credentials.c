/* credentials.c: find the API key in the Authorization or X-API-Key header. */
#include "http/credentials.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

/* Trim spaces and tabs around [*start, *start + *length). */
static void trim(const char **start, size_t *length)
{
	while (*length > 0 && (**start == ' ' || **start == '\t')) {
		(*start)++;
		(*length)--;
	}
	while (*length > 0 && ((*start)[*length - 1] == ' ' || (*start)[*length - 1] == '\t'))
		(*length)--;
}

/* One header's key: NONE when absent or empty, SEVERAL when it holds a list. */
static enum http_key_presence from_value(const char *value, const char **key, size_t *length)
{
	*key = value;
	*length = strlen(value);
	trim(key, length);
	if (*length == 0)
		return HTTP_KEY_NONE;
	if (memchr(*key, ',', *length) != NULL || memchr(*key, ' ', *length) != NULL ||
	    memchr(*key, '\t', *length) != NULL)
		return HTTP_KEY_SEVERAL;
	return HTTP_KEY_ONE;
}

enum http_key_presence http_request_api_key(const struct http_request *request, const char **key, size_t *length)
{
	const char *bearer = NULL, *header_key = NULL;
	size_t bearer_length = 0, header_length = 0;
	enum http_key_presence from_authorization = HTTP_KEY_NONE, from_header = HTTP_KEY_NONE;

	const char *authorization = http_request_env(request, "HTTP_AUTHORIZATION");
	const char *api_key = http_request_env(request, "HTTP_X_API_KEY");
	/* Two copies of a header sent as two variables: several keys, as when a server joins them. */
	if ((authorization != NULL && http_request_env_repeated(request, "HTTP_AUTHORIZATION")) ||
	    (api_key != NULL && http_request_env_repeated(request, "HTTP_X_API_KEY")))
		return HTTP_KEY_SEVERAL;
	if (authorization != NULL) {
		authorization += strspn(authorization, " \t");
		if (strncasecmp(authorization, "Bearer", 6) == 0 &&
		    (authorization[6] == ' ' || authorization[6] == '\t' || authorization[6] == '\0'))
			from_authorization = from_value(authorization + 6, &bearer, &bearer_length);
	}
	if (api_key != NULL)
		from_header = from_value(api_key, &header_key, &header_length);

	if (from_authorization == HTTP_KEY_SEVERAL || from_header == HTTP_KEY_SEVERAL)
		return HTTP_KEY_SEVERAL;
	if (from_authorization == HTTP_KEY_ONE && from_header == HTTP_KEY_ONE &&
	    (bearer_length != header_length || memcmp(bearer, header_key, bearer_length) != 0))
		return HTTP_KEY_SEVERAL;
	if (from_authorization == HTTP_KEY_ONE) {
		*key = bearer;
		*length = bearer_length;
		return HTTP_KEY_ONE;
	}
	if (from_header == HTTP_KEY_ONE) {
		*key = header_key;
		*length = header_length;
		return HTTP_KEY_ONE;
	}
	*key = NULL;
	*length = 0;
	return HTTP_KEY_NONE;
}
