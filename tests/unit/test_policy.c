/*
 * The policy file (common/policy.c) and the workflow loader's checks
 * against it: every key, every parser error with its exact place (the
 * fixtures in tests/fixtures/policy), hostile input, allocation
 * failures, and every rule refusing a workflow at the offending value.
 */
#include <criterion/criterion.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/err.h"
#include "picoflow/policy.h"
#include "picoflow/runas.h"
#include "../lib/faultloop.h"
#include "picoflow/workflow.h"
#include "../lib/proc.h"

#define PFIX	PF_SRC_DIR "/tests/fixtures/policy"
#define EXAMPLE	PF_SRC_DIR "/examples/policy/site-policy.yaml"

static struct pf_policy *
load(const char *text, struct pf_diags *d)
{
	return policy_load_buf("p.yaml", text, strlen(text), d);
}

/* Every message "line:col: msg", one per line (the caller frees). */
static char *
diag_lines(const struct pf_diags *d)
{
	char	*out = calloc(1, 1), line[PF_ERR_MAX + 64];
	size_t	 i, len = 0, n;

	cr_assert_not_null(out);
	for (i = 0; i < d->n; i++) {
		n = (size_t)snprintf(line, sizeof(line), "%s%u:%u: %s",
		    i ? "\n" : "", d->v[i].line, d->v[i].col, d->v[i].msg);
		cr_assert_not_null(out = realloc(out, len + n + 1));
		memcpy(out + len, line, n + 1);
		len += n;
	}
	return out;
}

/* The single error a policy text must fail with. */
static void
policy_fails(const char *text, const char *want)
{
	struct pf_diags	 d;
	struct pf_policy *p;
	char		*got;

	pf_diags_init(&d);
	p = load(text, &d);
	cr_expect_null(p, "loaded: %s", text);
	policy_free(p);
	got = diag_lines(&d);
	cr_expect_str_eq(got, want);
	free(got);
	pf_diags_free(&d);
}

/* policy_check_run_as with the groups resolved on the spot. */
static int
check_run_as(const struct pf_policy *p, const char *run_as, char *why)
{
	return policy_check_run_as(p, NULL, run_as, NULL, NULL, why, 512);
}

Test(policy, fixtures_fail_at_their_expected_place)
{
	struct dirent	*de;
	struct pf_diags	 d;
	struct pf_policy *p;
	char		 path[4096], want[1024], *text, *nl, *got;
	size_t		 len, n = 0;
	DIR		*dir;

	cr_assert_not_null(dir = opendir(PFIX "/invalid"));
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/invalid/%s", PFIX, de->d_name);
		cr_assert_not_null(text = test_read(path, &len));
		cr_assert(strncmp(text, "# expect: ", 10) == 0, "%s", path);
		nl = strchr(text, '\n');
		cr_assert_not_null(nl);
		snprintf(want, sizeof(want), "%.*s", (int)(nl - text - 10),
		    text + 10);
		pf_diags_init(&d);
		p = policy_load_buf(path, text, len, &d);
		cr_expect_null(p, "%s loaded", path);
		policy_free(p);
		got = diag_lines(&d);
		cr_expect_str_eq(got, want, "%s", path);
		cr_expect_eq(d.nerrors, 1, "%s", path);
		if (d.n > 0)
			cr_expect_str_eq(d.v[0].file, path);
		free(got);
		pf_diags_free(&d);
		free(text);
		n++;
	}
	closedir(dir);
	cr_assert_geq(n, 36, "only %zu fixtures", n);
}

Test(policy, valid_fixtures_load)
{
	struct dirent	*de;
	struct pf_diags	 d;
	struct pf_policy *p;
	char		 path[4096];
	size_t		 n = 0;
	DIR		*dir;

	cr_assert_not_null(dir = opendir(PFIX "/valid"));
	while ((de = readdir(dir)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/valid/%s", PFIX, de->d_name);
		pf_diags_init(&d);
		p = policy_load_file(path, &d);
		cr_expect_not_null(p, "%s: %s", path, d.n ? d.v[0].msg : "");
		cr_expect_eq(d.n, 0, "%s", path);
		policy_free(p);
		pf_diags_free(&d);
		n++;
	}
	closedir(dir);
	cr_assert_geq(n, 3);
}

/* The shipped example: every key, every value. */
Test(policy, example_every_key)
{
	struct pf_diags	 d;
	struct pf_policy *p;

	pf_diags_init(&d);
	p = policy_load_file(EXAMPLE, &d);
	cr_assert_not_null(p, "%s", d.n ? d.v[0].msg : "");
	cr_expect_eq(d.n, 0);
	cr_expect_str_eq(p->file, EXAMPLE);
	cr_expect_eq(p->executors, 7u);
	cr_assert_eq(p->ncommands, 4);
	cr_expect_str_eq(p->commands[0], "/bin");
	cr_expect_str_eq(p->commands[3], "/opt/jobs");
	cr_assert_eq(p->nssh_hosts, 2);
	cr_expect_str_eq(p->ssh_hosts[0], "*.lan");
	cr_expect_str_eq(p->ssh_hosts[1], "*.example.org");
	cr_assert_eq(p->nhttp_hosts, 3);
	cr_expect_str_eq(p->http_hosts[2], "localhost");
	cr_assert_eq(p->nhttp_networks, 3);
	cr_expect_eq(p->http_networks[0].family, AF_INET);
	cr_expect_eq(p->http_networks[0].prefix, 8);
	cr_expect_eq(p->http_networks[0].addr[0], 10);
	cr_expect_eq(p->http_networks[2].family, AF_INET6);
	cr_expect_eq(p->http_networks[2].prefix, 128);
	cr_expect_eq(p->http_networks[2].addr[15], 1);
	cr_expect_not(p->allow_private_ips);
	cr_expect_eq(p->limits.memory, 1LL << 30);
	cr_expect_eq(p->limits.swap, 0);
	cr_expect_eq(p->limits.cpu_milli, 2000);
	cr_expect_eq(p->limits.pids, 512);
	cr_expect_eq(p->limits.nofile, 4096);
	cr_expect_eq(p->limits.output, 64LL << 20);
	cr_expect_eq(p->default_limits.memory, 256LL << 20);
	cr_expect_eq(p->default_limits.swap, -1);
	cr_expect_eq(p->default_limits.cpu_milli, -1);
	cr_expect_eq(p->default_limits.pids, 256);
	cr_expect_eq(p->default_limits.nofile, 1024);
	cr_expect_eq(p->default_limits.output, -1);
	cr_assert_eq(p->nrun_as, 2);
	cr_expect_str_eq(p->run_as[1], "backup:*");
	cr_expect_str_eq(p->default_run_as, "nobody");
	cr_expect_not(p->allow_root);
	cr_expect_neq(p->pos[POL_PRIVILEGED_GROUPS].line, 0);
	cr_expect_eq(p->nprivileged_groups, 0);
	cr_expect_eq(p->nunprivileged_groups, 0);
	cr_expect(p->network);
	cr_expect(p->default_network);
	cr_expect_not(p->relax_sandbox);
	cr_expect(p->verify_host_key);
	/* Positions of the values, for the rules' messages. */
	cr_expect_neq(p->pos[POL_EXECUTORS].line, 0);
	cr_expect_eq(p->pos[POL_EXECUTORS].col, 12);
	cr_expect_eq(p->limit_pos[PL_MEMORY].col, 11);
	policy_free(p);
	pf_diags_free(&d);
}

Test(policy, empty_policy_is_the_defaults)
{
	static const char *texts[] = { "", "---\n", "# nothing\n", "~\n" };
	struct pf_policy *p;
	size_t		 i;
	int		 k;

	for (i = 0; i < 4; i++) {
		cr_assert_not_null(p = load(texts[i], NULL), "%zu", i);
		cr_expect_eq(p->executors, 7u);
		cr_expect_null(p->commands);
		cr_expect_null(p->ssh_hosts);
		cr_expect_null(p->http_hosts);
		cr_expect_null(p->http_networks);
		cr_expect_null(p->run_as);
		cr_expect_null(p->default_run_as);
		cr_expect_eq(p->limits.memory, -1);
		cr_expect_eq(p->limits.output, -1);
		cr_expect_eq(p->default_limits.pids, -1);
		cr_expect_not(p->allow_root);
		cr_expect_not(p->allow_private_ips);
		cr_expect(p->network);
		cr_expect(p->default_network);
		cr_expect_not(p->relax_sandbox);
		cr_expect(p->verify_host_key);
		for (k = 0; k < POL_NKEYS; k++)
			cr_expect_eq(p->pos[k].line, 0);
		policy_free(p);
	}
}

Test(policy, empty_lists_forbid_everything)
{
	struct pf_policy *p;
	char		 why[256];
	enum policy_key	 rule;

	p = load("executors: []\ncommands: []\nssh_hosts: []\nhttp_hosts: []\n"
	    "run_as: []\n", NULL);
	cr_assert_not_null(p);
	cr_expect_eq(p->executors, 0u);
	cr_expect_eq(policy_check_command(p, "/bin/true", why, sizeof(why)),
	    -1);
	cr_expect_str_eq(why, "'/bin/true' is not under an allowed path "
	    "(none)");
	cr_expect_eq(policy_check_ssh_host(p, "a.lan", why, sizeof(why)), -1);
	cr_expect_str_eq(why, "'a.lan' is not an allowed host (none)");
	cr_expect_eq(policy_check_url(p, "http://a/", &rule, why,
	    sizeof(why)), -1);
	cr_expect_eq(rule, POL_HTTP_HOSTS);
	cr_expect_eq(check_run_as(p, "nobody", why), -1);
	cr_expect_str_eq(why, "'nobody' is not an allowed user (none)");
	policy_free(p);
}

Test(policy, parser_errors_inline)
{
	policy_fails("executors: [shell, shell, ssh, http]\n",
	    "1:12: executors: 4 items; the limit is 3");
	policy_fails("executors: [~]\n", "1:13: executors[0]: missing value");
	policy_fails("commands: /bin\n",
	    "1:11: commands: expected a list, got a scalar");
	policy_fails("limits: {nofile: 1048577}\n",
	    "1:18: limits.nofile: 1048577 is out of range 1..1048576");
	policy_fails("limits: {cpu: 1025}\n",
	    "1:15: limits.cpu: 1025 is out of range 0.001..1024 cores");
	policy_fails("limits: {swap: 2T}\n", "1:16: limits.swap: '2T' is not a "
	    "size; use a number of bytes with an optional K, M or G suffix "
	    "(e.g. 64M)");
	policy_fails("default_limits: {output: -1}\n", "1:26: "
	    "default_limits.output: '-1' is not a size; use a number of bytes "
	    "with an optional K, M or G suffix (e.g. 64M)");
	policy_fails("allow_root: yes\n",
	    "1:13: allow_root: 'yes' is not a boolean; use true or false");
	policy_fails("network: [true]\n",
	    "1:10: network: expected true or false, got a list");
	policy_fails("default_run_as: [nobody]\n",
	    "1:17: default_run_as: expected a string, got a list");
	policy_fails("http_networks: [\"::1/0x\"]\n", "1:17: http_networks[0]: "
	    "'::1/0x' is not an address or address/prefix (e.g. 10.0.0.0/8)");
	policy_fails("{executors: [shell], executors: [ssh]}\n",
	    "1:22: duplicate key 'executors' in the policy (first at line 1)");
	/* Unterminated at the end of a file without a final newline. */
	policy_fails("limits: {memory: 1G", "1:20: YAML syntax error: did not "
	    "find expected ',' or '}' while parsing a flow mapping");
	policy_fails("[a: 1]: x\n",
	    "1:1: the policy: a key must be a plain word, not a list");
}

Test(policy, several_errors_are_all_reported_in_order)
{
	struct pf_diags	 d;
	struct pf_policy *p;
	char		*got;

	pf_diags_init(&d);
	p = load("network: maybe\nexecutors: [sh]\nrun_as: [\"\"]\n", &d);
	cr_expect_null(p);
	got = diag_lines(&d);
	cr_expect_str_eq(got,
	    "1:10: network: 'maybe' is not a boolean; use true or false\n"
	    "2:13: executors[0]: 'sh' is not one of shell, ssh, http; did you "
	    "mean 'ssh'?\n"
	    "3:10: run_as[0]: '' is not a user, user:group, "
	    "user:group,group,... or user:* (names or numeric ids)");
	free(got);
	pf_diags_free(&d);
}

Test(policy, hostile_input)
{
	struct pf_diags	 d;
	char		*big, *got;
	size_t		 n = POLICY_MAX_BYTES + 1;

	/* Over the size cap: refused before parsing. */
	cr_assert_not_null(big = malloc(n));
	memset(big, '#', n);
	pf_diags_init(&d);
	cr_expect_null(policy_load_buf("p.yaml", big, n, &d));
	got = diag_lines(&d);
	cr_expect_str_eq(got, "1:1: the file is 262145 bytes; the limit is "
	    "262144 bytes");
	free(got);
	pf_diags_free(&d);
	free(big);

	pf_diags_init(&d);
	cr_expect_null(policy_load_buf("p.yaml", "network: true\n\0\n", 16,
	    &d));
	got = diag_lines(&d);
	cr_expect_str_eq(got, "2:1: the file contains a NUL byte");
	free(got);
	pf_diags_free(&d);

	pf_diags_init(&d);
	cr_expect_null(policy_load_buf("p.yaml", "\xff\xfen\0", 4, &d));
	got = diag_lines(&d);
	cr_expect_str_eq(got, "1:1: the file is UTF-16; save it as UTF-8");
	free(got);
	pf_diags_free(&d);

	policy_fails("run_as: [\"caf\xc3\"]\n", "1:15: the file is not valid "
	    "UTF-8 (invalid trailing UTF-8 octet)");
	policy_fails("commands: [\"/bin/\x01\"]\n", "1:18: control character "
	    "0x01 is not allowed in YAML text (write it as an escape in a "
	    "double-quoted string)");
}

/* Aliases count once expanded: a "billion laughs" stops early. */
Test(policy, alias_expansion_is_capped)
{
	struct pf_diags	 d;
	struct pf_policy *p;
	char		 text[2048];
	int		 i, o;

	o = snprintf(text, sizeof(text), "x-a: &a [1,1,1,1,1,1,1,1,1,1]\n");
	for (i = 1; i < 8; i++)
		o += snprintf(text + o, sizeof(text) - (size_t)o,
		    "x-%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n",
		    'a' + i, 'a' + i, 'a' + i - 1, 'a' + i - 1, 'a' + i - 1,
		    'a' + i - 1, 'a' + i - 1, 'a' + i - 1, 'a' + i - 1,
		    'a' + i - 1, 'a' + i - 1, 'a' + i - 1);
	pf_diags_init(&d);
	p = load(text, &d);
	cr_expect_null(p);
	cr_assert_geq(d.n, 1);
	cr_expect_str_eq(d.v[0].msg, "the document has more than 20000 nodes "
	    "once aliases are expanded");
	cr_expect_eq(d.v[0].line, 5);
	pf_diags_free(&d);
}

Test(policy, file_errors)
{
	struct pf_diags	 d;

	pf_diags_init(&d);
	cr_expect_null(policy_load_file(PF_SRC_DIR "/tests/fixtures/policy",
	    &d));
	cr_assert_eq(d.n, 1);
	cr_expect_str_eq(d.v[0].msg, "is a directory, not a policy file");
	pf_diags_free(&d);
	pf_diags_init(&d);
	cr_expect_null(policy_load_file("/nonexistent/p.yaml", &d));
	cr_assert_eq(d.n, 1);
	cr_expect_str_eq(d.v[0].msg, "cannot open: No such file or directory");
	pf_diags_free(&d);
}

Test(policy, allocation_failures_never_crash_or_leak)
{
	struct pf_diags	 d;
	struct pf_policy *p;
	char		*text;
	size_t		 len;
	struct faultloop fl;

	cr_assert_not_null(text = test_read(EXAMPLE, &len));
	for (FAULTLOOP_MODES(m)) {
		for (faultloop_init(&fl, m); faultloop_next(&fl); ) {
			pf_diags_init(&d);
			p = policy_load_buf("p.yaml", text, len, &d);
			if (!faultloop_met(&fl))
				cr_expect_not_null(p);
			else
				cr_expect_null(p, "%s: allocation %ld failed, "
				    "yet a policy", faultloop_mode_name(m),
				    fl.n);
			policy_free(p);
			pf_diags_free(&d);
		}
		cr_expect(!fl.exhausted);
		cr_expect_gt(fl.n, 20, "only %ld allocations", fl.n);
	}
	free(text);
}

/* ---------------------------------------------------------- the checks */

Test(policy, command_prefixes_compare_whole_components)
{
	struct pf_policy *p;
	char		 why[512];

	cr_assert_not_null(p = load("commands: [/usr/bin/, /opt/jobs, "
	    "/srv//run.sh]\n", NULL));
	cr_expect_eq(policy_check_command(p, "/usr/bin/true", why,
	    sizeof(why)), 0);
	cr_expect_eq(policy_check_command(p, "/usr//bin/true", why,
	    sizeof(why)), 0);
	cr_expect_eq(policy_check_command(p, "/opt/jobs/a/b", why,
	    sizeof(why)), 0);
	cr_expect_eq(policy_check_command(p, "/srv/run.sh", why, sizeof(why)),
	    0);
	cr_expect_eq(policy_check_command(p, "/usr/binx/true", why,
	    sizeof(why)), -1);
	cr_expect_str_eq(why, "'/usr/binx/true' is not under an allowed path "
	    "(/usr/bin/, /opt/jobs, /srv//run.sh)");
	cr_expect_eq(policy_check_command(p, "/opt/jobsx", why, sizeof(why)),
	    -1);
	cr_expect_eq(policy_check_command(p, "/opt", why, sizeof(why)), -1);
	cr_expect_eq(policy_check_command(p, "/usr/bin/../../bin/sh", why,
	    sizeof(why)), -1);
	cr_expect_str_eq(why, "'/usr/bin/../../bin/sh' has a '.' or '..' "
	    "component; the policy's command prefixes need a plain path");
	cr_expect_eq(policy_check_command(p, "/usr/bin/./true", why,
	    sizeof(why)), -1);
	policy_free(p);
}

Test(policy, host_patterns)
{
	struct pf_policy *p;
	char		 why[512];

	cr_assert_not_null(p = load("ssh_hosts: [\"*.lan\", Backup.Example.COM,"
	    " 192.0.2.7, \"2001:db8::1\"]\n", NULL));
	cr_expect_eq(policy_check_ssh_host(p, "a.lan", why, sizeof(why)), 0);
	cr_expect_eq(policy_check_ssh_host(p, "a.b.LAN", why, sizeof(why)), 0);
	cr_expect_eq(policy_check_ssh_host(p, "lan", why, sizeof(why)), -1);
	cr_expect_eq(policy_check_ssh_host(p, "evil-lan", why, sizeof(why)),
	    -1);
	cr_expect_eq(policy_check_ssh_host(p, "backup.example.com", why,
	    sizeof(why)), 0);
	cr_expect_eq(policy_check_ssh_host(p, "192.0.2.7", why, sizeof(why)),
	    0);
	cr_expect_eq(policy_check_ssh_host(p, "192.0.2.70", why, sizeof(why)),
	    -1);
	cr_expect_str_eq(why, "'192.0.2.70' is not an allowed host (*.lan, "
	    "Backup.Example.COM, 192.0.2.7, 2001:db8::1)");
	/* IPv6 compared as addresses, not as text. */
	cr_expect_eq(policy_check_ssh_host(p, "2001:DB8:0::1", why,
	    sizeof(why)), 0);
	cr_expect_eq(policy_check_ssh_host(p, "${HOST}", why, sizeof(why)),
	    -1);
	cr_expect_str_eq(why, "'${HOST}' is a placeholder, which cannot be "
	    "checked against the allowed hosts (*.lan, Backup.Example.COM, "
	    "192.0.2.7, 2001:db8::1)");
	policy_free(p);
}

Test(policy, urls_by_host_and_network)
{
	struct pf_policy *p;
	enum policy_key	 rule;
	char		 why[512];

	cr_assert_not_null(p = load("http_hosts: [api.example.com, "
	    "\"*.corp\"]\nhttp_networks: [10.0.0.0/8, \"fd00::/8\", "
	    "192.168.1.128/25]\n", NULL));
#define OK(u)	cr_expect_eq(policy_check_url(p, u, &rule, why,		\
		    sizeof(why)), 0, "%s: %s", u, why)
#define NO(u, r, w) do {						\
	cr_expect_eq(policy_check_url(p, u, &rule, why, sizeof(why)),	\
	    -1, "%s", u);						\
	cr_expect_eq(rule, r, "%s", u);					\
	cr_expect_str_eq(why, w);					\
} while (0)
	OK("https://api.example.com/x");
	OK("https://user:pw@API.example.com:8443/x?q#f");
	OK("http://a.b.corp");
	OK("http://10.255.0.1:80/");
	OK("http://[fd12::1]/");
	OK("http://192.168.1.200/");
	NO("http://192.168.1.100/", POL_HTTP_NETWORKS, "address 192.168.1.100 "
	    "is in none of the allowed networks nor an allowed host");
	NO("http://[fe80::1]:8080/", POL_HTTP_NETWORKS, "address fe80::1 is in "
	    "none of the allowed networks nor an allowed host");
	NO("https://example.com/", POL_HTTP_HOSTS, "host 'example.com' is not "
	    "an allowed host (api.example.com, *.corp)");
	NO("https://${HOST}/", POL_HTTP_HOSTS, "its host cannot be checked "
	    "against the policy (a placeholder or no host)");
	policy_free(p);

	/* Networks alone: names cannot be judged at load. */
	cr_assert_not_null(p = load("http_networks: [127.0.0.0/8]\n", NULL));
	OK("http://127.0.0.1:9/");
	NO("http://localhost/", POL_HTTP_NETWORKS, "host 'localhost' is a "
	    "name; only addresses can be checked against http_networks (list "
	    "the name in http_hosts)");
#undef OK
#undef NO
	policy_free(p);
}

Test(policy, run_as_rules)
{
	struct pf_policy *p;
	char		 why[512];

	cr_expect(runas_is_root("root"));
	cr_expect(runas_is_root("0"));
	cr_expect(runas_is_root("000"));
	cr_expect(runas_is_root("nobody:root"));
	cr_expect(runas_is_root("nobody:0"));
	cr_expect_not(runas_is_root("nobody"));
	cr_expect_not(runas_is_root("65534:65534"));
	cr_expect_not(runas_is_root("rootless"));
	cr_expect_not(runas_is_root("backup:*"));

	cr_assert_not_null(p = load("run_as: [nobody, \"backup:*\", "
	    "\"daemon:daemon\"]\n", NULL));
	cr_expect_eq(check_run_as(p, "nobody", why), 0);
	cr_expect_eq(check_run_as(p, "backup", why), 0);
	cr_expect_eq(check_run_as(p, "backup:backup", why), 0);
	cr_expect_eq(check_run_as(p, "daemon:daemon", why), 0);
	cr_expect_eq(check_run_as(p, "daemon", why), -1);
	cr_expect_eq(check_run_as(p, "nobody:nogroup", why), -1);
	cr_expect_str_eq(why, "'nobody:nogroup' is not an allowed user "
	    "(nobody, backup:*, daemon:daemon)");
	cr_expect_eq(check_run_as(p, "backup:root", why),
	    -1);
	cr_expect_str_eq(why, "'backup:root' is root (as user or group), which "
	    "the policy does not allow");
	policy_free(p);

	/* No list: any user but root; allow_root opens root. */
	cr_assert_not_null(p = load("allow_root: true\n", NULL));
	cr_expect_eq(check_run_as(p, "root", why), 0);
	policy_free(p);
}

Test(policy, default_user)
{
	struct pf_policy *p;

	cr_expect_null(policy_default_user(NULL, NULL, 0));
	cr_expect_str_eq(policy_default_user(NULL, NULL, 1), "nobody");
	cr_expect_str_eq(policy_default_user(NULL, "backup", 1), "backup");
	cr_expect_null(policy_default_user(NULL, "", 0));
	cr_assert_not_null(p = load("default_run_as: daemon\n", NULL));
	cr_expect_str_eq(policy_default_user(p, NULL, 1), "daemon");
	cr_expect_str_eq(policy_default_user(p, NULL, 0), "daemon");
	cr_expect_str_eq(policy_default_user(p, "root", 1), "root");
	policy_free(p);
}

Test(policy, default_limits_within_ceilings)
{
	struct pf_policy *p;
	struct pf_limits l = { 256LL << 20, 0, -1, 256, -1, 10LL << 20 };

	policy_default_limits(NULL, &l);
	cr_expect_eq(l.memory, 256LL << 20);
	cr_assert_not_null(p = load("limits: {memory: 64M, pids: 1000, cpu: 1, "
	    "nofile: 100}\ndefault_limits: {output: 1M}\n", NULL));
	policy_default_limits(p, &l);
	cr_expect_eq(l.memory, 64LL << 20);	/* lowered to the ceiling */
	cr_expect_eq(l.pids, 256);		/* already below */
	cr_expect_eq(l.cpu_milli, 1000);	/* none: the ceiling */
	cr_expect_eq(l.nofile, 100);
	cr_expect_eq(l.output, 1LL << 20);	/* the policy's default */
	cr_expect_eq(l.swap, 0);
	policy_free(p);
}

Test(policy, sizes_for_messages)
{
	char	 b[32];

	policy_fmt_size(1LL << 30, b, sizeof(b));
	cr_expect_str_eq(b, "1G");
	policy_fmt_size(1536LL << 20, b, sizeof(b));
	cr_expect_str_eq(b, "1536M");
	policy_fmt_size(3072, b, sizeof(b));
	cr_expect_str_eq(b, "3K");
	policy_fmt_size(1000, b, sizeof(b));
	cr_expect_str_eq(b, "1000");
	policy_fmt_size(0, b, sizeof(b));
	cr_expect_str_eq(b, "0");
}

/* ---------------------------------------------- workflows under a policy */

/* Loads wf under policy (run_as: the default user) -> every message. */
static char *
judge(const char *policy, const char *wf, const char *run_as,
    struct pf_workflow **out)
{
	struct wf_load_opts opts;
	struct pf_diags	 d, pd;
	struct pf_policy *p = NULL;
	struct pf_workflow *w;
	char		*got;

	pf_diags_init(&pd);
	if (policy != NULL) {
		p = policy_load_buf("pol.yaml", policy, strlen(policy), &pd);
		cr_assert_not_null(p, "policy: %s", pd.n ? pd.v[0].msg : "");
	}
	workflow_load_opts_default(&opts);
	opts.policy = p;
	opts.run_as = run_as;
	pf_diags_init(&d);
	w = workflow_load_buf("wf.yaml", wf, strlen(wf), &opts, &d);
	got = diag_lines(&d);
	if (out != NULL)
		*out = w;
	else
		workflow_free(w);
	pf_diags_free(&d);
	pf_diags_free(&pd);
	policy_free(p);
	return got;
}

static void
refused(const char *policy, const char *wf, const char *run_as,
    const char *want)
{
	char	*got = judge(policy, wf, run_as, NULL);

	cr_expect_str_eq(got, want);
	free(got);
}

static void
allowed(const char *policy, const char *wf, const char *run_as)
{
	struct pf_workflow *w = NULL;
	char	*got = judge(policy, wf, run_as, &w);

	cr_expect_not_null(w, "%s", got);
	cr_expect_str_eq(got, "");
	workflow_free(w);
	free(got);
}

#define SH(cmd)	"name: w\ntasks:\n  - name: t\n    type: shell\n" \
		"    config: {command: " cmd "}\n"

Test(policy_rules, executors)
{
	refused("executors: [ssh, http]\n", SH("/bin/true"), "nobody",
	    "4:11: task 't': type: shell tasks are not allowed (policy rule "
	    "executors at pol.yaml:1:12)");
	allowed("executors: [shell]\n", SH("/bin/true"), "nobody");
}

Test(policy_rules, commands)
{
	refused("commands: [/usr/bin]\n", SH("/bin/true"), "nobody",
	    "5:23: task 't' (shell): command: '/bin/true' is not under an "
	    "allowed path (/usr/bin) (policy rule commands at pol.yaml:1:11)");
	allowed("commands: [/usr/bin]\n", SH("/usr/bin/true"), "nobody");
}

Test(policy_rules, ssh_hosts_and_verify_host_key)
{
	static const char wf[] = "name: w\ntasks:\n  - name: s\n    type: ssh\n"
	    "    config:\n      host: db.example.com\n      user: u\n"
	    "      command: ls\n      verify_host_key: false\n";

	refused("ssh_hosts: [\"*.lan\"]\nverify_host_key: optional\n", wf,
	    "nobody", "6:13: task 's' (ssh): host: 'db.example.com' is not an "
	    "allowed host (*.lan) (policy rule ssh_hosts at pol.yaml:1:12)");
	/* required is the default: the rule names no line of the file. */
	refused("ssh_hosts: [\"*.example.com\"]\n", wf, "nobody",
	    "9:24: task 's' (ssh): verify_host_key: false is not allowed; the "
	    "host key must be checked (policy rule verify_host_key, by "
	    "default, in pol.yaml)");
	refused("verify_host_key: required\n", wf, "nobody",
	    "9:24: task 's' (ssh): verify_host_key: false is not allowed; the "
	    "host key must be checked (policy rule verify_host_key at "
	    "pol.yaml:1:18)");
	allowed("verify_host_key: optional\n", wf, "nobody");
}

Test(policy_rules, http_hosts_networks_private_ips)
{
	static const char wf[] = "name: w\ntasks:\n  - name: h\n    type: http\n"
	    "    config: {url: \"http://10.1.2.3/\", allow_private_ips: true}\n";

	refused("http_hosts: [api.example.com]\nallow_private_ips: true\n", wf,
	    "nobody", "5:19: task 'h' (http): url: host '10.1.2.3' is not an "
	    "allowed host (api.example.com) (policy rule http_hosts at "
	    "pol.yaml:1:13)");
	refused("http_networks: [192.168.0.0/16]\nallow_private_ips: true\n",
	    wf, "nobody", "5:19: task 'h' (http): url: address 10.1.2.3 is in "
	    "none of the allowed networks (policy rule http_networks at "
	    "pol.yaml:1:16)");
	refused("http_networks: [10.0.0.0/8]\n", wf, "nobody",
	    "5:58: task 'h' (http): allow_private_ips: true is not allowed "
	    "(policy rule allow_private_ips, by default, in pol.yaml)");
	allowed("http_networks: [10.0.0.0/8]\nallow_private_ips: true\n", wf,
	    "nobody");
}

Test(policy_rules, limits_ceilings_task_and_config)
{
	static const char wf[] = "name: w\nconfig:\n  limits: {memory: 512M, "
	    "pids: 10}\ntasks:\n  - name: a\n    type: shell\n"
	    "    limits: {cpu: 1.5, nofile: 64}\n"
	    "    config: {command: /bin/true}\n"
	    "  - name: b\n    type: shell\n    config: {command: /bin/true}\n";

	/* config.limits over a ceiling is said once, at config.limits. */
	refused("limits:\n  memory: 256M\n  cpu: 1\n  nofile: 64\n", wf, "nobody",
	    "3:20: config.limits.memory: 512M exceeds the ceiling 256M (policy "
	    "rule limits.memory at pol.yaml:2:11)\n"
	    "7:19: task 'a': limits.cpu: 1.5 exceeds the ceiling 1 (policy "
	    "rule limits.cpu at pol.yaml:3:8)");
	refused("limits: {pids: 9}\n", wf, "nobody",
	    "3:32: config.limits.pids: 10 exceeds the ceiling 9 (policy rule "
	    "limits.pids at pol.yaml:1:16)");
	allowed("limits: {memory: 512M, pids: 10, cpu: 1.5, nofile: 64}\n", wf,
	    "nobody");
}

Test(policy_rules, limit_defaults_are_written_into_tasks)
{
	struct pf_workflow *w = NULL;
	struct pf_limits defaults = { 256LL << 20, 0, -1, 256, -1, 10LL << 20 };
	struct wf_load_opts opts;
	struct pf_policy *p;
	static const char pol[] = "limits: {memory: 128M, nofile: 512, "
	    "output: 1G}\ndefault_limits: {pids: 32}\n";
	static const char wf[] = "name: w\ntasks:\n"
	    "  - {name: a, type: shell, config: {command: /bin/true}}\n"
	    "  - {name: b, type: shell, limits: {memory: 64M, nofile: 8}, "
	    "config: {command: /bin/true}}\n";

	cr_assert_not_null(p = load(pol, NULL));
	workflow_load_opts_default(&opts);
	opts.policy = p;
	opts.run_as = "nobody";
	opts.defaults = &defaults;
	cr_assert_not_null(w = workflow_load_buf("w.yaml", wf, sizeof(wf) - 1,
	    &opts, NULL));
	cr_expect_eq(w->tasks[0].limits.memory, 128LL << 20);
	cr_expect_eq(w->tasks[0].limits.pids, 32);
	cr_expect_eq(w->tasks[0].limits.nofile, 512);
	cr_expect_eq(w->tasks[0].limits.swap, -1);	/* the runner's 0 */
	cr_expect_eq(w->tasks[0].limits.output, -1);	/* 10M is below 1G */
	cr_expect_eq(w->tasks[0].limits.cpu_milli, -1);
	cr_expect_eq(w->tasks[1].limits.memory, 64LL << 20);
	cr_expect_eq(w->tasks[1].limits.nofile, 8);
	workflow_free(w);
	policy_free(p);
}

Test(policy_rules, network_and_relax_sandbox)
{
	static const char net[] = "name: w\ntasks:\n  - name: t\n    type: "
	    "shell\n    sandbox: {network: true}\n    config: {command: "
	    "/bin/true}\n";
	static const char web[] = "name: w\ntasks:\n  - name: h\n    type: "
	    "http\n    config: {url: \"https://api.example.com/\"}\n";
	struct pf_workflow *w = NULL;
	char	*got;

	refused("network: false\n", net, "nobody", "5:24: task 't': "
	    "sandbox.network: true is not allowed; tasks may not have the "
	    "network (policy rule network at pol.yaml:1:10)");
	refused("network: false\n", web, "nobody", "4:11: task 'h': type: http "
	    "tasks need the network, which tasks may not have (policy rule "
	    "network at pol.yaml:1:10)");
	refused("default_network: false\n", net, "nobody", "5:24: task 't': "
	    "sandbox.network: true would loosen the policy's default_network: "
	    "false (policy rule relax_sandbox, by default, in pol.yaml)");
	allowed("default_network: false\nrelax_sandbox: true\n", net, "nobody");
	allowed("default_network: false\n", web, "nobody");

	/* Shell tasks that do not say get the policy's default. */
	got = judge("default_network: false\n", SH("/bin/true"), "nobody", &w);
	cr_assert_not_null(w, "%s", got);
	cr_expect_eq(w->tasks[0].sandbox.network, 0);
	workflow_free(w);
	free(got);
	got = judge("executors: [shell]\n", SH("/bin/true"), "nobody", &w);
	cr_assert_not_null(w, "%s", got);
	cr_expect_eq(w->tasks[0].sandbox.network, -1);
	workflow_free(w);
	free(got);
}

/*
 * Under a policy shell tasks get a private /tmp and /dev/shm; opting out
 * loosens it and needs relax_sandbox.  Without a policy nothing is set.
 */
Test(policy_rules, private_tmp_and_relax_sandbox)
{
	static const char out[] = "name: w\ntasks:\n  - name: t\n    type: "
	    "shell\n    sandbox: {private_tmp: false}\n    config: {command: "
	    "/bin/true}\n";
	static const char in[] = "name: w\ntasks:\n  - name: t\n    type: "
	    "shell\n    sandbox: {private_tmp: true}\n    config: {command: "
	    "/bin/true}\n";
	struct pf_workflow *w = NULL;
	char	*got;

	refused("executors: [shell]\n", out, "nobody", "5:28: task 't': "
	    "sandbox.private_tmp: false would loosen the policy's private "
	    "/tmp and /dev/shm (policy rule relax_sandbox, by default, in "
	    "pol.yaml)");
	allowed("relax_sandbox: true\n", out, "nobody");
	allowed("executors: [shell]\n", in, "nobody");
	got = judge("executors: [shell]\n", SH("/bin/true"), "nobody", &w);
	cr_assert_not_null(w, "%s", got);
	cr_expect_eq(w->tasks[0].sandbox.private_tmp, 1);
	workflow_free(w);
	free(got);
	got = judge(NULL, SH("/bin/true"), NULL, &w);
	cr_assert_not_null(w, "%s", got);
	cr_expect_eq(w->tasks[0].sandbox.private_tmp, -1);
	workflow_free(w);
	free(got);
	got = judge("relax_sandbox: true\n", out, "nobody", &w);
	cr_assert_not_null(w, "%s", got);
	cr_expect_eq(w->tasks[0].sandbox.private_tmp, 0);
	workflow_free(w);
	free(got);
}

Test(policy_rules, run_as_and_root)
{
	static const char explicit_root[] = "name: w\ntasks:\n  - name: t\n"
	    "    type: shell\n    run_as: root\n    config: {command: "
	    "/bin/true}\n";
	static const char as_daemon[] = "name: w\ntasks:\n  - name: t\n"
	    "    type: shell\n    run_as: daemon\n    config: {command: "
	    "/bin/true}\n";

	refused("allow_root: false\n", explicit_root, "nobody", "5:13: task "
	    "'t': run_as: 'root' is root (as user or group), which the policy "
	    "does not allow (policy rule allow_root at pol.yaml:1:13)");
	refused("run_as: [nobody]\n", as_daemon, "nobody", "5:13: task 't': "
	    "run_as: 'daemon' is not an allowed user (nobody) (policy rule "
	    "run_as at pol.yaml:1:9)");
	allowed("allow_root: true\n", explicit_root, "nobody");
	allowed("run_as: [daemon]\n", as_daemon, "nobody");
}

/* The test: a task that would run as root by default. */
Test(policy_rules, root_by_default_is_refused)
{
	refused("allow_root: false\n", SH("/bin/true"), "root", "3:5: task "
	    "'t': runs as root by default (no run_as, and the default user is "
	    "'root'), which the policy does not allow (policy rule allow_root "
	    "at pol.yaml:1:13)");
	refused("run_as: [backup]\n", SH("/bin/true"), "nobody", "3:5: task "
	    "'t': runs as 'nobody' by default (no run_as), which is not an "
	    "allowed user (policy rule run_as at pol.yaml:1:9)");
	allowed("allow_root: true\n", SH("/bin/true"), "root");
	allowed("run_as: [nobody]\n", SH("/bin/true"), "nobody");
}

Test(policy_rules, default_user_is_written_into_tasks)
{
	struct pf_workflow *w = NULL;
	char	*got;

	got = judge(NULL, "name: w\ntasks:\n  - {name: a, type: shell, "
	    "config: {command: /bin/true}}\n  - {name: b, type: shell, "
	    "run_as: daemon, config: {command: /bin/true}}\n", "nobody", &w);
	cr_assert_not_null(w, "%s", got);
	cr_expect_str_eq(w->tasks[0].run_as, "nobody");
	cr_expect_str_eq(w->tasks[1].run_as, "daemon");
	workflow_free(w);
	free(got);
	got = judge(NULL, SH("/bin/true"), NULL, &w);
	cr_assert_not_null(w, "%s", got);
	cr_expect_null(w->tasks[0].run_as);
	workflow_free(w);
	free(got);
}

/* No policy: root only when the operator's default user is root too. */
Test(policy_rules, without_policy_root_needs_the_operator)
{
	static const char explicit_root[] = "name: w\ntasks:\n  - name: t\n"
	    "    type: shell\n    run_as: \"0:0\"\n    config: {command: "
	    "/bin/true}\n";

	refused(NULL, explicit_root, "nobody", "5:13: task 't': run_as: '0:0' "
	    "is root; without a policy a task may run as root only when the "
	    "default user is root too (--run-as root) or a policy says "
	    "allow_root: true");
	allowed(NULL, explicit_root, "root");
	/* The process's own user (picoflow run, validate): no opinion. */
	allowed(NULL, explicit_root, NULL);
}

Test(policy_rules, every_error_is_reported)
{
	char	*got;

	got = judge("executors: [http]\ncommands: [/usr/bin]\n"
	    "allow_root: false\n", "name: w\ntasks:\n  - {name: a, type: "
	    "shell, run_as: root, config: {command: /bin/sh}}\n", "nobody",
	    NULL);
	cr_expect_str_eq(got, "3:21: task 'a': type: shell tasks are not allowed "
	    "(policy rule executors at pol.yaml:1:12)\n"
	    "3:36: task 'a': run_as: 'root' is root (as user or group), which "
	    "the policy does not allow (policy rule allow_root at "
	    "pol.yaml:3:13)\n"
	    "3:60: task 'a' (shell): command: '/bin/sh' is not under an "
	    "allowed path (/usr/bin) (policy rule commands at pol.yaml:2:11)");
	free(got);
}

/*
 * What the policy writes into a task shows in the normalized form, which
 * the supervisor compares on reload: a new policy changes the definition.
 */
Test(policy_rules, policy_defaults_change_the_printed_definition)
{
	static const char pa[] = "default_run_as: nobody\n";
	static const char pb[] = "default_run_as: daemon\ndefault_network: "
	    "false\ndefault_limits: {memory: 64M}\n";
	struct wf_load_opts opts;
	struct pf_policy *p;
	struct pf_workflow *w;
	struct pf_buf	 a, b;

	buf_init(&a, 0);
	buf_init(&b, 0);
	workflow_load_opts_default(&opts);
	cr_assert_not_null(p = load(pa, NULL));
	opts.policy = p;
	opts.run_as = policy_default_user(p, NULL, 1);
	cr_assert_not_null(w = workflow_load_buf("w.yaml", SH("/bin/true"),
	    strlen(SH("/bin/true")), &opts, NULL));
	cr_assert_eq(workflow_print(w, &a), 0);
	workflow_free(w);
	policy_free(p);
	cr_assert_not_null(p = load(pb, NULL));
	opts.policy = p;
	opts.run_as = policy_default_user(p, NULL, 1);
	cr_assert_not_null(w = workflow_load_buf("w.yaml", SH("/bin/true"),
	    strlen(SH("/bin/true")), &opts, NULL));
	cr_assert_eq(workflow_print(w, &b), 0);
	workflow_free(w);
	policy_free(p);
	cr_expect(strstr(buf_cstr(&a), "run_as: \"nobody\"") != NULL, "%s",
	    buf_cstr(&a));
	cr_expect(strstr(buf_cstr(&b), "run_as: \"daemon\"") != NULL, "%s",
	    buf_cstr(&b));
	cr_expect(strstr(buf_cstr(&b), "network: false") != NULL, "%s",
	    buf_cstr(&b));
	cr_expect(strstr(buf_cstr(&b), "memory: 67108864") != NULL, "%s",
	    buf_cstr(&b));
	cr_expect_str_neq(buf_cstr(&a), buf_cstr(&b));
	buf_free(&a);
	buf_free(&b);
}

/* ------------------------------------------------- privileged groups */

/* The Debian groups the tests below stand on; skip where one is missing. */
static void
need_groups(void)
{
	if (getgrnam("shadow") == NULL || getgrnam("disk") == NULL ||
	    getgrnam("tape") == NULL || getpwnam("backup") == NULL ||
	    getgrnam("ssl-cert") == NULL)
		cr_skip_test("needs Debian's groups shadow, disk, tape, "
		    "ssl-cert and user backup");
}

#define AS(ra)	"name: w\ntasks:\n  - name: t\n    type: shell\n" \
		"    run_as: \"" ra "\"\n    config: {command: /bin/true}\n"

/* The attack: the site policy's backup:* let backup:shadow by. */
Test(policy_rules, site_policy_refuses_backup_shadow)
{
	need_groups();
	refused("run_as: [nobody, \"backup:*\"]\ndefault_run_as: nobody\n"
	    "allow_root: false\n", AS("backup:shadow"), "nobody", "5:13: "
	    "task 't': run_as: group 'shadow' is privileged (reads "
	    "/etc/shadow and /etc/gshadow, the password hashes); a privileged "
	    "group is refused like root, which the policy does not allow "
	    "(policy rule allow_root at pol.yaml:3:13)");
	/* As a supplementary group just the same. */
	refused("run_as: [nobody, \"backup:*\"]\n", AS("backup:backup,disk"),
	    "nobody", "5:13: task 't': run_as: group 'disk' is privileged "
	    "(reads and writes raw disks, so every file system); a "
	    "privileged group is refused like root, which the policy does "
	    "not allow (policy rule allow_root, by default, in pol.yaml)");
	allowed("run_as: [nobody, \"backup:*\"]\n", AS("backup:backup"),
	    "nobody");
	allowed("run_as: [nobody, \"backup:*\"]\n", AS("backup"), "nobody");
}

/* user:* allows the user's own groups, never a privileged one. */
Test(policy_rules, star_means_the_users_own_groups)
{
	char		 why[512];
	struct pf_policy *p;
	enum policy_key	 rule;
	int		 priv;

	need_groups();
	refused("run_as: [\"backup:*\"]\n", AS("backup:tape"), "backup",
	    "5:13: task 't': run_as: 'backup:tape': user 'backup' is not a "
	    "member of group 'tape', and 'backup:*' allows only the user's "
	    "own groups (policy rule run_as at pol.yaml:1:9)");
	/* With allow_root, a privileged group must be listed itself. */
	refused("allow_root: true\nrun_as: [\"backup:*\"]\n",
	    AS("backup:shadow"), "backup", "5:13: task 't': run_as: group "
	    "'shadow' is privileged (reads /etc/shadow and /etc/gshadow, the "
	    "password hashes); 'backup:*' never allows a privileged group "
	    "(list 'backup:shadow' itself) (policy rule run_as at "
	    "pol.yaml:2:9)");
	cr_assert_not_null(p = load("allow_root: true\nrun_as: "
	    "[\"backup:shadow\"]\n", NULL));
	cr_expect_eq(policy_check_run_as(p, NULL, "backup:shadow", &rule,
	    &priv, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(priv, 1, "the worker is told it was allowed");
	cr_expect_eq(policy_check_run_as(p, NULL, "backup:disk", &rule,
	    &priv, why, sizeof(why)), -1);
	cr_expect_eq(rule, POL_RUN_AS);
	policy_free(p);
}

/* A policy extends the list; only one with allow_root narrows it. */
Test(policy_rules, privileged_groups_extend_and_narrow)
{
	char		 why[512];
	struct pf_policy *p;
	enum policy_key	 rule;
	int		 priv;

	need_groups();
	refused("privileged_groups: [backup]\n", AS("backup"), "nobody",
	    "5:13: task 't': run_as: user 'backup' has primary group "
	    "'backup' (gid 34), which is privileged (listed in the policy's "
	    "privileged_groups); a privileged group is refused like root, "
	    "which the policy does not allow (policy rule allow_root, by "
	    "default, in pol.yaml)");
	refused("privileged_groups: [\"4242\"]\n", AS("nobody:nogroup,4242"),
	    "nobody", "5:13: task 't': run_as: group '4242' is privileged "
	    "(listed in the policy's privileged_groups); a privileged group "
	    "is refused like root, which the policy does not allow (policy "
	    "rule allow_root, by default, in pol.yaml)");
	policy_fails("unprivileged_groups: [ssl-cert]\n", "1:23: "
	    "unprivileged_groups[0]: 'ssl-cert': the built-in privileged "
	    "groups may be narrowed only by a policy that says allow_root: "
	    "true");
	policy_fails("allow_root: true\nunprivileged_groups: [tape]\n",
	    "2:23: unprivileged_groups[0]: 'tape' is not one of the built-in "
	    "privileged groups (root never leaves the list)");

	/* Narrowed: ssl-cert is then an ordinary group of its members. */
	cr_assert_not_null(p = load("allow_root: true\nunprivileged_groups: "
	    "[ssl-cert]\nrun_as: [\"nobody:*\"]\n", NULL));
	cr_expect_eq(policy_check_run_as(p, NULL, "nobody:ssl-cert", &rule,
	    &priv, why, sizeof(why)), -1);
	cr_expect_str_eq(why, "'nobody:ssl-cert': user 'nobody' is not a "
	    "member of group 'ssl-cert', and 'nobody:*' allows only the "
	    "user's own groups");
	policy_free(p);
	cr_assert_not_null(p = load("allow_root: true\nunprivileged_groups: "
	    "[ssl-cert]\n", NULL));
	cr_expect_eq(policy_check_run_as(p, NULL, "nobody:ssl-cert", &rule,
	    &priv, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(priv, 0, "no longer privileged");
	cr_expect_eq(policy_check_run_as(p, NULL, "nobody:shadow", &rule,
	    &priv, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(priv, 1);
	policy_free(p);
}

/* Without a policy: refused like root unless the default user is root. */
Test(policy_rules, privileged_groups_without_a_policy)
{
	struct pf_workflow *w = NULL;
	char		*got;

	need_groups();
	refused(NULL, AS("nobody:shadow"), "nobody", "5:13: task 't': run_as: "
	    "group 'shadow' is privileged (reads /etc/shadow and "
	    "/etc/gshadow, the password hashes); without a policy a "
	    "privileged group is refused like root (allowed only when the "
	    "default user is root, --run-as root, or a policy says "
	    "allow_root: true)");
	refused(NULL, AS("nobody:nogroup,ssl-cert"), NULL, "5:13: task 't': "
	    "run_as: group 'ssl-cert' is privileged (reads /etc/ssl/private, "
	    "the TLS private keys); without a policy a privileged group is "
	    "refused like root (allowed only when the default user is root, "
	    "--run-as root, or a policy says allow_root: true)");
	refused(NULL, SH("/bin/true"), "nobody:shadow", "3:5: task 't': runs "
	    "as 'nobody:shadow' by default (no run_as): group 'shadow' is "
	    "privileged (reads /etc/shadow and /etc/gshadow, the password "
	    "hashes); a privileged group is refused like root");
	/* postgres-style: a membership alone grants nothing, so it loads. */
	allowed(NULL, AS("nobody"), "nobody");
	/* The operator's --run-as root consents, and the worker is told. */
	got = judge(NULL, AS("nobody:shadow"), "root", &w);
	cr_assert_not_null(w, "%s", got);
	cr_expect(w->tasks[0].run_as_privileged);
	workflow_free(w);
	free(got);
	got = judge(NULL, AS("nobody:nogroup"), "nobody", &w);
	cr_assert_not_null(w, "%s", got);
	cr_expect_not(w->tasks[0].run_as_privileged);
	workflow_free(w);
	free(got);
}
