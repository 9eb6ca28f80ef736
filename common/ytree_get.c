/*
 * The YAML node tree's typed getters: a scalar, a string with length
 * bounds, an integer in a range, a bool, one of a set of words, a size,
 * lists; and a mapping's keys collected and checked (unknown, duplicate).
 * Each reports its problem with file:line:column and the key's path.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "picoflow/alloc.h"
#include "picoflow/err.h"
#include "picoflow/units.h"
#include "ytree.h"
#include "ytree_int.h"

/*
 * Each getter returns 1 when it stored a value, 0 when the value is absent
 * (no node, or YAML null for an optional key) and -1 when it reported an
 * error (or ran out of memory, y->oom).  `what` names the key in messages,
 * including any "task 'x': " prefix.
 */

int
yt_get_scalar(struct ytree *y, const struct ynode *v, const char *pfx,
    const char *key, int required, const struct ynode **out)
{
	v = yt_r(v);
	if (v == NULL)
		return 0;
	if (yt_is_null(v)) {
		if (!required)
			return 0;
		yt_err(y, v, "%s%s: missing value", pfx, key);
		return -1;
	}
	if (v->kind != YN_SCALAR) {
		yt_err(y, v, "%s%s: expected a string, got %s", pfx, key,
		    yt_kind_name(v));
		return -1;
	}
	*out = v;
	return 1;
}

int
yt_get_str(struct ytree *y, const struct ynode *v, const char *pfx,
    const char *key, int required, size_t maxlen, char **out)
{
	const struct ynode *s;
	int		 rc;

	if ((rc = yt_get_scalar(y, v, pfx, key, required, &s)) != 1)
		return rc;
	if (memchr(s->text, '\0', s->len) != NULL) {
		yt_err(y, s, "%s%s: contains a NUL character", pfx, key);
		return -1;
	}
	if (s->len > maxlen) {
		yt_err(y, s, "%s%s: %zu bytes long; the limit is %zu", pfx,
		    key, s->len, maxlen);
		return -1;
	}
	if ((*out = yt_strdup(y, s->text, s->len)) == NULL)
		return -1;
	return 1;
}

/*
 * Whether s, which units_int() refused, still reads as a number (2.5,
 * 1e3, 0x10, .5): the message then says "not a whole decimal number".
 */
static int
looks_numeric(const char *s)
{
	const char	*p = s;

	if (*p == '+' || *p == '-')
		p++;
	if (*p < '0' || *p > '9')
		return strspn(p, "0123456789.") > 0 && *p != '\0';
	p += strspn(p, "0123456789");
	return *p != '\0' && strchr(".eExXoO_", *p) != NULL;
}

int
yt_get_int(struct ytree *y, const struct ynode *v, const char *pfx,
    const char *key, long long min, long long max, long long *out)
{
	int64_t		 x;
	int		 rc;

	v = yt_r(v);
	if (v == NULL || yt_is_null(v))
		return 0;
	if (v->kind != YN_SCALAR) {
		yt_err(y, v, "%s%s: expected an integer %lld..%lld, got %s",
		    pfx, key, min, max, yt_kind_name(v));
		return -1;
	}
	if (v->style != YS_PLAIN || v->str) {
		yt_err(y, v, "%s%s: expected an integer %lld..%lld, got the "
		    "string \"%s\" (write it without quotes)", pfx, key, min,
		    max, yt_shown(y, v));
		return -1;
	}
	rc = units_int(v->text, min, max, &x);
	if (rc == UNITS_EMPTY || rc == UNITS_SYNTAX) {
		yt_err(y, v, "%s%s: '%s' is not %s; expected an integer "
		    "%lld..%lld", pfx, key, yt_shown(y, v),
		    looks_numeric(v->text) ? "a whole decimal number" :
		    "a number", min, max);
		return -1;
	}
	if (rc == UNITS_RANGE) {
		yt_err(y, v, "%s%s: %s is out of range %lld..%lld", pfx, key,
		    yt_shown(y, v), min, max);
		return -1;
	}
	*out = x;
	return 1;
}

int
yt_get_bool(struct ytree *y, const struct ynode *v, const char *pfx,
    const char *key, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE" };
	static const char *const no[] = { "false", "False", "FALSE" };
	size_t	 i;

	v = yt_r(v);
	if (v == NULL || yt_is_null(v))
		return 0;
	if (v->kind == YN_SCALAR && v->style == YS_PLAIN && !v->str) {
		for (i = 0; i < 3; i++) {
			if (strcmp(v->text, yes[i]) == 0) {
				*out = true;
				return 1;
			}
			if (strcmp(v->text, no[i]) == 0) {
				*out = false;
				return 1;
			}
		}
	}
	if (v->kind != YN_SCALAR)
		yt_err(y, v, "%s%s: expected true or false, got %s", pfx, key,
		    yt_kind_name(v));
	else if (v->style != YS_PLAIN || v->str)
		yt_err(y, v, "%s%s: expected true or false, got the string "
		    "\"%s\" (write it without quotes)", pfx, key,
		    yt_shown(y, v));
	else
		yt_err(y, v, "%s%s: '%s' is not a boolean; use true or false",
		    pfx, key, yt_shown(y, v));
	return -1;
}

/* A string that must be one of a few words. */
int
yt_get_word(struct ytree *y, const struct ynode *v, const char *pfx,
    const char *key, const char *const *words, size_t n, int *out)
{
	const struct ynode *s;
	const char	*close;
	char		 list[256];
	size_t		 i, o = 0;
	int		 rc;

	if ((rc = yt_get_scalar(y, v, pfx, key, 0, &s)) != 1)
		return rc;
	for (i = 0; i < n; i++)
		if (strcmp(s->text, words[i]) == 0) {
			*out = (int)i;
			return 1;
		}
	list[0] = '\0';
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(list + o, o < sizeof(list) ?
		    sizeof(list) - o : 0, "%s%s", i ? ", " : "", words[i]);
	close = yt_suggest(s->text, words, n);
	if (close != NULL)
		yt_err(y, s, "%s%s: '%s' is not one of %s; did you mean "
		    "'%s'?", pfx, key, yt_shown(y, s), list, close);
	else
		yt_err(y, s, "%s%s: '%s' is not one of %s", pfx, key,
		    yt_shown(y, s), list);
	return -1;
}

/*
 * Collects the values of a mapping with known keys: vals[i] and keys[i]
 * for keys[i] named names[i].  Unknown keys (with the closest name
 * suggested), duplicates and non-scalar keys are reported here.
 */
void
yt_map_collect(struct ytree *y, const struct ynode *map, const char *const *names,
    size_t n, const char *where, const struct ynode **vals,
    const struct ynode **keys)
{
	const struct ynode *k, *v;
	const char	*close;
	size_t		 i;

	for (i = 0; i < n; i++)
		vals[i] = keys[i] = NULL;
	for (k = map->child; k != NULL && k->next != NULL; k = v->next) {
		v = k->next;
		if (yt_r(k)->kind != YN_SCALAR) {
			yt_err(y, k, "%s: a key must be a plain word, not %s",
			    where, yt_kind_name(yt_r(k)));
			continue;
		}
		for (i = 0; i < n; i++)
			if (strcmp(yt_r(k)->text, names[i]) == 0)
				break;
		if (i == n) {
			close = yt_suggest(yt_r(k)->text, names, n);
			if (close != NULL)
				yt_err(y, k, "unknown key '%s' in %s; did you "
				    "mean '%s'?", yt_shown(y, k), where, close);
			else
				yt_err(y, k, "unknown key '%s' in %s",
				    yt_shown(y, k), where);
			continue;
		}
		if (keys[i] != NULL) {
			yt_err(y, k, "duplicate key '%s' in %s (first at line "
			    "%u)", names[i], where, keys[i]->line);
			continue;
		}
		keys[i] = k;
		vals[i] = v;
	}
}

static int
cmp_keynode(const void *a, const void *b)
{
	const struct ynode *x = *(const struct ynode *const *)a;
	const struct ynode *y = *(const struct ynode *const *)b;
	int		 c;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	if ((c = memcmp(x->text, y->text, x->len)) != 0)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->col < y->col ? -1 : x->col > y->col;
}

/*
 * Duplicate and non-scalar keys of a free-form mapping (env, headers, an
 * http body), sorted so a big mapping costs n log n.
 */
int
yt_map_check_keys(struct ytree *y, const struct ynode *map, const char *where)
{
	const struct ynode **v, *k;
	size_t		 n = 0, i;
	int		 bad = 0;

	if (map->n == 0)
		return 0;
	if ((v = pf_reallocarray(NULL, map->n / 2 + 1, sizeof(*v))) == NULL) {
		y->oom = 1;
		return -1;
	}
	for (k = map->child; k != NULL && k->next != NULL; k = k->next->next) {
		if (yt_r(k)->kind != YN_SCALAR) {
			yt_err(y, k, "%s: a key must be a scalar, not %s",
			    where, yt_kind_name(yt_r(k)));
			bad = 1;
			continue;
		}
		/* An aliased key counts with its anchor's text and place. */
		v[n++] = yt_r(k);
	}
	qsort(v, n, sizeof(*v), cmp_keynode);
	for (i = 1; i < n; i++) {
		if (v[i]->len == v[i - 1]->len &&
		    memcmp(v[i]->text, v[i - 1]->text, v[i]->len) == 0) {
			yt_err(y, v[i], "%s: duplicate key '%s' (first at line "
			    "%u)", where, yt_shown(y, v[i]), v[i - 1]->line);
			bad = 1;
		}
	}
	pf_free(v);
	return bad ? -1 : 0;
}

int
yt_get_list(struct ytree *y, const struct ynode *v, const char *pfx,
    const char *key, size_t maxn, const struct ynode **out)
{
	v = yt_r(v);
	if (v == NULL || yt_is_null(v))
		return 0;
	if (v->kind != YN_SEQ) {
		yt_err(y, v, "%s%s: expected a list, got %s", pfx, key,
		    yt_kind_name(v));
		return -1;
	}
	if (v->n > maxn) {
		yt_err(y, v, "%s%s: %zu items; the limit is %zu", pfx, key,
		    v->n, maxn);
		return -1;
	}
	*out = v;
	return 1;
}

/* A list of strings; paths=1 requires absolute paths without "..". */
int
yt_get_strlist(struct ytree *y, const struct ynode *v, const char *pfx,
    const char *key, size_t maxn, size_t maxlen, int paths, char ***out,
    size_t *nout)
{
	const struct ynode *l, *it;
	const char	*why;
	char		 ikey[96];
	size_t		 i;
	int		 rc, bad = 0;

	if ((rc = yt_get_list(y, v, pfx, key, maxn, &l)) != 1)
		return rc;
	if ((*out = pf_calloc(l->n + 1, sizeof(char *))) == NULL) {
		y->oom = 1;
		return -1;
	}
	*nout = l->n;
	for (i = 0, it = l->child; it != NULL; it = it->next, i++) {
		(void)snprintf(ikey, sizeof(ikey), "%s[%zu]", key, i);
		rc = yt_get_str(y, it, pfx, ikey, 1, maxlen, &(*out)[i]);
		if (rc == -1) {
			bad = 1;
			continue;
		}
		if (paths && (why = yt_abs_path_problem((*out)[i])) != NULL) {
			yt_err(y, it, "%s%s: '%s' %s", pfx, ikey,
			    yt_shown(y, it), why);
			bad = 1;
		}
	}
	return bad ? -1 : 1;
}

int
yt_get_size(struct ytree *y, const struct ynode *v, const char *pfx,
    const char *key, long long min, long long *out)
{
	const struct ynode *s;
	int		 rc;

	if ((rc = yt_get_scalar(y, v, pfx, key, 0, &s)) != 1)
		return rc;
	rc = yt_parse_size(s->text, out);
	if (rc == -1) {
		yt_err(y, s, "%s%s: '%s' is not a size; use a number of bytes "
		    "with an optional K, M or G suffix (e.g. 64M)", pfx, key,
		    yt_shown(y, s));
		return -1;
	}
	if (rc == -2 || *out < min) {
		yt_err(y, s, "%s%s: %s is out of range %lld..1T", pfx, key,
		    yt_shown(y, s), min);
		return -1;
	}
	return 1;
}
