/* csv.c: RFC 4180 rows, with cells that could run as formulas made plain text. */
#include "view/csv.h"

#include <stdbool.h>
#include <string.h>

#include "core/buf.h"

static void cell(struct buf *out, const char *text)
{
	bool guarded = text[0] != '\0' && strchr("=+-@\t\r", text[0]) != NULL;
	bool quoted = strpbrk(text, ",\"\r\n") != NULL;
	if (quoted)
		buf_append(out, "\"", 1);
	if (guarded)
		buf_append(out, "'", 1);
	for (const char *at = text; *at != '\0';) {
		const char *quote = strchr(at, '"');
		size_t length = quote != NULL ? (size_t)(quote - at) + 1 : strlen(at);
		buf_append(out, at, length);
		if (quote != NULL)
			buf_append(out, "\"", 1); /* the quote again: "" inside a quoted cell */
		at += length;
	}
	if (quoted)
		buf_append(out, "\"", 1);
}

void csv_row(struct buf *out, const char *const *cells, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		if (i > 0)
			buf_append(out, ",", 1);
		cell(out, cells[i] != NULL ? cells[i] : "");
	}
	buf_append(out, "\r\n", 2);
}
