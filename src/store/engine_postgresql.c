/*
 * engine_postgresql.c: the PostgreSQL engine (libpq), for more than one server on one database.
 *
 * One store is one connection, in autocommit between transactions, with every statement of the
 * table prepared once at open (its ?N parameters written as $N). Parameters go as text, blobs as
 * binary; rows come back as text: integers are parsed, booleans ("t"/"f") read as 1 and 0, and
 * bytea ("\x...") is decoded into the caller's arena. The schema is made and brought up to date
 * by src/store/schema/postgresql/NNN_*.sql (build/schema.h), under an advisory lock so that
 * servers starting together migrate once.
 */
#include "store/engine.h"

#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/alloc.h"
#include "core/config.h"
#include "schema_postgresql.h" /* store_postgresql_migrations[], from src/store/schema/postgresql/NNN_*.sql */

/*
 * How often the gate watcher reads the generation even when no notification came: the safety net
 * for a notification lost (a connection that died quietly, a proxy in between).
 */
#define WATCH_CHECK_MS 2000
/* How long the watcher waits before connecting again after it lost the database. */
#define WATCH_RETRY_MS 500

/* How long a store waits before it tries again to connect, after an attempt failed. */
#define RECONNECT_PAUSE_MS 500

/*
 * A session's settings, at open and after each reconnect: messages from warnings up, times in UTC,
 * and a wait for a lock (rows a rollup holds, a table an operator locked) that gives up with
 * STORE_BUSY after the busy timeout, as on SQLite, instead of waiting for ever; a lock_timeout the
 * URI sets (options=-c lock_timeout=...) is kept. The migrations run before the lock timeout is
 * set: a server that starts while another migrates waits for it.
 */
#define SESSION_SETUP "SET client_min_messages = warning; SET TIME ZONE 'UTC'"
#define SESSION_LOCK_TIMEOUT                                                                           \
	"SELECT set_config('lock_timeout', '" STORE_TEXT(STORE_BUSY_TIMEOUT_MS) "', false) "            \
	"WHERE current_setting('lock_timeout') IN ('0', '0ms')"

/* The advisory lock the migrations take (any fixed number). */
#define MIGRATION_LOCK "7738725088349021185" /* "keyward" and 1, in ASCII: 0x6b65797761726401 */

static PGconn *connection_of(struct store *store)
{
	return store->connection;
}

bool store_is_postgresql(const char *database)
{
	return config_is_postgresql(database);
}

/*
 * The SQL of `sql` with each ?N written $N (outside quotes), into `out`; used[N] says which N
 * appear. False when it does not fit.
 */
static bool dollar_parameters(const char *sql, char *out, size_t out_size, bool used[STORE_PARAMS_MAX + 1])
{
	size_t used_bytes = 0;
	char quote = '\0';
	for (const char *c = sql; *c != '\0'; c++) {
		if (used_bytes + 2 >= out_size)
			return false;
		if (quote != '\0') {
			if (*c == quote)
				quote = '\0';
		} else if (*c == '\'' || *c == '"') {
			quote = *c;
		} else if (*c == '?' && c[1] >= '0' && c[1] <= '9') {
			long number = strtol(c + 1, NULL, 10);
			if (number >= 1 && number <= STORE_PARAMS_MAX)
				used[number] = true;
			out[used_bytes++] = '$';
			continue;
		}
		out[used_bytes++] = *c;
	}
	out[used_bytes] = '\0';
	return true;
}

/* The text statement `which` has on PostgreSQL, or NULL when it has none there. */
static const char *postgresql_text(enum store_statement which)
{
	const char *text = store_statement_postgresql(which);
	if (text == NULL)
		text = store_statement_sql(which);
	return text[0] == '\0' ? NULL : text;
}

/* The type OID a parameter is prepared with (see prepare_one()). */
static Oid parameter_type(enum store_param_kind kind, bool used)
{
	switch (kind) {
	case STORE_PARAM_INT:
		return 20; /* bigint */
	case STORE_PARAM_TEXT:
		return 25; /* text */
	case STORE_PARAM_BLOB:
		return 17; /* bytea */
	case STORE_PARAM_NULL:
		break;
	}
	return used ? 0 : 25; /* 0: PostgreSQL infers it */
}

/*
 * The text of statement `which` with $N parameters into sql[sql_size], and the types of its
 * parameters into types[] (as prepare_one() says); returns how many parameters it takes, or -1
 * with error[] saying why (no such statement here, or too long).
 */
static int statement_text(enum store_statement which, const struct store_param *params, int param_count, char *sql,
			  size_t sql_size, Oid types[STORE_PARAMS_MAX], char *error, size_t error_size)
{
	const char *text = postgresql_text(which);
	bool used[STORE_PARAMS_MAX + 1] = { false };
	if (text == NULL || !dollar_parameters(text, sql, sql_size, used)) {
		snprintf(error, error_size, "statement %s %s", store_statement_name(which),
			 text == NULL ? "does not exist on PostgreSQL" : "is too long");
		return -1;
	}
	int count = 0;
	for (int i = 1; i <= STORE_PARAMS_MAX; i++)
		if (used[i] || i <= param_count)
			count = i;
	for (int i = 1; i <= count; i++)
		types[i - 1] = parameter_type(i <= param_count ? params[i - 1].kind : STORE_PARAM_NULL, used[i]);
	return count;
}

/*
 * Prepare statement `which` as `name` on `connection`. A parameter's type is what `params` (the
 * first values bound to it, when not NULL) say it is: integers bigint, text text, blobs bytea,
 * for PostgreSQL would take ?2 in "?2 / 1000" for a 32-bit integer; the rest it infers, and a
 * parameter the statement leaves out (SQLite ignores ?2 where only ?1 and ?3 appear), which it
 * could not, is text.
 */
static bool prepare_one(PGconn *connection, enum store_statement which, const char *name,
			const struct store_param *params, int param_count, char *error, size_t error_size)
{
	char sql[8192];
	Oid types[STORE_PARAMS_MAX];
	int count = statement_text(which, params, param_count, sql, sizeof sql, types, error, error_size);
	if (count < 0)
		return false;
	PGresult *result = PQprepare(connection, name, sql, count, types);
	bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
	PQclear(result);
	if (!ok) {
		snprintf(error, error_size, "cannot prepare statement %s: %s", store_statement_name(which),
			 PQerrorMessage(connection));
		size_t length = strlen(error);
		if (length > 0 && error[length - 1] == '\n')
			error[length - 1] = '\0';
	}
	return ok;
}

/* The store status of a failed result (SQLSTATE classes; no SQLSTATE: the connection is lost). */
static int status_of_error(const PGresult *result)
{
	const char *state = result == NULL ? NULL : PQresultErrorField(result, PG_DIAG_SQLSTATE);
	if (state == NULL)
		return STORE_BUSY; /* the connection failed: unavailable, and it may come back */
	if (strcmp(state, "P0001") == 0)
		return STORE_ERROR; /* a trigger's RAISE: a failure, not a rule (as on SQLite) */
	if (strncmp(state, "23", 2) == 0)
		return STORE_CONFLICT; /* integrity constraint violation */
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0 ||
	    strcmp(state, "57014") == 0 || strncmp(state, "08", 2) == 0 || strcmp(state, "57P01") == 0)
		return STORE_BUSY; /* serialization, deadlock, lock or statement timeout, connection */
	if (strcmp(state, "XX001") == 0 || strcmp(state, "XX002") == 0)
		return STORE_DAMAGED;
	return STORE_ERROR;
}

static void clear_result(struct store_query *query)
{
	if (query->result != NULL) {
		PQclear(query->result);
		query->result = NULL;
	}
	query->row = -1;
}

static void watch_raise(int64_t generation);

/*
 * True when statement `which` writes a table whose changes move the gate generation (keys, their
 * networks, roles: the triggers of the schema), as its text says.
 */
static bool touches_gate(enum store_statement which)
{
	static const char *const writes[] = { "INSERT INTO api_key ", "UPDATE api_key ", "DELETE FROM api_key ",
					      "INTO api_key_cidr ", "FROM api_key_cidr ", "UPDATE role ",
					      "DELETE FROM role " };
	const char *text = store_statement_postgresql(which);
	if (text == NULL)
		text = store_statement_sql(which);
	for (size_t i = 0; i < sizeof writes / sizeof writes[0]; i++)
		if (strstr(text, writes[i]) != NULL)
			return true;
	return false;
}

/*
 * After this connection committed a change to keys, networks or roles: read the generation it
 * left and give it to the watcher's copy at once, so that this process's next request (the
 * console's own, or its gatekeeper's) sees the change, as on SQLite, without waiting for the
 * notification to come back.
 */
static void publish_generation(PGconn *connection)
{
	PGresult *result = PQexec(connection, "SELECT generation FROM gate_state WHERE id = 1");
	if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1)
		watch_raise(strtoll(PQgetvalue(result, 0, 0), NULL, 10));
	PQclear(result);
}

/*
 * Connect again after the connection was lost (PostgreSQL restarted, a network cut): PQreset()
 * with the same settings; the statements prepared on the old session are gone, so each is
 * prepared again at its next use. Never inside a transaction: its work went with the session.
 * Said once per loss on standard error.
 */
static bool reconnect(struct store *store)
{
	PGconn *connection = connection_of(store);
	if (PQstatus(connection) == CONNECTION_OK)
		return true;
	if (!store->lost)
		fprintf(stderr, "keyward: store: lost the connection to %s; connecting again\n", store->where);
	store->lost = true;
	if (store->depth > 0)
		return false;
	/* While the database stays away, one attempt per RECONNECT_PAUSE_MS: a request does not wait on each. */
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	double seconds = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
	if (seconds < store->retry_at)
		return false;
	PQreset(connection);
	if (PQstatus(connection) != CONNECTION_OK) {
		store->retry_at = seconds + RECONNECT_PAUSE_MS / 1000.0;
		return false;
	}
	PGresult *result = PQexec(connection, SESSION_SETUP "; " SESSION_LOCK_TIMEOUT);
	PQclear(result);
	for (int which = 0; which < STMT_COUNT; which++)
		store->queries[which].prepared = NULL;
	fprintf(stderr, "keyward: store: connected to %s again\n", store->where);
	store->lost = false;
	return true;
}

/*
 * True when statement `which` may simply be sent again after the connection died under it: BEGIN
 * and reads. A write outside a transaction may have committed before the connection went; it is
 * never repeated.
 */
static bool repeatable(enum store_statement which)
{
	const char *text = postgresql_text(which);
	return which == STMT_BEGIN || which == STMT_BEGIN_READ || (text != NULL && strncmp(text, "SELECT ", 7) == 0);
}

/*
 * Send query `query` (preparing its statement first on this connection): its result, or NULL with
 * *status the store status of the failure, said on standard error unless `quiet`.
 */
static PGresult *execute(struct store *store, struct store_query *query, bool quiet, int *status)
{
	PGconn *connection = connection_of(store);
	*status = STORE_BUSY;
	if (!reconnect(store))
		return NULL;
	/* An aborted transaction commits as a rollback that says "ROLLBACK": never take it for a commit. */
	if ((query->which == STMT_COMMIT || query->which == STMT_RELEASE) &&
	    PQtransactionStatus(connection) == PQTRANS_INERROR) {
		fprintf(stderr, "keyward: store: %s: the transaction failed earlier; nothing was saved\n",
			store_statement_name(query->which));
		*status = STORE_ERROR;
		return NULL;
	}
	bool each_run = store_statement_each_run(query->which);
	if (query->prepared == NULL && !each_run) {
		char error[1024];
		if (!prepare_one(connection, query->which, store_statement_name(query->which), query->params,
				 query->param_count, error, sizeof error)) {
			*status = PQstatus(connection) == CONNECTION_OK ? STORE_ERROR : STORE_BUSY;
			if (!quiet || *status != STORE_BUSY)
				fprintf(stderr, "keyward: store: %s\n", error);
			return NULL;
		}
		query->prepared = query; /* any non-NULL: prepared on this connection */
	}
	const char *values[STORE_PARAMS_MAX];
	int lengths[STORE_PARAMS_MAX];
	int formats[STORE_PARAMS_MAX];
	char integers[STORE_PARAMS_MAX][24];
	for (int i = 0; i < query->param_count; i++) {
		const struct store_param *param = &query->params[i];
		values[i] = NULL;
		lengths[i] = 0;
		formats[i] = 0;
		if (param->kind == STORE_PARAM_INT) {
			snprintf(integers[i], sizeof integers[i], "%lld", (long long)param->integer);
			values[i] = integers[i];
		} else if (param->kind == STORE_PARAM_TEXT) {
			values[i] = param->data;
		} else if (param->kind == STORE_PARAM_BLOB) {
			values[i] = param->length > 0 ? param->data : "";
			lengths[i] = (int)param->length;
			formats[i] = 1;
		}
	}
	PGresult *result = NULL;
	if (each_run) { /* sent with its values, so that they are planned for (store_statement_each_run()) */
		char sql[8192], error[1024];
		Oid types[STORE_PARAMS_MAX];
		int count = statement_text(query->which, query->params, query->param_count, sql, sizeof sql, types, error,
					   sizeof error);
		if (count < 0) {
			fprintf(stderr, "keyward: store: %s\n", error);
			*status = STORE_ERROR;
			return NULL;
		}
		for (int i = query->param_count; i < count; i++) { /* left out of the statement's binds: NULL */
			values[i] = NULL;
			lengths[i] = 0;
			formats[i] = 0;
		}
		result = PQexecParams(connection, sql, count, types, values, lengths, formats, 0);
	} else {
		result = PQexecPrepared(connection, store_statement_name(query->which), query->param_count, values,
					lengths, formats, 0);
	}
	ExecStatusType outcome = result == NULL ? PGRES_FATAL_ERROR : PQresultStatus(result);
	if (outcome == PGRES_TUPLES_OK || outcome == PGRES_COMMAND_OK)
		return result;
	*status = status_of_error(result);
	if (!quiet || PQstatus(connection) == CONNECTION_OK)
		fprintf(stderr, "keyward: store: %s: %s", store_statement_name(query->which),
			result != NULL ? PQresultErrorMessage(result) : PQerrorMessage(connection));
	PQclear(result);
	return NULL;
}

static int postgresql_step(struct store *store, struct store_query *query)
{
	PGconn *connection = connection_of(store);
	if (!query->started) {
		query->started = true;
		clear_result(query);
		/*
		 * A connection whose server went away (a restart, a failover) is found dead only on use:
		 * then BEGIN or a read outside a transaction goes again on a new connection at once, so
		 * that the first request after PostgreSQL is back is answered, not refused.
		 */
		bool again = store->depth == 0 && !store->lost && repeatable(query->which);
		int code;
		PGresult *result = execute(store, query, again, &code);
		if (result == NULL && again && PQstatus(connection) != CONNECTION_OK)
			result = execute(store, query, false, &code);
		if (result == NULL)
			return code;
		ExecStatusType status = PQresultStatus(result);
		store->changes = strtoll(PQcmdTuples(result), NULL, 10);
		if (touches_gate(query->which))
			store->gate_dirty = true;
		if (query->which == STMT_ROLLBACK)
			store->gate_dirty = false;
		if (store->gate_dirty && (query->which == STMT_COMMIT || store->depth == 0)) {
			store->gate_dirty = false;
			publish_generation(connection);
		}
		/* An INSERT ... RETURNING id says which row it made, as SQLite's last_insert_rowid(). */
		if (status == PGRES_TUPLES_OK && PQntuples(result) > 0 && PQnfields(result) > 0 &&
		    strcmp(PQfname(result, 0), "id") == 0 && strncmp(PQcmdStatus(result), "INSERT", 6) == 0)
			store->last_insert_id = strtoll(PQgetvalue(result, 0, 0), NULL, 10);
		query->result = result;
		query->row = -1;
	}
	if (query->result == NULL)
		return STORE_DONE;
	query->row++;
	return query->row < PQntuples(query->result) ? STORE_ROW : STORE_DONE;
}

static void postgresql_reset(struct store *store, struct store_query *query)
{
	(void)store;
	clear_result(query);
}

static bool postgresql_column_is_null(const struct store_query *query, int column)
{
	return query->result == NULL || PQgetisnull(query->result, query->row, column);
}

static int64_t postgresql_column_int(const struct store_query *query, int column)
{
	if (postgresql_column_is_null(query, column))
		return 0;
	const char *text = PQgetvalue(query->result, query->row, column);
	if (text[0] == 't' && text[1] == '\0')
		return 1;
	if (text[0] == 'f' && text[1] == '\0')
		return 0;
	return strtoll(text, NULL, 10);
}

static int postgresql_column_count(const struct store_query *query)
{
	return query->result == NULL ? 0 : PQnfields(query->result);
}

static const char *postgresql_column_text(const struct store_query *query, int column, size_t *length)
{
	if (postgresql_column_is_null(query, column)) {
		*length = 0;
		return NULL;
	}
	*length = (size_t)PQgetlength(query->result, query->row, column);
	return PQgetvalue(query->result, query->row, column);
}

static const void *postgresql_column_blob(struct arena *arena, const struct store_query *query, int column,
					  size_t *length)
{
	*length = 0;
	if (postgresql_column_is_null(query, column))
		return NULL;
	size_t decoded_length = 0;
	unsigned char *decoded =
		PQunescapeBytea((const unsigned char *)PQgetvalue(query->result, query->row, column), &decoded_length);
	if (decoded == NULL)
		return NULL;
	void *copy = arena_alloc(arena, decoded_length + 1);
	memcpy(copy, decoded, decoded_length);
	PQfreemem(decoded);
	*length = decoded_length;
	return copy;
}

/* ---- the gate watcher ------------------------------------------------------------------------- */

/*
 * One thread per process keeps the gate generation in memory, so that the gatekeeper's hot path
 * never asks the network for it: it LISTENs on "keyward_gate", which the schema's triggers notify
 * in the same transaction as any change to keys, their networks or roles (with the new
 * generation), and reads the generation again every WATCH_CHECK_MS and after every reconnect.
 * While it is not listening, store_gate_generation() asks the database itself.
 */
static struct {
	char *database; /* set once, before the thread starts */
	atomic_llong generation;
	atomic_bool live; /* listening, and the generation is current */
} watch;

/* Raise the watcher's generation to `generation` (it never goes back for a reader in this process). */
static void watch_raise(int64_t generation)
{
	long long seen = atomic_load(&watch.generation);
	while (generation > seen && !atomic_compare_exchange_weak(&watch.generation, &seen, generation))
		;
}

static void sleep_ms(long ms)
{
	struct timespec pause = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&pause, NULL);
}

/* Read the generation on the watcher's connection into watch.generation; false when it failed. */
static bool watch_read(PGconn *connection)
{
	PGresult *result = PQexec(connection, "SELECT generation FROM gate_state WHERE id = 1");
	bool ok = PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1;
	if (ok)
		atomic_store(&watch.generation, strtoll(PQgetvalue(result, 0, 0), NULL, 10));
	PQclear(result);
	return ok;
}

/* Listen until the connection fails. */
static void watch_listen(PGconn *connection)
{
	PGresult *result = PQexec(connection, "LISTEN keyward_gate");
	bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
	PQclear(result);
	/* LISTEN first, then read: a change committed in between is both read and notified. */
	if (!ok || !watch_read(connection))
		return;
	atomic_store(&watch.live, true);
	for (;;) {
		struct pollfd wait = { .fd = PQsocket(connection), .events = POLLIN };
		int ready = poll(&wait, 1, WATCH_CHECK_MS);
		if (ready < 0)
			continue; /* a signal */
		if (ready == 0) {
			if (!watch_read(connection))
				return;
			continue;
		}
		if (!PQconsumeInput(connection) || PQstatus(connection) != CONNECTION_OK)
			return;
		PGnotify *notice;
		bool heard = false;
		while ((notice = PQnotifies(connection)) != NULL) {
			heard = true;
			PQfreemem(notice);
		}
		/* The payload is the new generation, but notices of concurrent commits may cross: read it. */
		if (heard && !watch_read(connection))
			return;
	}
}

static void *watch_run(void *unused)
{
	(void)unused;
	bool said_lost = false;
	for (;;) {
		const char *keywords[] = { "dbname", "fallback_application_name", "connect_timeout", NULL };
		const char *values[] = { watch.database, "keyward", "5", NULL };
		PGconn *connection = PQconnectdbParams(keywords, values, 1);
		if (connection != NULL && PQstatus(connection) == CONNECTION_OK) {
			if (said_lost)
				fprintf(stderr, "keyward: the database is back: keys are checked against it again\n");
			said_lost = false;
			watch_listen(connection);
		}
		atomic_store(&watch.live, false);
		if (!said_lost)
			fprintf(stderr, "keyward: lost the database's change notices; reconnecting\n");
		said_lost = true;
		PQfinish(connection);
		sleep_ms(WATCH_RETRY_MS);
	}
	return NULL;
}

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool watch_started;

/*
 * The database the watcher connects to: the first one this process opened. True when `database`
 * is that one: only a store on it may take the watcher's generation.
 */
static bool watch_remember(const char *database)
{
	pthread_mutex_lock(&watch_lock);
	if (watch.database == NULL)
		watch.database = xstrdup(database);
	bool watched = strcmp(watch.database, database) == 0;
	pthread_mutex_unlock(&watch_lock);
	return watched;
}

static void watch_start(void)
{
	pthread_mutex_lock(&watch_lock);
	if (!atomic_load(&watch_started)) {
		pthread_t thread;
		pthread_attr_t attributes;
		pthread_attr_init(&attributes);
		pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&thread, &attributes, watch_run, NULL) != 0)
			fprintf(stderr, "keyward: cannot start the gate watcher: every request asks the database\n");
		pthread_attr_destroy(&attributes);
		atomic_store(&watch_started, true);
	}
	pthread_mutex_unlock(&watch_lock);
}

/*
 * The gate generation from memory while the watcher listens (started by the first call: only
 * processes that check keys run it). STORE_NOT_FOUND while it does not, or when the store is on
 * another database than the watcher's (a process that opened two): ask the database.
 */
static enum store_status postgresql_gate_generation(struct store *store, int64_t *generation)
{
	if (!store->watched)
		return STORE_NOT_FOUND;
	if (!atomic_load(&watch_started))
		watch_start();
	if (!atomic_load(&watch.live))
		return STORE_NOT_FOUND;
	*generation = atomic_load(&watch.generation);
	return STORE_OK;
}

static int64_t postgresql_changes(struct store *store)
{
	return store->changes;
}

static int64_t postgresql_last_insert_id(struct store *store)
{
	return store->last_insert_id;
}

static bool postgresql_in_transaction(struct store *store)
{
	PGTransactionStatusType status = PQtransactionStatus(connection_of(store));
	return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || status == PQTRANS_ACTIVE;
}

static enum store_status postgresql_backup(struct store *store, const char *path)
{
	(void)path;
	fprintf(stderr, "keyward: backup copies an SQLite file; %s is PostgreSQL: use pg_dump\n", store->where);
	return STORE_ERROR;
}

static void postgresql_close(struct store *store)
{
	for (int which = 0; which < STMT_COUNT; which++)
		clear_result(&store->queries[which]);
	PQfinish(connection_of(store));
}

const struct store_engine store_engine_postgresql = {
	.name = "PostgreSQL",
	.arrays = true,
	.step = postgresql_step,
	.reset = postgresql_reset,
	.column_is_null = postgresql_column_is_null,
	.column_int = postgresql_column_int,
	.column_count = postgresql_column_count,
	.column_text = postgresql_column_text,
	.column_blob = postgresql_column_blob,
	.changes = postgresql_changes,
	.last_insert_id = postgresql_last_insert_id,
	.in_transaction = postgresql_in_transaction,
	.backup = postgresql_backup,
	.gate_generation = postgresql_gate_generation,
	.close = postgresql_close,
};

/* ---- opening ---------------------------------------------------------------------------------- */

/* Run `sql` (one or more statements, no parameters); false with the server's reason in error. */
static bool run_script(PGconn *connection, const char *sql, const char *doing, char *error, size_t error_size)
{
	PGresult *result = PQexec(connection, sql);
	ExecStatusType status = PQresultStatus(result);
	bool ok = status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
	if (!ok)
		snprintf(error, error_size, "%s: %s", doing, PQerrorMessage(connection));
	PQclear(result);
	return ok;
}

/* The schema version, 0 when there is no keyward schema yet, -1 on failure (error said). */
static int schema_version(PGconn *connection, char *error, size_t error_size)
{
	PGresult *result = PQexec(connection, "SELECT to_regclass('schema_version') IS NOT NULL");
	bool exists = PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1 &&
		      strcmp(PQgetvalue(result, 0, 0), "t") == 0;
	bool ok = PQresultStatus(result) == PGRES_TUPLES_OK;
	PQclear(result);
	if (!ok) {
		snprintf(error, error_size, "cannot read the schema version: %s", PQerrorMessage(connection));
		return -1;
	}
	if (!exists)
		return 0;
	result = PQexec(connection, "SELECT max(version) FROM schema_version");
	int version = -1;
	if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) == 1)
		version = atoi(PQgetvalue(result, 0, 0));
	else
		snprintf(error, error_size, "cannot read the schema version: %s", PQerrorMessage(connection));
	PQclear(result);
	return version;
}

/* The number of the last migration this program knows (the list ends with a 0). */
static int newest_migration(void)
{
	int newest = 0;
	for (size_t i = 0; store_postgresql_migrations[i].number != 0; i++)
		newest = store_postgresql_migrations[i].number;
	return newest;
}

/*
 * Bring the schema up to date: read the version without a lock (an up-to-date database never
 * waits); when a migration is due, take the advisory lock inside one transaction, read the version
 * again, and apply what is still due. A database without a keyward schema is made only by `init`
 * (`create`).
 */
static bool migrate(PGconn *connection, const char *where, bool create, char *error, size_t error_size)
{
	int newest = newest_migration();
	int version = schema_version(connection, error, error_size);
	if (version < 0)
		return false;
	if (version == newest)
		return true;
	if (version == 0 && !create) {
		snprintf(error, error_size, "no keyward database in %s: run \"keyward --db URI init\" to create one", where);
		return false;
	}
	if (version > newest) {
		snprintf(error, error_size, "the database is at schema version %d, newer than this program (%d)", version,
			 newest);
		return false;
	}
	if (!run_script(connection, "BEGIN; SELECT pg_advisory_xact_lock(" MIGRATION_LOCK ")",
			"cannot lock the database to migrate it", error, error_size))
		return false;
	version = schema_version(connection, error, error_size);
	bool ok = version >= 0;
	for (size_t i = 0; ok && store_postgresql_migrations[i].number != 0; i++) {
		if (store_postgresql_migrations[i].number <= version)
			continue;
		char doing[64];
		snprintf(doing, sizeof doing, "migration %d failed", store_postgresql_migrations[i].number);
		ok = run_script(connection, store_postgresql_migrations[i].sql, doing, error, error_size);
	}
	if (ok)
		ok = run_script(connection, "COMMIT", "cannot commit the migrations", error, error_size);
	else
		run_script(connection, "ROLLBACK", "rollback", error + strlen(error), 0);
	return ok;
}

/*
 * Check that every statement of the table prepares on this schema (types inferred), then forget
 * them: what `init` does, so that a statement PostgreSQL cannot read is found at once, not at
 * its first use.
 */
static bool check_all(PGconn *connection, char *error, size_t error_size)
{
	bool ok = true;
	for (int which = 0; ok && which < STMT_COUNT; which++)
		if (postgresql_text((enum store_statement)which) != NULL)
			ok = prepare_one(connection, (enum store_statement)which, "keyward_check", NULL, 0, error,
					 error_size) &&
			     run_script(connection, "DEALLOCATE keyward_check", "deallocate", error, error_size);
	return ok;
}

struct store *store_postgresql_open(const char *database, bool create, char *error, size_t error_size)
{
	error[0] = '\0';
	char where[1024];
	config_database_label(database, where, sizeof where);
	const char *keywords[] = { "dbname", "fallback_application_name", "connect_timeout", NULL };
	const char *values[] = { database, "keyward", "5", NULL };
	PGconn *connection = PQconnectdbParams(keywords, values, 1);
	if (connection == NULL || PQstatus(connection) != CONNECTION_OK) {
		snprintf(error, error_size, "cannot connect to %s: %s", where,
			 connection != NULL ? PQerrorMessage(connection) : "out of memory");
		size_t length = strlen(error);
		if (length > 0 && error[length - 1] == '\n')
			error[length - 1] = '\0';
		PQfinish(connection);
		return NULL;
	}
	bool ok = run_script(connection, SESSION_SETUP, "cannot set up the session", error, error_size) &&
		  migrate(connection, where, create, error, error_size) &&
		  run_script(connection, SESSION_LOCK_TIMEOUT, "cannot set up the session", error, error_size) &&
		  (!create || check_all(connection, error, error_size));
	if (!ok) {
		size_t length = strlen(error);
		if (length > 0 && error[length - 1] == '\n')
			error[length - 1] = '\0';
		PQfinish(connection);
		return NULL;
	}
	bool watched = watch_remember(database);
	struct store *store = store_new(&store_engine_postgresql, connection, where);
	store->watched = watched;
	for (int which = 0; which < STMT_COUNT; which++)
		store->queries[which].row = -1;
	return store;
}
