/* url.c: percent-encoding for query strings, and request paths decoded and normalized. */
#include "http/url.h"

#include <stdbool.h>
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

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

char *url_path_normalize(struct arena *arena, const char *path)
{
	size_t length = strlen(path);
	char *decoded = arena_alloc(arena, length + 1);
	size_t decoded_length = 0;
	for (size_t i = 0; i < length; i++) {
		int high = -1, low = -1;
		if (path[i] == '%' && (high = hex_value(path[i + 1])) >= 0 && (low = hex_value(path[i + 2])) >= 0 &&
		    (high | low) != 0) {
			decoded[decoded_length++] = (char)(high * 16 + low);
			i += 2;
		} else {
			decoded[decoded_length++] = path[i];
		}
	}
	decoded[decoded_length] = '\0';

	/* Each kept segment becomes "/segment": at most one byte more than the decoded path, plus a final '/'. */
	char *normal = arena_alloc(arena, decoded_length + 3);
	size_t used = 0;
	bool folder = true; /* the result names a folder: it gets a final '/' */
	for (const char *at = decoded; *at != '\0';) {
		if (*at == '/') {
			at++;
			continue;
		}
		size_t segment = strcspn(at, "/");
		if (segment == 1 && at[0] == '.') {
			folder = true;
		} else if (segment == 2 && at[0] == '.' && at[1] == '.') {
			while (used > 0 && normal[used - 1] != '/')
				used--;
			if (used > 0)
				used--;
			folder = true;
		} else {
			normal[used++] = '/';
			memcpy(normal + used, at, segment);
			used += segment;
			folder = at[segment] == '/';
		}
		at += segment;
	}
	if (used == 0 || folder)
		normal[used++] = '/';
	normal[used] = '\0';
	return normal;
}
