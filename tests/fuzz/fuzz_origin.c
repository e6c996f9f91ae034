/* fuzz_origin.c: libFuzzer target for text_origin(), the console's reading of Host, SERVER_PORT and Origin. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_require(bool condition, const char *what, const char *text)
{
	if (!condition) {
		fprintf(stderr, "fuzz_origin: %s (input \"%s\")\n", what, text);
		abort();
	}
}

/*
 * The first byte picks the scheme, the bytes up to the first NUL after it are the authority, the rest
 * SERVER_PORT. Whatever the bytes: a refusal leaves "", an origin starts with its scheme, fits,
 * holds no upper-case letter, no default port and nothing but host and port characters, and reads
 * back as itself.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	bool https = data[0] & 1;
	char *text = malloc(size);
	if (text == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	size_t authority_length = strlen(text);
	const char *port = authority_length + 1 < size - 1 ? text + authority_length + 1 : NULL;
	char origin[TEXT_ORIGIN_MAX];
	memset(origin, 'x', sizeof origin);
	bool ok = text_origin(origin, https, text, authority_length, port);
	size_t length = strnlen(origin, sizeof origin);
	fuzz_require(length < sizeof origin, "not terminated", text);
	if (!ok) {
		fuzz_require(length == 0, "a refusal that left an origin", text);
	} else {
		const char *scheme = https ? "https://" : "http://";
		fuzz_require(strncmp(origin, scheme, strlen(scheme)) == 0, "wrong scheme", text);
		const char *rest = origin + strlen(scheme);
		fuzz_require(strspn(rest, "abcdefghijklmnopqrstuvwxyz0123456789.-_[]:") == strlen(rest), "odd byte", text);
		const char *default_port = https ? ":443" : ":80";
		size_t rest_length = strlen(rest);
		fuzz_require(rest_length < strlen(default_port) ||
				     strcmp(rest + rest_length - strlen(default_port), default_port) != 0,
			     "default port kept", text);
		char again[TEXT_ORIGIN_MAX];
		fuzz_require(text_origin(again, https, rest, rest_length, NULL) && strcmp(again, origin) == 0, "not stable",
			     text);
	}
	free(text);
	return 0;
}
