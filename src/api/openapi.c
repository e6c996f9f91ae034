/*
 * openapi.c: GET /api/v1/openapi.json: the OpenAPI 3.1 document of this API, src/api/openapi.json
 * as it was built in (build/openapi.h), so that the document served is the one the tests held the
 * answers against. Anyone may read it: it describes the API, it holds nothing of anyone's.
 */
#include <string.h>

#include "api/api_private.h"
#include "openapi.h"

void api_openapi(struct app *app, struct http_request *request, struct http_response *response)
{
	(void)app;
	(void)request;
	response->status = 200;
	response->content_type = "application/json";
	buf_clear(&response->body);
	buf_append(&response->body, api_openapi_document, sizeof api_openapi_document - 1);
}
