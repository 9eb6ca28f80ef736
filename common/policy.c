/*
 * The policy file: what workflows may ask for (see policy.h and
 * docs/security.md).  Read with the workflow loader's YAML tree
 * (ytree.h): size, depth and alias caps, UTF-8 only, every problem
 * reported with file:line:column and the closest key suggested.  The
 * checks a workflow must pass are the policy_check_* functions, called by
 * the workflow loader where it knows the offending value's position.
 * This file holds the names, the limit fields and the defaults;
 * policy_int.h lists the other files.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "picoflow/alloc.h"
#include "picoflow/err.h"
#include "picoflow/policy.h"
#include "picoflow/runas.h"
#include "ytree.h"
#include "policy_int.h"

const char *const policy_keys[POL_NKEYS] = {
	"executors", "commands", "ssh_hosts", "http_hosts", "http_networks",
	"allow_private_ips", "limits", "default_limits", "run_as",
	"default_run_as", "allow_root", "network", "default_network",
	"relax_sandbox", "verify_host_key", "privileged_groups",
	"unprivileged_groups", "max_tasks_running", "max_runs_running",
};

const char *const policy_limit_names[PL_N] = {
	"memory", "swap", "cpu", "pids", "nofile", "output",
};

const char *
policy_key_name(enum policy_key k)
{
	return (unsigned)k < POL_NKEYS ? policy_keys[k] : "?";
}

int64_t *
policy_limit_field(struct pf_limits *l, enum policy_limit i)
{
	switch (i) {
	case PL_MEMORY:
		return &l->memory;
	case PL_SWAP:
		return &l->swap;
	case PL_CPU:
		return &l->cpu_milli;
	case PL_PIDS:
		return &l->pids;
	case PL_NOFILE:
		return &l->nofile;
	default:
		return &l->output;
	}
}

int64_t
policy_limit_get(const struct pf_limits *l, enum policy_limit i)
{
	switch (i) {
	case PL_MEMORY:
		return l->memory;
	case PL_SWAP:
		return l->swap;
	case PL_CPU:
		return l->cpu_milli;
	case PL_PIDS:
		return l->pids;
	case PL_NOFILE:
		return l->nofile;
	default:
		return l->output;
	}
}

void
policy_fmt_size(int64_t v, char *buf, size_t len)
{
	static const char sfx[] = "GMK";
	int64_t	 unit = 1LL << 30;
	int	 i;

	for (i = 0; i < 3; i++, unit >>= 10)
		if (v > 0 && v % unit == 0) {
			(void)snprintf(buf, len, "%lld%c",
			    (long long)(v / unit), sfx[i]);
			return;
		}
	(void)snprintf(buf, len, "%lld", (long long)v);
}

const char *
policy_default_user(const struct pf_policy *p, const char *cli_run_as,
    int is_root)
{
	if (cli_run_as != NULL && cli_run_as[0] != '\0')
		return cli_run_as;
	if (p != NULL && p->default_run_as != NULL)
		return p->default_run_as;
	return is_root ? "nobody" : NULL;
}

void
policy_default_limits(const struct pf_policy *p, struct pf_limits *l)
{
	int64_t	*v, c, d;
	int	 i;

	if (p == NULL)
		return;
	for (i = 0; i < PL_N; i++) {
		v = policy_limit_field(l, (enum policy_limit)i);
		d = policy_limit_get(&p->default_limits, (enum policy_limit)i);
		c = policy_limit_get(&p->limits, (enum policy_limit)i);
		if (d >= 0)
			*v = d;
		else if (c >= 0 && (*v < 0 || *v > c))
			*v = c;
	}
}
