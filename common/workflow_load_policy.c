/*
 * The workflow loader's policy checks: a task's executor, network, run_as,
 * limits and sandbox against the admin's policy, which fills what the
 * task leaves unset and refuses what it forbids, naming the rule.
 */
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/cron.h"
#include "picoflow/dag.h"
#include "picoflow/err.h"
#include "picoflow/policy.h"
#include "picoflow/runas.h"
#include "picoflow/tz.h"
#include "picoflow/workflow.h"
#include "ytree.h"

#include "workflow_load_int.h"

static void pol_err(struct ld *, const struct ynode *, const char *,
    const struct pf_pos *, const char *, ...)
    __attribute__((format(printf, 5, 6)));

/* A value the policy refuses: the message, then the rule and its place. */
static void
pol_err(struct ld *ld, const struct ynode *at, const char *rule,
    const struct pf_pos *rp, const char *fmt, ...)
{
	struct ytree	*yt = &ld->y;
	const struct pf_policy *p = ld->opts.policy;
	char		 msg[PF_ERR_MAX];
	va_list		 ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (rp != NULL && rp->line != 0)
		yt_err(yt, at, "%s (policy rule %s at %s:%u:%u)", msg, rule,
		    p->file, rp->line, rp->col);
	else
		yt_err(yt, at, "%s (policy rule %s, by default, in %s)", msg,
		    rule, p->file);
}

static void
fmt_limit(int i, int64_t v, char *buf, size_t len)
{
	size_t	 n;

	if (i == PL_CPU) {
		/* 2, 0.5, 1.25: cores as written. */
		(void)snprintf(buf, len, "%lld.%03lld", (long long)v / 1000,
		    (long long)v % 1000);
		n = strlen(buf);
		while (n > 0 && buf[n - 1] == '0')
			buf[--n] = '\0';
		if (n > 0 && buf[n - 1] == '.')
			buf[n - 1] = '\0';
	} else if (i == PL_PIDS || i == PL_NOFILE)
		(void)snprintf(buf, len, "%lld", (long long)v);
	else
		policy_fmt_size(v, buf, len);
}

/* config.max_tasks_running / max_runs_running above the policy's ceiling. */
void
wl_policy_running(struct ld *ld, const struct ynode *at, enum policy_key k,
    unsigned v)
{
	const struct pf_policy *p = ld->opts.policy;
	unsigned	 ceil;

	if (p == NULL)
		return;
	ceil = k == POL_MAX_TASKS_RUNNING ? p->max_tasks_running :
	    p->max_runs_running;
	if (ceil != 0 && v > ceil)
		pol_err(ld, at, policy_key_name(k), &p->pos[k], "config.%s: "
		    "%u exceeds the ceiling %u", policy_key_name(k), v, ceil);
}

/* The user tasks without run_as run as: NULL = ours, not root. */
static const char *
default_user(const struct ld *ld)
{
	if (ld->opts.run_as != NULL)
		return ld->opts.run_as;
	return geteuid() == 0 ? "root" : NULL;
}

/* A copy of n strings (NULL entries, from a refused policy, skipped). */
int
wl_strv_copy(char *const *v, size_t n, char ***out, size_t *nout)
{
	size_t	 i;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	if ((*out = pf_calloc(n, sizeof(**out))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] == NULL)
			continue;
		if (((*out)[*nout] = pf_strdup(v[i])) == NULL)
			return -1;
		(*nout)++;
	}
	return 0;
}

/* The privileged groups in force, resolved at the first run_as. */
static const struct privgroup_set *
privgroups(struct ld *ld)
{
	struct ytree	*yt = &ld->y;
	struct pf_err	 err;

	if (ld->pg_loaded == 0) {
		if (policy_privgroups(ld->opts.policy, &ld->pg, &err) == -1) {
			/* Said once; no run_as can be judged without it. */
			if (errno == ENOMEM)
				ld->y.oom = 1;
			else
				yt_diag(yt, PF_SEV_ERROR, 0, 0, "run_as cannot "
				    "be checked for privileged groups: %s",
				    err.msg);
			ld->pg_loaded = -1;
			return NULL;
		}
		ld->pg_loaded = 1;
	}
	return ld->pg_loaded == 1 ? &ld->pg : NULL;
}

/*
 * Without a policy: root and privileged groups only with the operator's
 * consent (a default user that is root).  Sets t->run_as_privileged.
 */
static void
bare_run_as(struct ld *ld, struct pf_task *t, const struct ynode *tn,
    const struct ynode *rv, const char *pfx)
{
	struct ytree	*yt = &ld->y;
	const struct privgroup_set *pg;
	const char	*user = t->run_as != NULL ? t->run_as : ld->opts.run_as;
	int		 consent = ld->opts.run_as != NULL &&
			    runas_is_root(ld->opts.run_as);
	char		 why[512], name[64];
	size_t		 n;

	if (t->run_as != NULL && ld->opts.run_as != NULL &&
	    runas_is_root(t->run_as) && !consent) {
		yt_err(yt, yt_r(rv), "%srun_as: '%s' is root; without a "
		    "policy a task may run as root only when the default "
		    "user is root too (--run-as root) or a policy says "
		    "allow_root: true", pfx, t->run_as);
		return;
	}
	if (user == NULL || (pg = privgroups(ld)) == NULL ||
	    !privgroup_check(pg, user, why, sizeof(why)))
		return;
	/* The user root (allowed above) has every group's power anyway. */
	n = strcspn(user, ":");
	if (n < sizeof(name)) {
		memcpy(name, user, n);
		name[n] = '\0';
		if (runas_is_root(name))
			consent = 1;
	}
	if (consent)
		t->run_as_privileged = true;
	else if (t->run_as != NULL)
		yt_err(yt, yt_r(rv), "%srun_as: %s; without a policy a "
		    "privileged group is refused like root (allowed only when "
		    "the default user is root, --run-as root, or a policy says "
		    "allow_root: true)", pfx, why);
	else
		yt_err(yt, tn, "%sruns as '%s' by default (no run_as): %s; a "
		    "privileged group is refused like root", pfx, user, why);
}

static void
policy_run_as(struct ld *ld, struct pf_task *t, const struct ynode *tn,
    const struct ynode *rv, const char *pfx)
{
	const struct pf_policy *p = ld->opts.policy;
	const struct privgroup_set *pg;
	enum policy_key	 rule;
	const char	*user;
	char		 why[1024];
	int		 priv;

	/* A malformed run_as has had its error. */
	if (t->run_as != NULL && !privgroup_run_as_ok(t->run_as, 0))
		return;
	if (p == NULL) {
		bare_run_as(ld, t, tn, rv, pfx);
		return;
	}
	if ((user = t->run_as) == NULL && (user = default_user(ld)) == NULL)
		return;
	if ((pg = privgroups(ld)) == NULL)
		return;
	if (policy_check_run_as(p, pg, user, &rule, &priv, why,
	    sizeof(why)) == 0) {
		t->run_as_privileged = priv != 0;
		return;
	}
	if (t->run_as != NULL) {
		if (rule == POL_ALLOW_ROOT)
			pol_err(ld, yt_r(rv), "allow_root",
			    &p->pos[POL_ALLOW_ROOT], "%srun_as: %s", pfx, why);
		else
			pol_err(ld, yt_r(rv), "run_as", &p->pos[POL_RUN_AS],
			    "%srun_as: %s", pfx, why);
	} else if (runas_is_root(user) && !p->allow_root)
		pol_err(ld, tn, "allow_root", &p->pos[POL_ALLOW_ROOT], "%sruns "
		    "as root by default (no run_as, and the default user is "
		    "'%s'), which the policy does not allow", pfx, user);
	else if (rule == POL_ALLOW_ROOT)
		pol_err(ld, tn, "allow_root", &p->pos[POL_ALLOW_ROOT], "%sruns "
		    "as '%s' by default (no run_as): %s", pfx, user, why);
	else
		pol_err(ld, tn, "run_as", &p->pos[POL_RUN_AS], "%sruns as '%s' "
		    "by default (no run_as), which is not an allowed user",
		    pfx, user);
}

static void
policy_limits(struct ld *ld, struct pf_task *t, const struct ynode *tlim,
    const char *pfx)
{
	const struct pf_policy *p = ld->opts.policy;
	const struct ynode *n;
	const char	*what, *who;
	struct pf_limits d, base;
	int64_t		*v, c;
	char		 a[32], m[32], rule[32];
	int		 i;

	for (i = 0; i < PL_N; i++) {
		v = policy_limit_field(&t->limits, (enum policy_limit)i);
		c = policy_limit_get(&p->limits, (enum policy_limit)i);
		if (c < 0 || *v <= c)
			continue;
		/* The task's own value, else config.limits' (said once). */
		n = tlim != NULL && tlim->kind == YN_MAP ?
		    wl_map_find(tlim, policy_limit_names[i]) : NULL;
		what = "limits.";
		who = pfx;
		if (n == NULL && ld->cfg_limits != NULL &&
		    ld->cfg_limits->kind == YN_MAP) {
			if (ld->cfg_said & (1u << i))
				continue;
			ld->cfg_said |= 1u << i;
			n = wl_map_find(ld->cfg_limits, policy_limit_names[i]);
			what = "config.limits.";
			who = "";
		}
		fmt_limit(i, *v, a, sizeof(a));
		fmt_limit(i, c, m, sizeof(m));
		(void)snprintf(rule, sizeof(rule), "limits.%s",
		    policy_limit_names[i]);
		pol_err(ld, yt_r(n), rule, &p->limit_pos[i], "%s%s%s: %s "
		    "exceeds the ceiling %s", who, what, policy_limit_names[i],
		    a, m);
	}
	/*
	 * Unset limits get what the policy makes of the runner's defaults,
	 * written into the task so a reload with a new policy applies it.
	 */
	if (ld->opts.defaults != NULL)
		d = *ld->opts.defaults;
	else
		d.memory = d.swap = d.cpu_milli = d.pids = d.nofile =
		    d.output = -1;
	base = d;
	policy_default_limits(p, &d);
	for (i = 0; i < PL_N; i++) {
		v = policy_limit_field(&t->limits, (enum policy_limit)i);
		c = policy_limit_get(&d, (enum policy_limit)i);
		if (*v < 0 && c >= 0 &&
		    c != policy_limit_get(&base, (enum policy_limit)i))
			*v = c;
	}
}

/* Checks a loaded task against the policy; fills what the policy sets. */
void
wl_policy_task(struct ld *ld, struct pf_task *t, const struct ynode *tn,
    const struct ynode *const *v, const struct ynode *cfg, const char *pfx,
    const char *cpfx)
{
	const struct pf_policy *p = ld->opts.policy;
	const struct ynode *n, *sb;
	enum policy_key	 rule;
	char		 why[768];

	policy_run_as(ld, t, tn, v[TK_RUN_AS], pfx);
	/* The default user, written into the task as the engine sends it. */
	if (t->run_as == NULL && ld->opts.run_as != NULL &&
	    (t->run_as = pf_strdup(ld->opts.run_as)) == NULL)
		ld->y.oom = 1;
	if (p == NULL)
		return;
	if ((p->executors & (1u << t->type)) == 0)
		pol_err(ld, yt_r(v[TK_TYPE]), "executors",
		    &p->pos[POL_EXECUTORS], "%stype: %s tasks are not "
		    "allowed", pfx, task_type_name(t->type));
	if (!p->network && t->type != TASK_SHELL)
		pol_err(ld, yt_r(v[TK_TYPE]), "network", &p->pos[POL_NETWORK],
		    "%stype: %s tasks need the network, which tasks may not "
		    "have", pfx, task_type_name(t->type));
	switch (t->type) {
	case TASK_SHELL:
		if (t->u.shell.command != NULL &&
		    policy_check_command(p, t->u.shell.command, why,
		    sizeof(why)) == -1)
			pol_err(ld, yt_r(wl_map_find(cfg, "command")),
			    "commands", &p->pos[POL_COMMANDS], "%scommand: %s",
			    cpfx, why);
		break;
	case TASK_SSH:
		if (t->u.ssh.host != NULL && policy_check_ssh_host(p,
		    t->u.ssh.host, why, sizeof(why)) == -1)
			pol_err(ld, yt_r(wl_map_find(cfg, "host")), "ssh_hosts",
			    &p->pos[POL_SSH_HOSTS], "%shost: %s", cpfx, why);
		if (!t->u.ssh.verify_host_key && p->verify_host_key)
			pol_err(ld, yt_r(wl_map_find(cfg, "verify_host_key")),
			    "verify_host_key", &p->pos[POL_VERIFY_HOST_KEY],
			    "%sverify_host_key: false is not allowed; the "
			    "host key must be checked", cpfx);
		break;
	case TASK_HTTP:
		if (t->u.http.url != NULL && policy_check_url(p,
		    t->u.http.url, &rule, why, sizeof(why)) == -1)
			pol_err(ld, yt_r(wl_map_find(cfg, "url")),
			    policy_key_name(rule), &p->pos[rule], "%surl: %s",
			    cpfx, why);
		if (t->u.http.allow_private_ips && !p->allow_private_ips)
			pol_err(ld, yt_r(wl_map_find(cfg, "allow_private_ips")),
			    "allow_private_ips", &p->pos[POL_ALLOW_PRIVATE_IPS],
			    "%sallow_private_ips: true is not allowed", cpfx);
		break;
	}
	sb = yt_r(v[TK_SANDBOX]);
	n = sb != NULL && sb->kind == YN_MAP ?
	    yt_r(wl_map_find(sb, "network")) : NULL;
	if (t->sandbox.network == 1 && !p->network)
		pol_err(ld, n, "network", &p->pos[POL_NETWORK], "%ssandbox."
		    "network: true is not allowed; tasks may not have the "
		    "network", pfx);
	else if (t->sandbox.network == 1 && !p->default_network &&
	    !p->relax_sandbox)
		pol_err(ld, n, "relax_sandbox", &p->pos[POL_RELAX_SANDBOX],
		    "%ssandbox.network: true would loosen the policy's "
		    "default_network: false", pfx);
	if (t->type == TASK_SHELL && t->sandbox.network < 0 &&
	    (!p->network || !p->default_network))
		t->sandbox.network = 0;
	/*
	 * Under a policy a shell task gets a private /tmp and /dev/shm
	 * unless it says otherwise, which loosens the policy's default.
	 */
	n = sb != NULL && sb->kind == YN_MAP ?
	    yt_r(wl_map_find(sb, "private_tmp")) : NULL;
	if (t->sandbox.private_tmp == 0 && !p->relax_sandbox)
		pol_err(ld, n, "relax_sandbox", &p->pos[POL_RELAX_SANDBOX],
		    "%ssandbox.private_tmp: false would loosen the policy's "
		    "private /tmp and /dev/shm", pfx);
	if (t->type == TASK_SHELL && t->sandbox.private_tmp < 0)
		t->sandbox.private_tmp = 1;
	policy_limits(ld, t, yt_r(v[TK_LIMITS]), pfx);
}
