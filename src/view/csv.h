/*
 * csv.h: rows of comma-separated values (RFC 4180) for spreadsheets, guarded against formula injection.
 *
 * A cell holding a comma, a double quote, CR or LF is quoted, its double quotes doubled; rows end
 * with CR LF. A cell a spreadsheet would take for a formula or a command (one that starts with
 * '=', '+', '-', '@', a tab or CR: OWASP's "CSV injection") gets a single quote in front, which
 * spreadsheets show as text and do not run. Text is copied byte for byte (UTF-8 stays UTF-8).
 */
#ifndef KEYWARD_VIEW_CSV_H
#define KEYWARD_VIEW_CSV_H

#include <stddef.h>

struct buf;

/* Append the row cells[0..count-1] (NULL is an empty cell) and its CR LF to `out`. */
void csv_row(struct buf *out, const char *const *cells, size_t count);

#endif
