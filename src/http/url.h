/* url.h: building URLs: percent-encoding text for a query string. */
#ifndef KEYWARD_HTTP_URL_H
#define KEYWARD_HTTP_URL_H

struct arena;

/* `text` percent-encoded for use as a query value (unreserved characters kept, space as %20). */
char *url_query_escape(struct arena *arena, const char *text);

#endif
