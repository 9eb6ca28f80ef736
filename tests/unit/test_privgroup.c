/*
 * Privileged groups (common/privgroup.c): the built-in list, the run_as
 * syntax, the group file read into gids (aliases by gid, long lines, odd
 * entries), the policy's additions and removals, and the messages.
 */
#include <criterion/criterion.h>

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "picoflow/privgroup.h"
#include "../lib/proc.h"

static char	*dir;

static void
setup(void)
{
	dir = test_tmpdir("privgroup");
	cr_assert_not_null(dir);
}

static void
teardown(void)
{
	test_rmrf(dir);
	free(dir);
}

TestSuite(privgroup, .init = setup, .fini = teardown);

/* The names, at least, each with its reason. */
Test(privgroup, builtin_list)
{
	static const char *const must[] = { "root", "shadow", "disk", "adm",
	    "sudo", "wheel", "docker", "kmem", "tty", "staff", "lxd",
	    "libvirt", "kvm", "systemd-journal", "ssl-cert", "utmp",
	    "input" };
	const struct privgroup_entry *e;
	size_t		 i;

	cr_expect_str_eq(privgroup_builtin[0].name, "root");
	for (i = 0; i < sizeof(must) / sizeof(must[0]); i++) {
		e = privgroup_builtin_find(must[i]);
		cr_expect_not_null(e, "%s is not in the list", must[i]);
		if (e != NULL)
			cr_expect_gt(strlen(e->why), 10, "%s: no reason",
			    must[i]);
	}
	cr_expect_null(privgroup_builtin_find("users"));
	cr_expect_null(privgroup_builtin_find("nogroup"));
}

Test(privgroup, run_as_syntax)
{
	static const char *const good[] = { "nobody", "backup:tape",
	    "backup:backup,tape", "65534:65534,1,2", "u:a,b,c,d,e,f,g,h,i,j,"
	    "k,l,m,n,o,p,q" };
	static const char *const bad[] = { "", ":", ":g", "u:", "u:,g",
	    "u:g,", "u:g,,h", "u:g:h", "u:*", "-u", "u:-g", "u:g h",
	    "u:a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q,r" };
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_expect(privgroup_run_as_ok(good[i], 0), "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_not(privgroup_run_as_ok(bad[i], 0), "%s", bad[i]);
	cr_expect(privgroup_run_as_ok("backup:*", 1));
	cr_expect_not(privgroup_run_as_ok("backup:*,tape", 1));
}

/* The group file, by gid: aliases, long lines, odd lines, the last one. */
Test(privgroup, group_file_by_gid)
{
	static char *extra[] = { "ops", "4242" };
	static char *removed[] = { "docker", "root" };
	struct privgroup_set s;
	struct pf_err	 err;
	const struct privgroup_gid *g;
	char		*text, *path, *members;
	size_t		 i;

	members = malloc(20001);
	cr_assert_not_null(members);
	for (i = 0; i < 20000; i++)
		members[i] = i % 8 == 7 ? ',' : 'a';
	members[20000] = '\0';
	cr_assert_neq(asprintf(&text, "# comment\n+nis\n-other\n"
	    "shadow:x:42:\n"
	    "myshadow:x:42:\n"		/* groupadd -o: same gid */
	    "wheel:x:10:alice,bob\n"
	    "bigdisk:x:77:%s\n"
	    "disk:x:6:%s\n"		/* a long line still counts */
	    "broken\n"
	    "nogid:x::\n"
	    "ops:x:500:\n"
	    "docker:x:999:",		/* the last line, no newline */
	    members, members), -1);
	path = test_write(dir, "group", text);
	cr_assert_not_null(path);
	cr_assert_eq(privgroup_set_load_from(&s, path, extra, 2, removed, 2,
	    &err), 0, "%s", err.msg);
	cr_assert_not_null(g = privgroup_find(&s, 0), "root never leaves");
	cr_expect_str_eq(g->name, "root");
	cr_assert_not_null(g = privgroup_find(&s, 42));
	cr_expect_str_eq(g->name, "shadow");
	cr_expect_not_null(privgroup_find(&s, 10));
	cr_expect_not_null(privgroup_find(&s, 6), "the long line was lost");
	cr_expect_null(privgroup_find(&s, 77));
	cr_assert_not_null(g = privgroup_find(&s, 500));
	cr_expect_str_eq(g->why, "listed in the policy's privileged_groups");
	cr_expect_not_null(privgroup_find(&s, 4242));
	cr_expect_null(privgroup_find(&s, 999), "docker was taken out");
	privgroup_set_free(&s);

	/* No file: root alone; a file that cannot be read: an error. */
	cr_assert_eq(privgroup_set_load_from(&s, "/nonexistent/group", NULL, 0,
	    NULL, 0, &err), 0);
	cr_expect_eq(s.n, 1);
	privgroup_set_free(&s);
	cr_expect_eq(privgroup_set_load_from(&s, dir, NULL, 0, NULL, 0, &err),
	    -1);
	cr_expect(strstr(err.msg, "Is a directory") != NULL, "%s", err.msg);
	free(text);
	free(path);
	free(members);
}

/* What the messages say, for each way a group comes in. */
Test(privgroup, messages)
{
	struct privgroup_set s;
	struct privgroup_ids ids;
	struct pf_err	 err;
	char		*path, why[512];

	path = test_write(dir, "group", "shadow:x:42:\nmyshadow:x:42:\n"
	    "users:x:100:\n");
	cr_assert_not_null(path);
	cr_assert_eq(privgroup_set_load_from(&s, path, NULL, 0, NULL, 0, &err),
	    0);
	memset(&ids, 0, sizeof(ids));
	ids.uid = 1000;
	ids.gid = 42;
	ids.gid_given = 1;
	cr_expect_eq(privgroup_check_ids(&s, &ids, "u:shadow", why,
	    sizeof(why)), 1);
	cr_expect_str_eq(why, "group 'shadow' is privileged (reads /etc/shadow "
	    "and /etc/gshadow, the password hashes)");
	cr_expect_eq(privgroup_check_ids(&s, &ids, "u:myshadow", why,
	    sizeof(why)), 1);
	cr_expect_str_eq(why, "group 'myshadow' is privileged (gid 42, that of "
	    "'shadow': reads /etc/shadow and /etc/gshadow, the password "
	    "hashes)");
	/* Supplementary. */
	ids.gid = 100;
	ids.supp[0] = 100;
	ids.supp[1] = 0;
	ids.nsupp = 2;
	cr_expect_eq(privgroup_check_ids(&s, &ids, "u:users,users,0", why,
	    sizeof(why)), 1);
	cr_expect_str_eq(why, "group '0' is privileged (gid 0, that of 'root': "
	    "gid 0: root's group, owner of most system files)");
	ids.nsupp = 1;
	cr_expect_eq(privgroup_check_ids(&s, &ids, "u:users,users", why,
	    sizeof(why)), 0);
	/* The user's own primary group. */
	ids.gid = 42;
	ids.gid_given = 0;
	ids.nsupp = 0;
	cr_expect_eq(privgroup_check_ids(&s, &ids, "u", why, sizeof(why)), 1);
	cr_expect_str_eq(why, "user 'u' has primary group 'shadow' (gid 42), "
	    "which is privileged (reads /etc/shadow and /etc/gshadow, the "
	    "password hashes)");
	privgroup_set_free(&s);
	free(path);
}

Test(privgroup, resolve)
{
	struct privgroup_ids ids;
	char		 why[256];

	if (getpwnam("nobody") == NULL)
		cr_skip_test("no user nobody");
	cr_assert_eq(privgroup_resolve("nobody", &ids, why, sizeof(why)), 0,
	    "%s", why);
	cr_expect(ids.named);
	cr_expect_eq(ids.uid, getpwnam("nobody")->pw_uid);
	cr_expect_eq(ids.gid, getpwnam("nobody")->pw_gid);
	cr_expect_not(ids.gid_given);
	cr_expect_eq(ids.nsupp, 0);
	cr_assert_eq(privgroup_resolve("54321:54322,54323,54324", &ids, why,
	    sizeof(why)), 0, "%s", why);
	cr_expect_not(ids.named);
	cr_expect_eq(ids.uid, 54321);
	cr_expect_eq(ids.gid, 54322);
	cr_expect_eq(ids.nsupp, 2);
	cr_expect_eq(ids.supp[1], 54324);
	cr_expect_eq(privgroup_resolve("no-such-user-pf", &ids, why,
	    sizeof(why)), -1);
	cr_expect_str_eq(why, "no user 'no-such-user-pf' on this host");
	cr_expect_eq(privgroup_resolve("nobody:65534,no-such-group-pf", &ids,
	    why, sizeof(why)), -1);
	cr_expect_str_eq(why, "no group 'no-such-group-pf' on this host");
	cr_expect_eq(privgroup_resolve("nobody:", &ids, why, sizeof(why)), -1);
}
