#include <stdlib.h>
#include <string.h>

#include "picoflow/buf.h"
#include "picoflow/cron.h"
#include "picoflow/err.h"
#include "picoflow/tz.h"
#include "picoflow/workflow.h"
#include "fuzz_targets.h"

int
fuzz_workflow_one(const uint8_t *data, size_t len)
{
	struct wf_load_opts	 opts;
	struct pf_diags		 d, d2;
	struct pf_workflow	*wf, *wf2;
	struct pf_buf		 out;

	workflow_load_opts_default(&opts);
	pf_diags_init(&d);
	wf = workflow_load_buf("fuzz.yaml", data, len, &opts, &d);
	if (wf != NULL) {
		/* What loads must print, and what prints must load again. */
		buf_init(&out, 0);
		if (workflow_print(wf, &out) == 0 && !out.failed) {
			pf_diags_init(&d2);
			wf2 = workflow_load_buf("printed.yaml", out.data,
			    out.len, &opts, &d2);
			if (wf2 == NULL)
				abort();
			workflow_free(wf2);
			pf_diags_free(&d2);
		}
		buf_free(&out);
	}
	workflow_free(wf);
	pf_diags_free(&d);
	return 0;
}

/* One zone, loaded once: the fuzzer varies expressions, not zone files. */
static struct pf_tz *
fuzz_zone(void)
{
	static struct pf_tz	*tz;
	static int		 tried;
	struct pf_err		 err;

	if (!tried) {
		tried = 1;
		if (tz_load("Europe/Berlin", &tz, &err) == -1)
			tz = NULL;
	}
	return tz;
}

int
fuzz_cron_one(const uint8_t *data, size_t len)
{
	struct cron_expr	 ce;
	struct pf_err		 err;
	char			*s;
	size_t			 off;
	int64_t			 t, next;
	int			 i;

	if (len > 4096)
		return 0;
	if ((s = malloc(len + 1)) == NULL)
		return 0;
	memcpy(s, data, len);
	s[len] = '\0';
	if (cron_parse(s, &ce, &off, &err) == 0) {
		/* Around a DST change in the zone, and in UTC. */
		t = 1774746000;		/* 2026-03-29T01:00:00Z */
		for (i = 0; i < 4; i++) {
			if (cron_next(&ce, fuzz_zone(), t, &next, &err) == -1)
				break;
			if (next <= t)
				abort();	/* must move forward */
			t = next;
		}
		t = 1767225600;
		for (i = 0; i < 4; i++) {
			if (cron_next(&ce, NULL, t, &next, &err) == -1)
				break;
			if (next <= t)
				abort();
			t = next;
		}
	} else if (off > len)
		abort();	/* the error must point inside the input */
	free(s);
	return 0;
}
