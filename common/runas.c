/*
 * Whether a run_as names root, judged where the name service is whole.
 * pf-supervisor uses it to check a model pf-loader sent (the loader's
 * own verdict comes from a process that parsed hostile input).
 */
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "picoflow/runas.h"

static int
all_digits(const char *s, size_t n)
{
	size_t	 i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

int
runas_is_root(const char *run_as)
{
	char		 part[64];
	size_t		 n = strcspn(run_as, ":");
	const char	*g;
	struct passwd	*pw;
	struct group	*gr;

	if (n >= sizeof(part))
		return 1;	/* not a name we can judge: assume the worst */
	memcpy(part, run_as, n);
	part[n] = '\0';
	if (all_digits(part, n)) {
		if (strtoul(part, NULL, 10) == 0)
			return 1;
	} else if (strcmp(part, "root") == 0 ||
	    ((pw = getpwnam(part)) != NULL && pw->pw_uid == 0))
		return 1;
	if (run_as[n] != ':')
		return 0;
	/* The primary group; gid 0 among the others is a privileged group. */
	g = run_as + n + 1;
	if (strcmp(g, "*") == 0)
		return 0;
	n = strcspn(g, ",");
	if (n >= sizeof(part))
		return 1;
	memcpy(part, g, n);
	part[n] = '\0';
	if (all_digits(part, n))
		return strtoul(part, NULL, 10) == 0;
	return strcmp(part, "root") == 0 ||
	    ((gr = getgrnam(part)) != NULL && gr->gr_gid == 0);
}
