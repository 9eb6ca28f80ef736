/*
 * picoflow template: writes a starter workflow.  Every template is a valid
 * workflow (the tests load each one).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct tmpl {
	const char	*name;
	const char	*text;
};

static const struct tmpl templates[] = {
	{ "minimal",
"# A minimal PicoFlow workflow: one shell task.\n"
"name: hello\n"
"tasks:\n"
"  - name: greet\n"
"    type: shell\n"
"    config:\n"
"      command: /bin/echo\n"
"      args: [\"hello from picoflow\"]\n" },
	{ "shell",
"# Shell tasks: commands are run directly (execve), never through a shell.\n"
"# Use /bin/sh -c '...' explicitly when you need pipes or globbing.\n"
"name: shell-example\n"
"description: \"Collect disk usage, then archive the report\"\n"
"config:\n"
"  max_parallel: 2\n"
"  retry_default: 1\n"
"  timeout_default: 60\n"
"tasks:\n"
"  - name: disk_usage\n"
"    type: shell\n"
"    config:\n"
"      command: /bin/df\n"
"      args: [\"-h\"]\n"
"  - name: memory\n"
"    type: shell\n"
"    config:\n"
"      command: /usr/bin/free\n"
"      args: [\"-m\"]\n"
"  - name: report\n"
"    type: shell\n"
"    depends_on: [disk_usage, memory]\n"
"    timeout: 30\n"
"    config:\n"
"      command: /bin/sh\n"
"      args: [\"-c\", \"date -u > \\\"$REPORT_DIR/last-run\\\"\"]\n"
"      workdir: /tmp\n"
"      env:\n"
"        REPORT_DIR: /tmp\n" },
	{ "ssh",
"# SSH tasks authenticate with a key and verify the host key against\n"
"# known_hosts (an unknown or changed key fails the task).\n"
"name: ssh-example\n"
"tasks:\n"
"  - name: uptime\n"
"    type: ssh\n"
"    timeout: 30\n"
"    config:\n"
"      host: server.example.org\n"
"      port: 22\n"
"      user: deploy\n"
"      key_path: ~/.ssh/id_ed25519\n"
"      command: uptime\n"
"      verify_host_key: true\n" },
	{ "http",
"# HTTP tasks succeed on a 2xx status; redirects are not followed.\n"
"# Private and loopback addresses are refused unless allow_private_ips.\n"
"name: http-example\n"
"tasks:\n"
"  - name: health\n"
"    type: http\n"
"    retry: 2\n"
"    config:\n"
"      url: https://service.example.org/health\n"
"      method: GET\n"
"      timeout: 10\n"
"  - name: notify\n"
"    type: http\n"
"    depends_on: [health]\n"
"    config:\n"
"      url: https://hooks.example.org/picoflow\n"
"      method: POST\n"
"      headers:\n"
"        Authorization: \"Bearer CHANGE-ME\"\n"
"      body:\n"
"        event: healthy\n"
"        source: picoflow\n"
"      timeout: 15\n" },
	{ "full",
"# Every executor, dependencies, a schedule and the common settings.\n"
"name: full-example\n"
"description: \"Nightly: check, back up, verify, notify\"\n"
"schedule: \"0 30 2 * * *\"     # sec min hour dom month dow: 02:30:00 daily\n"
"timezone: UTC\n"
"config:\n"
"  max_parallel: 2\n"
"  retry_default: 2\n"
"  timeout_default: 300\n"
"tasks:\n"
"  - name: api_health\n"
"    type: http\n"
"    config:\n"
"      url: https://service.example.org/health\n"
"      timeout: 10\n"
"  - name: dump\n"
"    type: ssh\n"
"    depends_on: [api_health]\n"
"    timeout: 900\n"
"    config:\n"
"      host: db.example.org\n"
"      user: backup\n"
"      command: pg_dump app | gzip > /backup/app.sql.gz\n"
"  - name: verify\n"
"    type: shell\n"
"    depends_on: [dump]\n"
"    retry: 0\n"
"    config:\n"
"      command: /usr/bin/test\n"
"      args: [\"-d\", \"/tmp\"]\n"
"  - name: notify\n"
"    type: http\n"
"    depends_on: [verify]\n"
"    continue_on_failure: true\n"
"    config:\n"
"      url: https://hooks.example.org/picoflow\n"
"      method: POST\n"
"      body: {event: backup_done}\n" },
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: picoflow template [-t minimal|shell|ssh|http|full] "
	    "[-o FILE]\n"
	    "Writes a starter workflow to FILE (never overwriting one) or to "
	    "standard output.\n");
}

int
cli_template(struct cli_ctx *ctx, int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "type",	required_argument, NULL, 't' },
		{ "output",	required_argument, NULL, 'o' },
		{ "help",	no_argument,	   NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const struct tmpl	*t = &templates[0];
	const char		*out = NULL;
	size_t			 i, len, off;
	ssize_t			 n;
	int			 ch, fd;

	(void)ctx;
	while ((ch = getopt_long(argc, argv, "t:o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 't':
			for (i = 0; i < sizeof(templates) / sizeof(*t); i++)
				if (strcmp(optarg, templates[i].name) == 0)
					break;
			if (i == sizeof(templates) / sizeof(*t)) {
				fprintf(stderr, "picoflow: unknown template "
				    "'%s' (minimal, shell, ssh, http, full)\n",
				    optarg);
				return CLI_USAGE;
			}
			t = &templates[i];
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (out == NULL) {
		fputs(t->text, stdout);
		return CLI_OK;
	}
	/* O_EXCL: an existing file, or a symlink planted there, is refused. */
	fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd == -1) {
		if (errno == EEXIST)
			fprintf(stderr, "picoflow: %s already exists; not "
			    "overwriting it\n", out);
		else
			fprintf(stderr, "picoflow: %s: %s\n", out,
			    strerror(errno));
		return CLI_FAIL;
	}
	len = strlen(t->text);
	for (off = 0; off < len; off += (size_t)n) {
		n = write(fd, t->text + off, len - off);
		if (n == -1 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (n <= 0) {
			fprintf(stderr, "picoflow: %s: %s\n", out,
			    strerror(errno));
			close(fd);
			unlink(out);
			return CLI_FAIL;
		}
	}
	if (close(fd) == -1) {
		fprintf(stderr, "picoflow: %s: %s\n", out, strerror(errno));
		unlink(out);
		return CLI_FAIL;
	}
	printf("Wrote the '%s' template to %s\n", t->name, out);
	return CLI_OK;
}
