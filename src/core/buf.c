/* buf.c: growable byte strings. */
#include "core/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

void buf_reserve(struct buf *buf, size_t extra)
{
	size_t needed = buf->length + extra + 1;
	if (needed <= buf->capacity)
		return;
	size_t capacity = buf->capacity ? buf->capacity : 256;
	while (capacity < needed)
		capacity *= 2;
	buf->data = xrealloc(buf->data, capacity);
	buf->capacity = capacity;
}

void buf_append(struct buf *buf, const char *bytes, size_t length)
{
	buf_reserve(buf, length);
	if (length > 0)
		memcpy(buf->data + buf->length, bytes, length);
	buf->length += length;
	buf->data[buf->length] = '\0';
}

void buf_puts(struct buf *buf, const char *text)
{
	buf_append(buf, text, strlen(text));
}

/* One vsnprintf when the text fits in the room left (the usual case); else grow and write again. */
void buf_printf(struct buf *buf, const char *format, ...)
{
	va_list arguments;
	va_start(arguments, format);
	size_t room = buf->capacity - buf->length; /* buf_reserve keeps capacity > length once allocated */
	va_list copy;
	va_copy(copy, arguments);
	int length = vsnprintf(room > 0 ? buf->data + buf->length : NULL, room, format, copy);
	va_end(copy);
	if (length > 0 && (size_t)length >= room) {
		buf_reserve(buf, (size_t)length);
		vsnprintf(buf->data + buf->length, (size_t)length + 1, format, arguments);
	}
	if (length > 0)
		buf->length += (size_t)length;
	else if (room > 0)
		buf->data[buf->length] = '\0'; /* an encoding error may have left a partial write */
	va_end(arguments);
}

void buf_clear(struct buf *buf)
{
	buf->length = 0;
	if (buf->data != NULL)
		buf->data[0] = '\0';
}

void buf_free(struct buf *buf)
{
	free(buf->data);
	buf->data = NULL;
	buf->length = 0;
	buf->capacity = 0;
}
