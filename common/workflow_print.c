/*
 * The normalized form of a workflow: every key in a fixed order, every
 * default written out, strings double-quoted with escapes, so the text
 * loads back to the same model (`picoflow validate --print`, and the
 * golden tests rely on that).
 */
#include <inttypes.h>
#include <string.h>

#include "picoflow/buf.h"
#include "picoflow/workflow.h"

/*
 * A YAML double-quoted scalar.  Escaped: quote, backslash, control
 * characters (C0, DEL, C1), the characters YAML would read as line
 * breaks or a byte order mark (U+2028, U+2029, U+FEFF) and the two
 * non-characters YAML does not allow raw (U+FFFE, U+FFFF).
 */
static void
print_str(struct pf_buf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	char		 esc[4];

	buf_add_u8(b, '"');
	for (; *u != '\0'; u++) {
		switch (*u) {
		case '"':
			buf_add(b, "\\\"", 2);
			continue;
		case '\\':
			buf_add(b, "\\\\", 2);
			continue;
		case '\n':
			buf_add(b, "\\n", 2);
			continue;
		case '\t':
			buf_add(b, "\\t", 2);
			continue;
		case '\r':
			buf_add(b, "\\r", 2);
			continue;
		}
		if (*u < 0x20 || *u == 0x7f) {
			buf_add(b, "\\x", 2);
			esc[0] = hex[*u >> 4];
			esc[1] = hex[*u & 15];
			buf_add(b, esc, 2);
		} else if (u[0] == 0xc2 && u[1] >= 0x80 && u[1] <= 0x9f) {
			/* C1 controls, NEL among them: not printable YAML. */
			buf_add(b, "\\x", 2);
			esc[0] = hex[u[1] >> 4];
			esc[1] = hex[u[1] & 15];
			buf_add(b, esc, 2);
			u++;
		} else if (u[0] == 0xef && u[1] == 0xbf &&
		    (u[2] == 0xbe || u[2] == 0xbf)) {
			buf_add(b, u[2] == 0xbe ? "\\uFFFE" : "\\uFFFF", 6);
			u += 2;
		} else if (u[0] == 0xe2 && u[1] == 0x80 &&
		    (u[2] == 0xa8 || u[2] == 0xa9)) {
			buf_add(b, u[2] == 0xa8 ? "\\L" : "\\P", 2);
			u += 2;
		} else if (u[0] == 0xef && u[1] == 0xbb && u[2] == 0xbf) {
			buf_add(b, "\\uFEFF", 6);
			u += 2;
		} else
			buf_add_u8(b, *u);
	}
	buf_add_u8(b, '"');
}

static void
print_key_str(struct pf_buf *b, const char *indent, const char *key,
    const char *val)
{
	buf_printf(b, "%s%s: ", indent, key);
	print_str(b, val);
	buf_add_u8(b, '\n');
}

static void
print_strv(struct pf_buf *b, const char *indent, const char *key,
    char *const *v, size_t n)
{
	size_t	 i;

	buf_printf(b, "%s%s: [", indent, key);
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_add(b, ", ", 2);
		print_str(b, v[i]);
	}
	buf_add(b, "]\n", 2);
}

static void
print_kv(struct pf_buf *b, const char *indent, const char *key,
    const struct pf_kvlist *l)
{
	size_t	 i;

	if (l->n == 0)
		return;
	buf_printf(b, "%s%s:\n", indent, key);
	for (i = 0; i < l->n; i++) {
		buf_printf(b, "%s  ", indent);
		print_str(b, l->v[i].key);
		buf_add(b, ": ", 2);
		print_str(b, l->v[i].value);
		buf_add_u8(b, '\n');
	}
}

static int
limits_set(const struct pf_limits *l)
{
	return l->memory >= 0 || l->swap >= 0 || l->cpu_milli >= 0 ||
	    l->pids >= 0 || l->nofile >= 0 || l->output >= 0;
}

static void
print_limits(struct pf_buf *b, const char *indent, const struct pf_limits *l)
{
	if (!limits_set(l))
		return;
	buf_printf(b, "%slimits:\n", indent);
	if (l->memory >= 0)
		buf_printf(b, "%s  memory: %" PRId64 "\n", indent, l->memory);
	if (l->swap >= 0)
		buf_printf(b, "%s  swap: %" PRId64 "\n", indent, l->swap);
	if (l->cpu_milli >= 0)
		buf_printf(b, "%s  cpu: %" PRId64 ".%03" PRId64 "\n", indent,
		    l->cpu_milli / 1000, l->cpu_milli % 1000);
	if (l->pids >= 0)
		buf_printf(b, "%s  pids: %" PRId64 "\n", indent, l->pids);
	if (l->nofile >= 0)
		buf_printf(b, "%s  nofile: %" PRId64 "\n", indent, l->nofile);
	if (l->output >= 0)
		buf_printf(b, "%s  output: %" PRId64 "\n", indent, l->output);
}

static void
print_retention(struct pf_buf *b, const struct pf_retention *r)
{
	if (r->max_age <= 0 && r->max_runs <= 0 && r->max_output <= 0)
		return;
	buf_add_str(b, "  retention:\n");
	if (r->max_age > 0)
		buf_printf(b, "    max_age: %" PRId64 "s\n", r->max_age);
	if (r->max_runs > 0)
		buf_printf(b, "    max_runs: %" PRId64 "\n", r->max_runs);
	if (r->max_output > 0)
		buf_printf(b, "    max_output: %" PRId64 "\n", r->max_output);
}

static void
print_task(struct pf_buf *b, const struct pf_task *t)
{
	const struct pf_sandbox *sb = &t->sandbox;
	const char	*in = "    ", *cin = "      ";
	size_t		 i;

	buf_add_str(b, "  - name: ");
	print_str(b, t->name);
	buf_add_u8(b, '\n');
	buf_printf(b, "%stype: %s\n", in, task_type_name(t->type));
	print_strv(b, in, "depends_on", t->depends_on, t->ndepends_on);
	buf_printf(b, "%sretry: %u\n", in, t->retry);
	buf_printf(b, "%stimeout: %u\n", in, t->timeout);
	buf_printf(b, "%scontinue_on_failure: %s\n", in,
	    t->continue_on_failure ? "true" : "false");
	print_limits(b, in, &t->limits);
	if (t->run_as != NULL)
		print_key_str(b, in, "run_as", t->run_as);
	if (sb->network >= 0 || sb->private_tmp >= 0 ||
	    sb->read_only != NULL || sb->writable != NULL) {
		buf_printf(b, "%ssandbox:\n", in);
		if (sb->network >= 0)
			buf_printf(b, "%snetwork: %s\n", cin,
			    sb->network ? "true" : "false");
		if (sb->private_tmp >= 0)
			buf_printf(b, "%sprivate_tmp: %s\n", cin,
			    sb->private_tmp ? "true" : "false");
		if (sb->read_only != NULL)
			print_strv(b, cin, "read_only", sb->read_only,
			    sb->nread_only);
		if (sb->writable != NULL)
			print_strv(b, cin, "writable", sb->writable,
			    sb->nwritable);
	}
	buf_printf(b, "%sconfig:\n", in);
	switch (t->type) {
	case TASK_SHELL:
		print_key_str(b, cin, "command", t->u.shell.command);
		print_strv(b, cin, "args", t->u.shell.args, t->u.shell.nargs);
		if (t->u.shell.workdir != NULL)
			print_key_str(b, cin, "workdir", t->u.shell.workdir);
		print_kv(b, cin, "env", &t->u.shell.env);
		break;
	case TASK_SSH:
		print_key_str(b, cin, "host", t->u.ssh.host);
		print_key_str(b, cin, "user", t->u.ssh.user);
		print_key_str(b, cin, "command", t->u.ssh.command);
		if (t->u.ssh.key_path != NULL)
			print_key_str(b, cin, "key_path", t->u.ssh.key_path);
		buf_printf(b, "%sport: %d\n", cin, t->u.ssh.port);
		buf_printf(b, "%sverify_host_key: %s\n", cin,
		    t->u.ssh.verify_host_key ? "true" : "false");
		break;
	case TASK_HTTP:
		print_key_str(b, cin, "url", t->u.http.url);
		buf_printf(b, "%smethod: %s\n", cin, t->u.http.method);
		print_kv(b, cin, "headers", &t->u.http.headers);
		if (t->u.http.body != NULL && t->u.http.body_is_json)
			/* JSON as emitted by the loader is YAML flow text. */
			buf_printf(b, "%sbody: %s\n", cin, t->u.http.body);
		else if (t->u.http.body != NULL)
			print_key_str(b, cin, "body", t->u.http.body);
		buf_printf(b, "%stimeout: %d\n", cin, t->u.http.timeout);
		buf_printf(b, "%sallow_private_ips: %s\n", cin,
		    t->u.http.allow_private_ips ? "true" : "false");
		if (t->u.http.ca_file != NULL)
			print_key_str(b, cin, "ca_file", t->u.http.ca_file);
		if (t->u.http.success_status != NULL) {
			buf_printf(b, "%ssuccess_status: [", cin);
			for (i = 0; i < t->u.http.nsuccess_status; i++)
				buf_printf(b, "%s%d", i ? ", " : "",
				    t->u.http.success_status[i]);
			buf_add(b, "]\n", 2);
		}
		break;
	}
}

int
workflow_print(const struct pf_workflow *wf, struct pf_buf *b)
{
	static const char *const overlap[] = {
		[OVERLAP_SKIP] = "skip",
		[OVERLAP_QUEUE] = "queue",
		[OVERLAP_ALLOW] = "allow",
	};
	static const char *const catchup[] = {
		[CATCHUP_LATEST] = "latest",
		[CATCHUP_NONE] = "none",
		[CATCHUP_ALL] = "all",
	};
	size_t	 i;

	print_key_str(b, "", "name", wf->name);
	if (wf->description != NULL)
		print_key_str(b, "", "description", wf->description);
	if (wf->schedule != NULL)
		print_key_str(b, "", "schedule", wf->schedule);
	if (wf->timezone != NULL)
		print_key_str(b, "", "timezone", wf->timezone);
	buf_printf(b, "overlap: %s\n", overlap[wf->overlap]);
	buf_printf(b, "catchup: %s\n", catchup[wf->catchup]);
	buf_printf(b, "catchup_window: %" PRIu32 "\n", wf->catchup_window);
	buf_printf(b, "catchup_max: %" PRIu32 "\n", wf->catchup_max);
	print_kv(b, "", "env", &wf->env);
	buf_add_str(b, "config:\n");
	buf_printf(b, "  max_parallel: %u\n", wf->max_parallel);
	if (wf->max_tasks_running > 0)
		buf_printf(b, "  max_tasks_running: %u\n",
		    wf->max_tasks_running);
	if (wf->max_runs_running > 0)
		buf_printf(b, "  max_runs_running: %u\n",
		    wf->max_runs_running);
	buf_printf(b, "  retry_default: %u\n", wf->retry_default);
	buf_printf(b, "  timeout_default: %u\n", wf->timeout_default);
	print_limits(b, "  ", &wf->limits);
	print_retention(b, &wf->retention);
	if (wf->ntasks == 0)
		buf_add_str(b, "tasks: []\n");
	else
		buf_add_str(b, "tasks:\n");
	for (i = 0; i < wf->ntasks; i++)
		print_task(b, &wf->tasks[i]);
	return b->failed ? -1 : 0;
}
