/* url.c: percent-encoding for query strings. */
#include "http/url.h"

#include <string.h>

#include "core/alloc.h"

char *url_query_escape(struct arena *arena, const char *text)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t length = strlen(text);
	char *escaped = arena_alloc(arena, 3 * length + 1);
	char *out = escaped;
	for (const unsigned char *c = (const unsigned char *)text; *c != '\0'; c++) {
		if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
		    strchr("-._~", *c) != NULL) {
			*out++ = (char)*c;
		} else {
			*out++ = '%';
			*out++ = hex[*c >> 4];
			*out++ = hex[*c & 15];
		}
	}
	*out = '\0';
	return escaped;
}
