/*
 * The idle floor pf-supervisor's resident set is compared with: a process
 * that links what pf-supervisor links (libev and SQLite, no libyaml, which
 * only pf-loader uses), opens a database in WAL mode as the store does,
 * and idles in ev_run until SIGTERM.
 *
 *	idle_floor DB
 *
 * Prints "ready" once the database is open; exits 0 on SIGTERM.
 */
#include <signal.h>
#include <stdio.h>

#include <ev.h>
#include <sqlite3.h>

static void
on_term(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	ev_break(loop, EVBREAK_ALL);
}

int
main(int argc, char *argv[])
{
	struct ev_loop	*loop;
	ev_signal	 term;
	sqlite3		*db;
	char		*msg = NULL;

	if (argc != 2) {
		fprintf(stderr, "usage: idle_floor DB\n");
		return 2;
	}
	if (sqlite3_open(argv[1], &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode=WAL;"
	    "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, v TEXT);"
	    "INSERT INTO t (v) VALUES ('x');", NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "idle_floor: %s: %s\n", argv[1],
		    msg ? msg : sqlite3_errmsg(db));
		return 1;
	}
	if ((loop = ev_default_loop(EVFLAG_AUTO)) == NULL)
		return 1;
	ev_signal_init(&term, on_term, SIGTERM);
	ev_signal_start(loop, &term);
	printf("ready\n");
	fflush(stdout);
	ev_run(loop, 0);
	sqlite3_close(db);
	return 0;
}
