/*
 * Opening and closing a store handle: the file created 0600 with its
 * parent directories, never through a symbolic link; SQLite set up
 * defensively (WAL, synchronous=FULL, foreign keys, a small page cache)
 * and the schema migrated for a writer, or checked for a reader.  Also
 * the durability switch, the schema version and store_attempt_end_init.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "picoflow/alloc.h"
#include "picoflow/err.h"
#include "picoflow/paths.h"
#include "picoflow/store.h"
#include "store_int.h"

/* PRAGMA cache_size: negative = KiB. */
#define STORE_CACHE_KIB_SQL	"-512"

/* mkdir -p of path's parent directories, each new one mode 0700. */
static int
make_parents(const char *path, struct pf_err *err)
{
	char	*dir, *p;
	int	 rc = 0;

	if ((dir = pf_strdup(path)) == NULL) {
		pf_err_set(err, "out of memory");
		return -1;
	}
	if ((p = strrchr(dir, '/')) == NULL || p == dir) {
		pf_free(dir);
		return 0;
	}
	*p = '\0';
	if (paths_mkdir_p(dir, 0700, 0700) == -1) {
		pf_err_set(err, "cannot create directory %s: %s", dir,
		    strerror(errno));
		rc = -1;
	}
	pf_free(dir);
	return rc;
}

/*
 * Refuses a database, -wal or -shm file that is a symbolic link: opened
 * by root it would create or write the file wherever the link points.
 * SQLITE_OPEN_NOFOLLOW covers the database path itself when SQLite
 * opens it; this check covers its two companions too and says why.
 */
static int
refuse_links(const char *path, struct pf_err *err)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	struct stat	 sb;
	size_t		 i, len = strlen(path);
	char		*p;

	if ((p = pf_malloc(len + 5)) == NULL) {
		pf_err_set(err, "out of memory");
		return -1;
	}
	for (i = 0; i < 3; i++) {
		memcpy(p, path, len);
		memcpy(p + len, sfx[i], strlen(sfx[i]) + 1);
		if (lstat(p, &sb) == 0 && S_ISLNK(sb.st_mode)) {
			pf_err_set(err, "%s is a symbolic link; the database "
			    "and its -wal and -shm files are never opened "
			    "through one (someone could point it anywhere): "
			    "remove it, or give the real path", p);
			pf_free(p);
			return -1;
		}
	}
	pf_free(p);
	return 0;
}

/* Creates the file 0600 if missing, so SQLite never makes it 0644. */
static int
create_file(const char *path, struct pf_err *err)
{
	int	 fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
	    0600);
	if (fd == -1) {
		pf_err_set(err, "cannot open %s for writing: %s", path,
		    strerror(errno));
		return -1;
	}
	(void)close(fd);
	return 0;
}

static int
store_setup(struct pf_store *st, struct pf_err *err)
{
	sqlite3_stmt	*s;
	int64_t		 v, ntables;
	int		 rc;

	(void)sqlite3_extended_result_codes(st->db, 1);
	(void)sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
	/* The file is data, not code: no schema tricks, no writable schema. */
	(void)sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	(void)sqlite3_db_config(st->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0,
	    NULL);

	/* The first read: a file of random bytes fails here. */
	if (store_query_int(st, "PRAGMA user_version", &v, err) == -1)
		return -1;
	if (store_query_int(st, "SELECT count(*) FROM sqlite_master", &ntables,
	    err) == -1)
		return -1;

	if (st->mode == STORE_RO) {
		if (v > STORE_SCHEMA_VERSION) {
			pf_err_set(err, "%s: schema version %lld was written by "
			    "a newer PicoFlow (this one knows up to %d); "
			    "upgrade PicoFlow", st->path, (long long)v,
			    STORE_SCHEMA_VERSION);
			return -1;
		}
		if (v == 0 && ntables == 0) {
			st->empty = 1;
			st->version = 0;
			return 0;
		}
		/*
		 * Version 1 lacks only additive columns: it is read as it is
		 * (they read as unknown) rather than refused until a writer
		 * comes by.  Version 0 needs its rows converted first.
		 */
		if (v < 1) {
			pf_err_set(err, "%s: the database has an older schema "
			    "(version %lld); run any write command (such as "
			    "'picoflow run') to migrate it", st->path,
			    (long long)v);
			return -1;
		}
		st->version = (int)v;
		return 0;
	}

	if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s,
	    NULL) != SQLITE_OK) {
		store_sqlerr(st, err, "switching to WAL");
		return -1;
	}
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW || sqlite3_column_text(s, 0) == NULL ||
	    strcmp((const char *)sqlite3_column_text(s, 0), "wal") != 0) {
		if (rc == SQLITE_ROW)
			pf_err_set(err, "%s: cannot use WAL journaling here "
			    "(got '%s'); put the database on a local "
			    "filesystem", st->path,
			    sqlite3_column_text(s, 0) ?
			    (const char *)sqlite3_column_text(s, 0) : "?");
		else
			store_sqlerr(st, err, "switching to WAL");
		sqlite3_finalize(s);
		return -1;
	}
	sqlite3_finalize(s);
	/*
	 * A small page cache: the supervisor mostly appends, and the kernel's
	 * page cache serves reads anyway.  SQLite's default (2 MB) would be
	 * half of the supervisor's resident set on a 512 MB board.
	 */
	if (store_exec_sql(st, "PRAGMA synchronous = FULL",
	    "setting synchronous", err) == -1 ||
	    store_exec_sql(st, "PRAGMA foreign_keys = ON",
	    "enabling foreign keys", err) == -1 ||
	    store_exec_sql(st, "PRAGMA cache_size = " STORE_CACHE_KIB_SQL,
	    "setting the page cache size", err) == -1)
		return -1;
	return store_migrate(st, err);
}

int
store_open(const char *path, enum store_mode mode, struct pf_store **out,
    struct pf_err *err)
{
	struct pf_store	*st;
	struct stat	 sb;
	int		 flags;

	*out = NULL;
	if (path == NULL || *path == '\0') {
		pf_err_set(err, "no database path given");
		return -1;
	}
	if (mode != STORE_RW && mode != STORE_RO) {
		pf_err_set(err, "invalid store mode");
		return -1;
	}
	if (refuse_links(path, err) == -1)
		return -1;
	if (mode == STORE_RO) {
		if (stat(path, &sb) == -1) {
			pf_err_set(err, "cannot open %s: %s", path,
			    strerror(errno));
			return -1;
		}
		flags = SQLITE_OPEN_READONLY;
	} else {
		if (make_parents(path, err) == -1)
			return -1;
		if (create_file(path, err) == -1)
			return -1;
		if (stat(path, &sb) == -1) {
			pf_err_set(err, "cannot open %s: %s", path,
			    strerror(errno));
			return -1;
		}
		flags = SQLITE_OPEN_READWRITE;
	}
	if (S_ISDIR(sb.st_mode)) {
		pf_err_set(err, "%s is a directory, not a database file",
		    path);
		return -1;
	}
	if ((st = pf_calloc(1, sizeof(*st))) == NULL) {
		pf_err_set(err, "out of memory");
		return -1;
	}
	st->mode = mode;
	if ((st->path = pf_strdup(path)) == NULL) {
		pf_free(st);
		pf_err_set(err, "out of memory");
		return -1;
	}
	flags |= SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE |
	    SQLITE_OPEN_NOFOLLOW;
	if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK) {
		if (st->db != NULL)
			pf_err_set(err, "cannot open %s: %s", path,
			    sqlite3_errmsg(st->db));
		else
			pf_err_set(err, "cannot open %s: out of memory", path);
		store_close(st);
		return -1;
	}
	if (store_setup(st, err) == -1) {
		store_close(st);
		return -1;
	}
	*out = st;
	return 0;
}

void
store_close(struct pf_store *st)
{
	size_t	 i;

	if (st == NULL)
		return;
	for (i = 0; i < SQ__COUNT; i++)
		if (st->stmt[i] != NULL)
			sqlite3_finalize(st->stmt[i]);
	if (st->db != NULL)
		(void)sqlite3_close_v2(st->db);
	pf_free(st->path);
	pf_free(st);
}

int
store_sync_parse(const char *s, enum store_sync *out)
{
	if (strcmp(s, "full") == 0)
		*out = STORE_SYNC_FULL;
	else if (strcmp(s, "normal") == 0)
		*out = STORE_SYNC_NORMAL;
	else
		return -1;
	return 0;
}

int
store_set_sync(struct pf_store *st, enum store_sync mode, struct pf_err *err)
{
	if (store_check_writable(st, err) == -1)
		return -1;
	switch (mode) {
	case STORE_SYNC_FULL:
		return store_exec_sql(st, "PRAGMA synchronous = FULL",
		    "setting synchronous", err);
	case STORE_SYNC_NORMAL:
		return store_exec_sql(st, "PRAGMA synchronous = NORMAL",
		    "setting synchronous", err);
	}
	pf_err_set(err, "invalid durability mode");
	return -1;
}

int
store_schema_version(struct pf_store *st)
{
	return st->version;
}

void
store_attempt_end_init(struct store_attempt_end *e)
{
	memset(e, 0, sizeof(*e));
	e->ended_ms = e->duration_ms = e->max_rss_kb = -1;
	e->user_cpu_us = e->sys_cpu_us = -1;
	e->bytes_captured = e->bytes_dropped = -1;
	e->oom_kills = e->pids_peak = e->pids_denied = -1;
	e->nr_throttled = e->throttled_us = -1;
}
