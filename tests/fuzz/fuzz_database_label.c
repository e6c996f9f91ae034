/*
 * fuzz_database_label.c: libFuzzer target for config_database_label(), which shows a database in
 * messages and pages without its password.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECRET "Zq7SECRETpw"
#define TEXT_MAX 2048

static void fuzz_require(bool condition, const char *what, const char *text)
{
	if (!condition) {
		fprintf(stderr, "fuzz_database_label: %s (input \"%s\")\n", what, text);
		abort();
	}
}

/* Append `length` bytes of `bytes` to text[*used], leaving out NULs and any byte in `without`. */
static void append(char *text, size_t *used, const uint8_t *bytes, size_t length, const char *without)
{
	for (size_t i = 0; i < length && *used + 1 < TEXT_MAX; i++)
		if (bytes[i] != '\0' && (without == NULL || strchr(without, bytes[i]) == NULL))
			text[(*used)++] = (char)bytes[i];
	text[*used] = '\0';
}

static void append_text(char *text, size_t *used, const char *more)
{
	append(text, used, (const uint8_t *)more, strlen(more), NULL);
}

/*
 * Byte 0 picks a shape, byte 1 the label's size (1 to 256), the rest is two parts A and B (split
 * at the first NUL). Shapes 0 to 2 put the password SECRET where libpq reads it:
 *   0  postgresql://A:SECRET@B           (A without '@' and '/': the userinfo)
 *   1  postgresql://A?password=SECRET&B  (A without '?': the parameter is a parameter)
 *   2  host=h A<space>password<spaces>=<spaces>SECRET or 'SECRET'<space>B, any of libpq's
 *      spaces (A without quotes, backslashes and '=': the word is a word, not inside a value)
 *   3+ A and B as they are.
 * Whatever the bytes: the label is terminated within its size and no longer than the input; for
 * shapes 0 to 2 it never holds SECRET (unless A or B do), and a label of the label is itself; a
 * short label is the start of the whole one.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	unsigned shape = data[0] % 5;
	unsigned spaces = data[0] / 5;
	size_t label_size = 1 + data[1];
	const uint8_t *a = data + 2, *b = memchr(a, '\0', size - 2);
	size_t a_length = b == NULL ? size - 2 : (size_t)(b - a);
	size_t b_length = b == NULL ? 0 : size - 2 - a_length - 1;
	if (b != NULL)
		b++;
	static const char *const a_without[] = { "@/", "?", "'\\=", NULL, NULL };
	static const char *const blanks[] = { " ", "\t", "\n", "  ", "\r\v", "\f" };
	const char *blank = blanks[spaces % 6];
	char text[TEXT_MAX];
	size_t used = 0;
	text[0] = '\0';
	switch (shape) {
	case 0:
		append_text(text, &used, "postgresql://");
		append(text, &used, a, a_length, a_without[shape]);
		append_text(text, &used, ":" SECRET "@");
		append(text, &used, b, b_length, NULL);
		break;
	case 1:
		append_text(text, &used, "postgresql://");
		append(text, &used, a, a_length, a_without[shape]);
		append_text(text, &used, "?password=" SECRET "&");
		append(text, &used, b, b_length, NULL);
		break;
	case 2:
		append_text(text, &used, "host=h ");
		append(text, &used, a, a_length, a_without[shape]);
		append_text(text, &used, " password");
		append_text(text, &used, spaces & 1 ? blank : "");
		append_text(text, &used, "=");
		append_text(text, &used, spaces & 2 ? blank : "");
		append_text(text, &used, spaces & 4 ? "'" SECRET "\\' x'" : SECRET);
		append_text(text, &used, blank);
		append(text, &used, b, b_length, NULL);
		break;
	default:
		append(text, &used, a, a_length, NULL);
		append(text, &used, b, b_length, NULL);
		break;
	}
	char label[257];
	memset(label, 'x', sizeof label);
	config_database_label(text, label, label_size);
	size_t length = strnlen(label, label_size);
	fuzz_require(length < label_size, "not terminated within its size", text);
	fuzz_require(length <= strlen(text), "longer than the input", text);
	if (shape <= 2) {
		char parts[TEXT_MAX];
		size_t parts_used = 0;
		append(parts, &parts_used, a, a_length, a_without[shape]); /* A as the text holds it */
		append_text(parts, &parts_used, "\x01");
		append(parts, &parts_used, b, b_length, NULL);
		fuzz_require(strstr(label, SECRET) == NULL || strstr(parts, SECRET) != NULL, "the password shows", text);
	}
	char full[TEXT_MAX], again[TEXT_MAX];
	config_database_label(text, full, sizeof full);
	config_database_label(full, again, sizeof again);
	/* (Of the shapes that stay a URI or a conninfo once cut: a cut conninfo may read as a URI after.) */
	fuzz_require(shape > 2 || strcmp(full, again) == 0, "a label of a label is not itself", text);
	fuzz_require(strncmp(label, full, length) == 0, "a short label is not the start of the whole one", text);
	return 0;
}
