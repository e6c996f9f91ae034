/* alloc.c: abort-on-failure heap helpers and a bump-pointer arena built from linked blocks. */
#include "core/alloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK_SIZE ((size_t)32 * 1024)
#define ARENA_ALIGN ((size_t)16)

static void out_of_memory(size_t size)
{
	fprintf(stderr, "keyward: out of memory (asked for %zu bytes)\n", size);
	abort();
}

void *xmalloc(size_t size)
{
	void *pointer = malloc(size ? size : 1);
	if (pointer == NULL)
		out_of_memory(size);
	return pointer;
}

void *xcalloc(size_t count, size_t size)
{
	void *pointer = calloc(count ? count : 1, size ? size : 1);
	if (pointer == NULL)
		out_of_memory(count * size);
	return pointer;
}

void *xrealloc(void *pointer, size_t size)
{
	void *grown = realloc(pointer, size ? size : 1);
	if (grown == NULL)
		out_of_memory(size);
	return grown;
}

char *xstrdup(const char *text)
{
	size_t length = strlen(text);
	char *copy = xmalloc(length + 1);
	memcpy(copy, text, length + 1);
	return copy;
}

struct arena_block {
	struct arena_block *next;
	size_t capacity;
	size_t used;
	max_align_t data[]; /* capacity bytes follow */
};

struct arena {
	struct arena_block *first;
	struct arena_block *current;
};

static struct arena_block *block_new(size_t capacity)
{
	struct arena_block *block = xmalloc(sizeof *block + capacity);
	block->next = NULL;
	block->capacity = capacity;
	block->used = 0;
	return block;
}

struct arena *arena_new(void)
{
	struct arena *arena = xmalloc(sizeof *arena);
	arena->first = block_new(ARENA_BLOCK_SIZE);
	arena->current = arena->first;
	return arena;
}

static void free_blocks_after(struct arena_block *block)
{
	struct arena_block *next = block->next;
	block->next = NULL;
	while (next != NULL) {
		struct arena_block *after = next->next;
		free(next);
		next = after;
	}
}

void arena_reset(struct arena *arena)
{
	free_blocks_after(arena->first);
	arena->first->used = 0;
	arena->current = arena->first;
}

void arena_free(struct arena *arena)
{
	if (arena == NULL)
		return;
	free_blocks_after(arena->first);
	free(arena->first);
	free(arena);
}

void *arena_alloc(struct arena *arena, size_t size)
{
	size_t rounded = (size + ARENA_ALIGN - 1) & ~(ARENA_ALIGN - 1);
	if (rounded < size)
		out_of_memory(size);
	struct arena_block *block = arena->current;
	if (block->capacity - block->used < rounded) {
		size_t capacity = rounded > ARENA_BLOCK_SIZE ? rounded : ARENA_BLOCK_SIZE;
		struct arena_block *fresh = block_new(capacity);
		block->next = fresh;
		arena->current = fresh;
		block = fresh;
	}
	void *pointer = (char *)block->data + block->used;
	block->used += rounded;
	memset(pointer, 0, size);
	return pointer;
}

char *arena_strndup(struct arena *arena, const char *text, size_t length)
{
	char *copy = arena_alloc(arena, length + 1);
	memcpy(copy, text, length);
	copy[length] = '\0';
	return copy;
}

char *arena_strdup(struct arena *arena, const char *text)
{
	return text == NULL ? NULL : arena_strndup(arena, text, strlen(text));
}

char *arena_vprintf(struct arena *arena, const char *format, va_list arguments)
{
	va_list copy;
	va_copy(copy, arguments);
	int length = vsnprintf(NULL, 0, format, copy);
	va_end(copy);
	if (length < 0)
		return arena_strdup(arena, "");
	char *text = arena_alloc(arena, (size_t)length + 1);
	vsnprintf(text, (size_t)length + 1, format, arguments);
	return text;
}

char *arena_printf(struct arena *arena, const char *format, ...)
{
	va_list arguments;
	va_start(arguments, format);
	char *text = arena_vprintf(arena, format, arguments);
	va_end(arguments);
	return text;
}
