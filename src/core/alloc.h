/* alloc.h: allocation that never returns NULL, and the per-request arena. */
#ifndef KEYWARD_CORE_ALLOC_H
#define KEYWARD_CORE_ALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* Heap helpers: on exhaustion they print one line and abort(); callers never check for NULL. */
void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *pointer, size_t size);
char *xstrdup(const char *text);

/*
 * An arena hands out memory that lives until arena_free(). A request owns one arena; everything
 * built while serving it (parsed parameters, store rows, the view tree, the rendered page) comes
 * from it and is released in one place at the end of the loop turn.
 */
struct arena;

struct arena *arena_new(void);
void arena_free(struct arena *arena);
/* Forget every allocation but keep the first block, for reuse by the next request. */
void arena_reset(struct arena *arena);

void *arena_alloc(struct arena *arena, size_t size);      /* zeroed, aligned for any type */
char *arena_strdup(struct arena *arena, const char *text); /* NULL stays NULL */
char *arena_strndup(struct arena *arena, const char *text, size_t length); /* always NUL-terminated */
char *arena_printf(struct arena *arena, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *arena, const char *format, va_list arguments)
    __attribute__((format(printf, 2, 0)));

#endif
