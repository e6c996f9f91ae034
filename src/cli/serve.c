/*
 * serve.c: keyward as a server: `keyward serve` (a standalone FastCGI server with one or two
 * listeners), and, with no command, the web server's own way of running it (spawned FastCGI with
 * the listening socket on standard input, or one CGI request).
 */
#include "cli/cli.h"

#include <fcgiapp.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"
#include "domain/accounts.h"
#include "server/server.h"
#include "store/store.h"
#include "view/view.h"

/* The compiled templates; NULL after saying why. */
static struct view *load_view(const struct config *config)
{
	char error[1024];
	struct view *view = view_load(config->template_dir, error, sizeof error);
	if (view == NULL)
		cli_fail(error);
	return view;
}

/* Open each listener's socket; on failure say which and return false. */
static bool open_listeners(struct server_listener *listeners, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		listeners[i].fd = server_listen(listeners[i].address);
		if (listeners[i].fd < 0) {
			fprintf(stderr, "keyward: cannot listen on %s\n", listeners[i].address);
			return false;
		}
	}
	return true;
}

int cli_serve_check(const struct cli_args *args)
{
	const char *listen = cli_text(args, "listen"), *gatekeeper = cli_text(args, "gatekeeper");
	if (listen[0] == '\0')
		return cli_usage(args, "--listen needs HOST:PORT or /path/to.sock");
	if (gatekeeper != NULL && gatekeeper[0] == '\0')
		return cli_usage(args, "--gatekeeper needs HOST:PORT or /path/to.sock");
	if (cli_flag(args, "gatekeeper-threads") && gatekeeper == NULL)
		return cli_usage(args, "--gatekeeper-threads needs --gatekeeper ADDRESS");
	if (gatekeeper != NULL && strcmp(listen, gatekeeper) == 0)
		return cli_usage(args, "--listen and --gatekeeper need two different addresses");
	unsigned mode = 0;
	const char *socket_mode = cli_text(args, "socket-mode"), *socket_group = cli_text(args, "socket-group");
	if (socket_mode != NULL && !server_parse_socket_mode(socket_mode, &mode))
		return cli_usage(args, "--socket-mode takes an octal mode from 0600 to 0777 (owner read and write), such as "
				       "0660");
	if (socket_group != NULL && socket_group[0] == '\0')
		return cli_usage(args, "--socket-group needs a group name or number, such as www-data");
	if ((socket_mode != NULL || socket_group != NULL) && !server_address_is_unix(listen) &&
	    (gatekeeper == NULL || !server_address_is_unix(gatekeeper)))
		return cli_usage(args, "--socket-mode and --socket-group are for a unix socket: --listen /path/to.sock");
	return CLI_OK;
}

int cli_serve(const struct config *config, const struct cli_args *args)
{
	struct server_listener listeners[2] = {
		{ .address = cli_text(args, "listen"), .fd = -1, .serves = SERVER_SERVES_ALL,
		  .threads = (int)cli_number(args, "threads", SERVER_THREADS_DEFAULT) },
		{ .address = cli_text(args, "gatekeeper"), .fd = -1, .serves = SERVER_SERVES_GATEKEEPER,
		  .threads = (int)cli_number(args, "gatekeeper-threads", SERVER_THREADS_DEFAULT) },
	};
	size_t count = listeners[1].address != NULL ? 2 : 1;
	unsigned socket_mode = 0; /* 0: SERVER_SOCKET_MODE_DEFAULT; cli_serve_check() vouched for the text */
	if (cli_text(args, "socket-mode") != NULL)
		server_parse_socket_mode(cli_text(args, "socket-mode"), &socket_mode);
	for (size_t i = 0; i < count; i++) {
		listeners[i].socket_mode = socket_mode;
		listeners[i].socket_group = cli_text(args, "socket-group");
	}
	struct view *view = load_view(config);
	if (view == NULL)
		return CLI_FAILED;
	if (!open_listeners(listeners, count)) {
		view_free(view);
		return CLI_FAILED;
	}
	fprintf(stderr, "keyward: serving FastCGI on %s with %d thread%s (at most %u password checks at once)\n",
		listeners[0].address, listeners[0].threads, listeners[0].threads == 1 ? "" : "s",
		account_password_concurrency(0));
	if (count == 2)
		fprintf(stderr, "keyward: serving the gatekeeper (authorizer requests and /api/) on %s with %d thread%s\n",
			listeners[1].address, listeners[1].threads, listeners[1].threads == 1 ? "" : "s");
	int status = server_run_fastcgi(config, view, listeners, count);
	view_free(view);
	return status;
}

int cli_serve_web_server(const struct config *config)
{
	struct view *view = load_view(config);
	if (view == NULL)
		return CLI_FAILED;
	int status;
	if (!FCGX_IsCGI()) {
		struct server_listener spawned = { .address = "the socket the web server passed (fd 0)", .fd = 0,
						  .threads = 1, .serves = SERVER_SERVES_ALL };
		status = server_run_fastcgi(config, view, &spawned, 1);
	} else {
		status = server_run_cgi(config, view);
	}
	view_free(view);
	return status;
}
