/*
 * Privileged groups: groups whose members can read secrets, write what
 * root trusts, or become root (shadow, disk, sudo, docker, ...).  A task
 * may not run with one, as primary or supplementary group, any more than
 * it may run as root: the workflow loader refuses them (with a policy
 * unless it says allow_root: true, without one unless the default user is
 * root) and pf-worker checks again where it sets the ids, since
 * /etc/group may have changed in between.  docs/security.md ("Privileged
 * groups") lists the built-in names and why each is there.
 *
 * run_as is "user[:group[,group...]]": the first group is the primary
 * group (the user's own from the password database when none is given),
 * the others the only supplementary groups (none when none are given).
 */
#ifndef PICOFLOW_PRIVGROUP_H
#define PICOFLOW_PRIVGROUP_H

#include <sys/types.h>

#include <stddef.h>

#include "picoflow/err.h"

#define PRIVGROUP_RUN_AS_MAX	255	/* bytes of a run_as string */
#define PRIVGROUP_SUPP_MAX	16	/* supplementary groups in run_as */

struct privgroup_entry {
	const char	*name;
	const char	*why;		/* a phrase: "reads /etc/shadow" */
};

/* The built-in list, root first. */
extern const struct privgroup_entry privgroup_builtin[];
extern const size_t privgroup_nbuiltin;

/* The privileged gids on this host, resolved once (one /etc/group pass). */
struct privgroup_gid {
	gid_t		 gid;
	const char	*name;		/* the list's name (borrowed) */
	const char	*why;		/* borrowed; "" for a policy's own */
};

struct privgroup_set {
	struct privgroup_gid *v;
	size_t		 n;
};

#define PRIVGROUP_GROUP_FILE	"/etc/group"

/*
 * Resolves the built-in list, plus `extra` (names or gids a policy adds),
 * minus `removed` (built-in names a policy takes out; never root), into
 * gids as the group file says now (every entry with a listed name, so
 * another name for the same gid is caught by gid).  Names the host does
 * not have are left out.  The set borrows the strings; -1 with err when
 * the file cannot be read, or on allocation failure (errno ENOMEM).
 */
int	 privgroup_set_load(struct privgroup_set *, char *const *extra,
	    size_t nextra, char *const *removed, size_t nremoved,
	    struct pf_err *);
/* The same from another group file (tests). */
int	 privgroup_set_load_from(struct privgroup_set *, const char *path,
	    char *const *extra, size_t nextra, char *const *removed,
	    size_t nremoved, struct pf_err *);
void	 privgroup_set_free(struct privgroup_set *);
/* The entry for gid, or NULL when it is not privileged. */
const struct privgroup_gid *privgroup_find(const struct privgroup_set *,
	    gid_t);
/* The built-in entry named `name`, or NULL. */
const struct privgroup_entry *privgroup_builtin_find(const char *name);

/*
 * The groups run_as gives, as this host resolves them now: the primary
 * gid (the named group, else the user's from the password database, else
 * the numeric uid) and the supplementary gids.  -1 with why when a name
 * does not resolve or the string is malformed.
 */
struct privgroup_ids {
	uid_t		 uid;
	gid_t		 gid;
	gid_t		 supp[PRIVGROUP_SUPP_MAX];
	size_t		 nsupp;
	int		 named;		/* the user is in the password db */
	int		 gid_given;	/* run_as named the primary group */
};

int	 privgroup_resolve(const char *run_as, struct privgroup_ids *,
	    char *why, size_t len);

/*
 * 1 when run_as gives a privileged group (as this host resolves it; names
 * it does not know are not judged), with why naming the group and the
 * reason, e.g. "group 'shadow' is privileged (reads /etc/shadow ...)";
 * else 0.
 */
int	 privgroup_check(const struct privgroup_set *, const char *run_as,
	    char *why, size_t len);
/* The same for already resolved ids; `run_as` only names them. */
int	 privgroup_check_ids(const struct privgroup_set *,
	    const struct privgroup_ids *, const char *run_as, char *why,
	    size_t len);

/*
 * run_as syntax: "user", "user:group" or "user:group,group,...", each
 * part a name or a numeric id (workflow_user_part_ok), at most
 * PRIVGROUP_SUPP_MAX supplementary groups.  With `star`, "user:*" too.
 */
int	 privgroup_run_as_ok(const char *run_as, int star);

#endif
