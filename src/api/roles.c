/* roles.c: GET /api/v1/roles: the roles of the caller's workspace, which a key's "role" names. */
#include "api/api_private.h"
#include "core/alloc.h"

void api_roles_list(struct app *app, struct http_request *request, struct http_response *response)
{
	if (request->query.count > 0) {
		api_send_error(request, response, 400, "invalid_request", "This endpoint takes no query parameters");
		return;
	}
	struct store_role *roles = NULL;
	size_t count = 0;
	enum store_status status =
		store_role_list(app->store, request->arena, request->api_caller->workspace_id, &roles, &count);
	if (status != STORE_OK) {
		api_send_store_error(request, response, status);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < count; i++)
		json_array_append_new(data, json_pack("{s:s, s:s, s:o}", "name", roles[i].name, "description",
						      roles[i].description, "permissions",
						      api_permission_list(roles[i].permissions)));
	api_send_json(request, response, 200, json_pack("{s:o}", "data", data));
}
