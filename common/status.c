/*
 * Status names and parsing; see status.h.  The names are the database's
 * text values: never change one, add a status instead.
 */
#include <stddef.h>
#include <string.h>

#include "picoflow/status.h"

static const char *const names[PF_STATUS__COUNT] = {
	[PF_STATUS_NONE] = NULL,
	[PF_STATUS_RUNNING] = "running",
	[PF_STATUS_SUCCESS] = "success",
	[PF_STATUS_FAILED] = "failed",
	[PF_STATUS_TIMEOUT] = "timeout",
	[PF_STATUS_SKIPPED] = "skipped",
	[PF_STATUS_CANCELLED] = "cancelled",
	[PF_STATUS_INTERRUPTED] = "interrupted",
};

int
pf_status_valid(enum pf_status s)
{
	return (unsigned)s < PF_STATUS__COUNT && names[s] != NULL;
}

const char *
pf_status_name(enum pf_status s)
{
	return pf_status_valid(s) ? names[s] : "unknown";
}

int
pf_status_parse(const char *s, enum pf_status *out)
{
	unsigned	 i;

	if (s == NULL)
		return -1;
	for (i = 0; i < PF_STATUS__COUNT; i++)
		if (names[i] != NULL && strcmp(s, names[i]) == 0) {
			*out = (enum pf_status)i;
			return 0;
		}
	return -1;
}
