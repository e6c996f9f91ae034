/* pages.h: the console's HTML pages, behind one entry point the server calls for each request. */
#ifndef KEYWARD_PAGES_H
#define KEYWARD_PAGES_H

struct app;
struct http_request;

/* Route `request`, run its handler (or render the error page) and send the response. */
void pages_handle(struct app *app, struct http_request *request);

#endif
