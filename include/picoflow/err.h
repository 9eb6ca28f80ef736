/*
 * Errors a user can act on.  Functions return 0 / -1 and fill a struct
 * pf_err.  Loaders that report every problem in a file collect them in a
 * struct pf_diags, each with file:line:column.
 */
#ifndef PICOFLOW_ERR_H
#define PICOFLOW_ERR_H

#include <stddef.h>

#define PF_ERR_MAX	1024

struct pf_err {
	char	 msg[PF_ERR_MAX];
};

void	 pf_err_set(struct pf_err *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 pf_err_clear(struct pf_err *);

enum pf_severity {
	PF_SEV_ERROR,
	PF_SEV_WARNING,
};

struct pf_diag {
	enum pf_severity sev;
	char		*file;		/* as given by the caller */
	unsigned	 line;		/* 1-based; 0 when unknown */
	unsigned	 col;		/* 1-based; 0 when unknown */
	char		*msg;
};

struct pf_diags {
	struct pf_diag	*v;
	size_t		 n, cap;
	size_t		 nerrors, nwarnings;
	size_t		 max;		/* cap on stored entries; 0 = default */
	size_t		 dropped;	/* entries beyond the cap */
	int		 oom;		/* an entry could not be stored */
};

#define PF_DIAGS_DEFAULT_MAX	100

void	 pf_diags_init(struct pf_diags *);
/* Frees the entries and resets the counts; the struct can be reused. */
void	 pf_diags_free(struct pf_diags *);
/* Adds an entry; never fails from the caller's view (sets ->oom instead). */
void	 pf_diags_add(struct pf_diags *, enum pf_severity, const char *file,
	    unsigned line, unsigned col, const char *fmt, ...)
	    __attribute__((format(printf, 6, 7)));
/* "file:line:col: error: msg" (line/col omitted when 0) into buf. */
int	 pf_diag_format(const struct pf_diag *, char *buf, size_t len);
/*
 * Every entry of one severity formatted, one per line (errors end with
 * "(N more)" when some were dropped); NULL when there is none or memory
 * ran out.  pf_free() it.
 */
char	*pf_diags_text(const struct pf_diags *, enum pf_severity);

#endif
