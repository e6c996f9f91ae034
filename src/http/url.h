/* url.h: building URLs (percent-encoding text for a query string) and reading request paths. */
#ifndef KEYWARD_HTTP_URL_H
#define KEYWARD_HTTP_URL_H

struct arena;

/* `text` percent-encoded for use as a query value (unreserved characters kept, space as %20). */
char *url_query_escape(struct arena *arena, const char *text);

/*
 * `path` (a request path without its query) as lighttpd and Apache read it before they pick a
 * handler: percent-escapes decoded (all but %00, which stays as it is, like a malformed escape),
 * empty and "." segments dropped, ".." removing the segment before it (never above "/"). So
 * "/v1/%61dmin/x", "/v1//admin/x" and "/v1/y/../admin/x" all become "/v1/admin/x". The result
 * starts with '/', ends with '/' when the path ended in a folder ("/", "/.", "/.."), and lives
 * in `arena`. Any bytes are accepted.
 */
char *url_path_normalize(struct arena *arena, const char *path);

#endif
