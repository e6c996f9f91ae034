/*
 * trivial_authorizer.c: the yardstick for `make bench`: a FastCGI authorizer that lets every
 * request through ("Status: 200" and one Variable- header) without looking at it.
 *
 * It has keyward's process model when lighttpd spawns it (bin-path): the listening socket is
 * fd 0 and one accept loop serves one request at a time, so the difference between the two is
 * keyward's own work per request.
 */
#include <fcgiapp.h>
#include <signal.h>

static const char answer[] = "Status: 200\r\nVariable-KEYWARD_KEY_ID: key_trivial\r\n\r\n";

int main(void)
{
	if (FCGX_Init() != 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	FCGX_Request request;
	FCGX_InitRequest(&request, 0, 0);
	while (FCGX_Accept_r(&request) == 0) {
		FCGX_PutStr(answer, (int)sizeof answer - 1, request.out);
		FCGX_Finish_r(&request);
	}
	FCGX_Free(&request, 1);
	return 0;
}
