/*
 * The policy file's private header, shared by common/policy*.c and by
 * nothing else (the loaders use policy.h): the file's limits and the
 * helpers the files share.
 *
 * The files:
 *  - policy.c        the keys' and limits' names, limit fields by index,
 *                    and the defaults a policy gives a task;
 *  - policy_parse.c  values of the file: host lists, networks, limits,
 *                    users and groups;
 *  - policy_load.c   the root mapping and the entry points (buffer, file,
 *                    free);
 *  - policy_check.c  the checks a workflow's task must pass: command,
 *                    ssh host, URL, run_as.
 */
#ifndef PICOFLOW_POLICY_INT_H
#define PICOFLOW_POLICY_INT_H

#include "picoflow/policy.h"
#include "ytree.h"

#define POL_STR_MAX		4096
#define POL_HOST_MAX		255
#define POL_MAX_DEPTH		32
#define POL_MAX_NODES		20000
#define POL_PIDS_MAX		4194304
#define POL_NOFILE_MAX		1048576

/* The top-level keys' names, by enum policy_key. */
extern const char *const policy_keys[POL_NKEYS];

/* policy_parse.c */
void	 pol_load_hosts(struct ytree *y, const struct ynode *v, const char *key,
    char ***out, size_t *n);
void	 pol_load_networks(struct ytree *y, const struct ynode *v,
    struct pf_policy *p);
void	 pol_load_limits(struct ytree *y, const struct ynode *v,
    const char *base, struct pf_limits *lim, struct pf_pos *pos);
int	 pol_user_ok(const char *s, int star);
int	 pol_run_as_listed(const struct pf_policy *p, const char *run_as);
int	 pol_own_groups(const char *run_as, char *why, size_t len);
void	 pol_load_groups(struct ytree *y, const struct ynode *const *v,
    struct pf_policy *p);
void	 pol_pos_set(struct pf_policy *p, int k, const struct ynode *v);

#endif
