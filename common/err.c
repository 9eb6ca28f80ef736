#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "picoflow/alloc.h"
#include "picoflow/buf.h"
#include "picoflow/err.h"

void
pf_err_set(struct pf_err *err, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void
pf_err_clear(struct pf_err *err)
{
	if (err != NULL)
		err->msg[0] = '\0';
}

void
pf_diags_init(struct pf_diags *d)
{
	memset(d, 0, sizeof(*d));
}

void
pf_diags_free(struct pf_diags *d)
{
	size_t	 i;

	for (i = 0; i < d->n; i++) {
		pf_free(d->v[i].file);
		pf_free(d->v[i].msg);
	}
	pf_free(d->v);
	d->v = NULL;
	d->n = d->cap = 0;
	/* A freed set is an empty set, ready for reuse; the cap stays. */
	d->nerrors = d->nwarnings = d->dropped = 0;
	d->oom = 0;
}

void
pf_diags_add(struct pf_diags *d, enum pf_severity sev, const char *file,
    unsigned line, unsigned col, const char *fmt, ...)
{
	struct pf_diag	*nv, *e;
	va_list		 ap;
	char		 msg[PF_ERR_MAX];
	size_t		 max = d->max ? d->max : PF_DIAGS_DEFAULT_MAX;

	if (sev == PF_SEV_ERROR)
		d->nerrors++;
	else
		d->nwarnings++;
	if (d->n >= max) {
		d->dropped++;
		return;
	}
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 8;
		if ((nv = pf_reallocarray(d->v, ncap, sizeof(*nv))) == NULL) {
			d->oom = 1;
			return;
		}
		d->v = nv;
		d->cap = ncap;
	}
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e = &d->v[d->n];
	e->sev = sev;
	e->line = line;
	e->col = col;
	e->file = pf_strdup(file ? file : "");
	e->msg = pf_strdup(msg);
	if (e->file == NULL || e->msg == NULL) {
		pf_free(e->file);
		pf_free(e->msg);
		d->oom = 1;
		return;
	}
	d->n++;
}

int
pf_diag_format(const struct pf_diag *e, char *buf, size_t len)
{
	const char	*sev = e->sev == PF_SEV_ERROR ? "error" : "warning";

	if (e->line && e->col)
		return snprintf(buf, len, "%s:%u:%u: %s: %s", e->file,
		    e->line, e->col, sev, e->msg);
	if (e->line)
		return snprintf(buf, len, "%s:%u: %s: %s", e->file, e->line,
		    sev, e->msg);
	return snprintf(buf, len, "%s: %s: %s", e->file, sev, e->msg);
}

char *
pf_diags_text(const struct pf_diags *d, enum pf_severity sev)
{
	struct pf_buf	 b;
	char		 line[PF_ERR_MAX + 256];
	size_t		 i;
	char		*s;

	buf_init(&b, 0);
	for (i = 0; i < d->n; i++) {
		if (d->v[i].sev != sev)
			continue;
		pf_diag_format(&d->v[i], line, sizeof(line));
		buf_printf(&b, "%s%s", b.len ? "\n" : "", line);
	}
	if (sev == PF_SEV_ERROR && d->dropped > 0)
		buf_printf(&b, "\n(%zu more)", d->dropped);
	if (b.len == 0 || b.failed) {
		buf_free(&b);
		return NULL;
	}
	s = pf_strndup((const char *)b.data, b.len);
	buf_free(&b);
	return s;
}
