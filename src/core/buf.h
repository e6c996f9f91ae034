/* buf.h: a growable byte string on the heap, for building output of unknown length. */
#ifndef KEYWARD_CORE_BUF_H
#define KEYWARD_CORE_BUF_H

#include <stddef.h>

struct buf {
	char *data;      /* NUL-terminated once anything was appended; NULL when empty and fresh */
	size_t length;
	size_t capacity;
};

#define BUF_INIT { NULL, 0, 0 }

void buf_append(struct buf *buf, const char *bytes, size_t length);
void buf_puts(struct buf *buf, const char *text);
void buf_printf(struct buf *buf, const char *format, ...) __attribute__((format(printf, 2, 3)));
void buf_clear(struct buf *buf); /* keeps the memory for reuse */
void buf_reserve(struct buf *buf, size_t extra); /* room for `extra` more bytes (and the NUL) at once */
void buf_free(struct buf *buf);

#endif
