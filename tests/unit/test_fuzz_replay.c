/*
 * Replays every fuzz corpus file, and every workflow file the project
 * ships, through the fuzz entry points in the normal build, so that an
 * input that once crashed a parser stays in the suite.  `make fuzz`
 * (libFuzzer) grows the corpora; see docs/reliability.md.
 */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "picoflow/ctl.h"
#include "../lib/fuzz_targets.h"
#include "../lib/proc.h"

typedef int (*fuzz_fn)(const uint8_t *, size_t);

/* Runs fn over every regular file in dir; returns how many. */
static size_t
replay_dir(const char *dir, fuzz_fn fn)
{
	struct dirent	*de;
	struct stat	 st;
	char		 path[4096], *data;
	size_t		 n = 0, len;
	DIR		*d;

	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		cr_assert_not_null(data = test_read(path, &len), "%s", path);
		cr_assert_eq(fn((const uint8_t *)data, len), 0, "%s", path);
		free(data);
		n++;
	}
	closedir(d);
	return n;
}

Test(fuzz_replay, workflow_corpus_and_shipped_files)
{
	size_t	 n = 0;

	n += replay_dir(PF_SRC_DIR "/tests/fuzz/corpus/workflow",
	    fuzz_workflow_one);
	cr_assert_geq(n, 4, "the seed corpus is missing");
	n += replay_dir(PF_SRC_DIR "/examples", fuzz_workflow_one);
	n += replay_dir(PF_SRC_DIR "/examples/workflows", fuzz_workflow_one);
	n += replay_dir(PF_SRC_DIR "/tests/fixtures/valid", fuzz_workflow_one);
	n += replay_dir(PF_SRC_DIR "/tests/fixtures/invalid",
	    fuzz_workflow_one);
	cr_log_info("%zu workflow inputs replayed", n);
}

Test(fuzz_replay, wfcodec_corpus)
{
	cr_assert_geq(replay_dir(PF_SRC_DIR "/tests/fuzz/corpus/wfcodec",
	    fuzz_wfcodec_one), 10, "the seed corpus is missing");
}

Test(fuzz_replay, cron_corpus)
{
	cr_assert_geq(replay_dir(PF_SRC_DIR "/tests/fuzz/corpus/cron",
	    fuzz_cron_one), 20);
}

/* The harness itself must catch what it is there to catch. */
Test(fuzz_replay, cron_target_rejects_junk_without_crashing)
{
	static const char *junk[] = { "", " ", "* * * * * * * *", "\xff\xfe",
	    "0 0 31W 2 *", "@@daily", "1-60/0 * * * *" };
	size_t	 i;

	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		cr_assert_eq(fuzz_cron_one((const uint8_t *)junk[i],
		    strlen(junk[i])), 0);
}

Test(fuzz_replay, policy_corpus_and_fixtures)
{
	size_t	 n;

	n = replay_dir(PF_SRC_DIR "/tests/fuzz/corpus/policy",
	    fuzz_policy_one);
	cr_assert_geq(n, 8, "the seed corpus is missing");
	n += replay_dir(PF_SRC_DIR "/tests/fixtures/policy/valid",
	    fuzz_policy_one);
	n += replay_dir(PF_SRC_DIR "/tests/fixtures/policy/invalid",
	    fuzz_policy_one);
	n += replay_dir(PF_SRC_DIR "/examples/policy", fuzz_policy_one);
	cr_log_info("%zu policy inputs replayed", n);
}

Test(fuzz_replay, control_socket_corpus)
{
	cr_assert_geq(replay_dir(PF_SRC_DIR "/tests/fuzz/corpus/ctl",
	    ctl_fuzz_one), 3);
}
