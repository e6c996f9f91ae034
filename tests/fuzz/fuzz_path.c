/* fuzz_path.c: libFuzzer target for url_path_normalize(), the gatekeeper's reading of REQUEST_URI paths. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "http/url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_require(bool condition, const char *what, const char *text)
{
	if (!condition) {
		fprintf(stderr, "fuzz_path: %s (input \"%s\")\n", what, text);
		abort();
	}
}

/*
 * Whatever the bytes: the result starts with '/', holds no empty, "." or ".." segment, is at most
 * two bytes longer than the input, and, when it holds no '%' left to decode, stays as it is when
 * normalized again.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct arena *arena = arena_new();
	const char *normal = url_path_normalize(arena, text);
	size_t length = strlen(normal);
	fuzz_require(normal[0] == '/', "does not start with /", text);
	fuzz_require(length <= strlen(text) + 2, "longer than the input allows", text);
	fuzz_require(strstr(normal, "//") == NULL, "empty segment", text);
	for (const char *segment = normal + 1; *segment != '\0';) {
		size_t segment_length = strcspn(segment, "/");
		fuzz_require(!(segment_length == 1 && segment[0] == '.'), "\".\" segment", text);
		fuzz_require(!(segment_length == 2 && segment[0] == '.' && segment[1] == '.'), "\"..\" segment", text);
		segment += segment_length;
		if (*segment == '/')
			segment++;
	}
	if (strchr(normal, '%') == NULL)
		fuzz_require(strcmp(url_path_normalize(arena, normal), normal) == 0, "not stable", text);
	arena_free(arena);
	free(text);
	return 0;
}
