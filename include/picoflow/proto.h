/*
 * The worker protocol: the messages pf-supervisor and pf-worker exchange
 * over the frame codec (picoflow/frame.h), their tags, and checked
 * encoders and decoders.  docs/protocol.md describes the same thing for
 * someone writing a peer.
 *
 *	supervisor -> worker	SPEC (one message, may span several frames)
 *	worker -> supervisor	STARTED, OUTPUT..., RESULT
 *
 * Decoders treat their input as hostile: every field is size-checked,
 * singletons may appear once, required fields must be present, strings
 * must not contain NUL, counts and lengths are capped, and values are
 * range-checked.  Unknown tags are skipped, so a newer peer may add
 * fields.
 */
#ifndef PICOFLOW_PROTO_H
#define PICOFLOW_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "picoflow/buf.h"
#include "picoflow/err.h"
#include "picoflow/frame.h"
#include "picoflow/tlv.h"

/* pf-worker finds its supervisor socket (SOCK_STREAM) on this fd. */
#define PF_WORKER_FD		3

/* Frame types on the worker channel. */
enum proto_msg {
	PROTO_MSG_SPEC = 1,	/* supervisor -> worker, may span frames */
	PROTO_MSG_STARTED = 2,	/* worker -> supervisor */
	PROTO_MSG_OUTPUT = 3,
	PROTO_MSG_RESULT = 4,
};

/* Limits a receiver enforces (docs/protocol.md, "Limits"). */
#define PROTO_SPEC_MAX		(4 * 1024 * 1024) /* SPEC body, all frames */
#define PROTO_SPEC_FIELDS_MAX	16384
#define PROTO_REPEAT_MAX	4096	/* entries of one repeated field */
#define PROTO_NAME_MAX		256	/* ids, names, hosts, users, keys */
#define PROTO_PATH_MAX		4096
#define PROTO_ARG_MAX		(128 * 1024) /* Linux's MAX_ARG_STRLEN */
#define PROTO_URL_MAX		8192
#define PROTO_HEADER_MAX	8192	/* one "name: value" pair */
#define PROTO_ERROR_MAX		4096
#define PROTO_OUTPUT_CHUNK_MAX	(60 * 1024)
#define PROTO_KILL_GRACE_MAX_MS	3600000u
#define PROTO_DRAIN_MAX_MS	60000u
#define PROTO_ATTACH_WINDOW_MAX_MS (24u * 3600 * 1000)

/* Defaults a SPEC gets from proto_spec_init(). */
#define PROTO_DEFAULT_OUTPUT_CAP	(10u * 1024 * 1024)
#define PROTO_DEFAULT_KILL_GRACE_MS	5000u
#define PROTO_DEFAULT_DRAIN_MS		100u
#define PROTO_DEFAULT_ATTACH_WINDOW_MS	(10u * 60 * 1000)
#define PROTO_DEFAULT_PATH	"PATH=/usr/local/bin:/usr/bin:/bin"
#define PROTO_DEFAULT_LANG	"LANG=C.UTF-8"
#define PROTO_DEFAULT_SSH_PORT	22
#define PROTO_DEFAULT_HTTP_TIMEOUT 300	/* seconds */

enum proto_exec {
	PROTO_EXEC_SHELL = 1,
	PROTO_EXEC_SSH = 2,
	PROTO_EXEC_HTTP = 3,
};

enum proto_stream {
	PROTO_STDOUT = 1,
	PROTO_STDERR = 2,
};

enum proto_status {
	PROTO_ST_OK = 1,		/* exited 0 (http: accepted status) */
	PROTO_ST_FAILED = 2,		/* exited non-zero */
	PROTO_ST_SIGNALED = 3,		/* died from a signal on its own */
	PROTO_ST_EXEC_ERROR = 4,	/* the command could not be executed */
	PROTO_ST_SPAWN_ERROR = 5,	/* pipes, workdir, fork resources */
	PROTO_ST_KILLED = 6,		/* stopped on the supervisor's order */
	PROTO_ST_INTERNAL_ERROR = 7,	/* the worker itself failed */
};
#define PROTO_ST_MAX	PROTO_ST_INTERNAL_ERROR

/* SPEC tags. */
enum {
	PROTO_SPEC_ATTEMPT_ID = 1,	/* u64, required */
	PROTO_SPEC_RUN_ID = 2,		/* str, required */
	PROTO_SPEC_TASK_NAME = 3,	/* str, required */
	PROTO_SPEC_EXECUTOR = 4,	/* u8 enum proto_exec, required */
	PROTO_SPEC_WORKFLOW = 5,	/* str */

	PROTO_SPEC_COMMAND = 10,	/* str, required for shell */
	PROTO_SPEC_ARG = 11,		/* str, repeated, in order */
	PROTO_SPEC_WORKDIR = 12,	/* str */
	PROTO_SPEC_ENV = 13,		/* str "KEY=VALUE", repeated */

	PROTO_SPEC_OUTPUT_CAP = 20,	/* u64 bytes, stdout+stderr */
	PROTO_SPEC_KILL_GRACE_MS = 21,	/* u32 */
	PROTO_SPEC_DRAIN_MS = 22,	/* u32 */

	PROTO_SPEC_LIM_MEMORY = 30,	/* i64, -1 = not set */
	PROTO_SPEC_LIM_SWAP = 31,
	PROTO_SPEC_LIM_CPU_MILLI = 32,
	PROTO_SPEC_LIM_PIDS = 33,
	PROTO_SPEC_LIM_NOFILE = 34,
	PROTO_SPEC_RUN_AS = 35,		/* str */
	PROTO_SPEC_NETWORK = 36,	/* i32: -1 unset, 0 none, 1 allowed */
	PROTO_SPEC_READ_ONLY = 37,	/* str path, repeated */
	PROTO_SPEC_WRITABLE = 38,	/* str path, repeated */

	PROTO_SPEC_SSH_HOST = 40,	/* str, required for ssh */
	PROTO_SPEC_SSH_USER = 41,	/* str, required for ssh */
	PROTO_SPEC_SSH_COMMAND = 42,	/* str, required for ssh */
	PROTO_SPEC_SSH_KEY_PATH = 43,	/* str */
	PROTO_SPEC_SSH_PORT = 44,	/* i32 1..65535 */
	PROTO_SPEC_SSH_VERIFY = 45,	/* bool */

	PROTO_SPEC_HTTP_URL = 50,	/* str, required for http */
	PROTO_SPEC_HTTP_METHOD = 51,	/* str */
	PROTO_SPEC_HTTP_HEADER = 52,	/* kv, repeated */
	PROTO_SPEC_HTTP_BODY = 53,	/* str */
	PROTO_SPEC_HTTP_BODY_JSON = 54,	/* bool */
	PROTO_SPEC_HTTP_TIMEOUT = 55,	/* i32 seconds */
	PROTO_SPEC_HTTP_PRIVATE = 56,	/* bool allow_private_ips */
	PROTO_SPEC_HTTP_CA_FILE = 57,	/* str */
	PROTO_SPEC_HTTP_SUCCESS = 58,	/* i32, repeated */

	PROTO_SPEC_PRIV_OK = 60,	/* bool: run_as's privileged group
					   was allowed at load */
	PROTO_SPEC_PRIV_GROUP = 61,	/* str, repeated: policy's additions */
	PROTO_SPEC_UNPRIV_GROUP = 62,	/* str, repeated: policy's removals */
	PROTO_SPEC_NAMESPACES = 63,	/* bool: shell task in its own PID
					   and mount namespaces */
	PROTO_SPEC_PRIVATE_TMP = 64,	/* bool: fresh /tmp and /dev/shm
					   (with namespaces only) */
	PROTO_SPEC_ATTACH_DIR = 65,	/* str: the task survives its
					   supervisor (see "Re-attach") */
	PROTO_SPEC_ATTACH_WINDOW_MS = 66, /* u32: wait for a supervisor
					   this long after the task ended */
	PROTO_SPEC_TIMEOUT_MS = 67,	/* u64: the task's timeout, kept by
					   the worker while detached */
};

/* STARTED tags. */
enum {
	PROTO_STARTED_PID = 1,		/* u32, 0 = no local process */
	PROTO_STARTED_TIME_MS = 2,	/* u64 unix ms, required */
};

/* OUTPUT tags. */
enum {
	PROTO_OUTPUT_STREAM = 1,	/* u8 enum proto_stream, required */
	PROTO_OUTPUT_DATA = 2,		/* bytes, 1..PROTO_OUTPUT_CHUNK_MAX */
};

/* RESULT tags. */
enum {
	PROTO_RESULT_STATUS = 1,	/* u8 enum proto_status, required */
	PROTO_RESULT_EXIT_CODE = 2,	/* i32, -1 = did not exit */
	PROTO_RESULT_SIGNAL = 3,	/* i32, 0 = none */
	PROTO_RESULT_DURATION_MS = 4,	/* u64 */
	PROTO_RESULT_MAXRSS_KIB = 5,	/* u64, the task's */
	PROTO_RESULT_UTIME_US = 6,	/* u64 */
	PROTO_RESULT_STIME_US = 7,	/* u64 */
	PROTO_RESULT_HTTP_STATUS = 8,	/* i32, 0 = none */
	PROTO_RESULT_STDOUT_BYTES = 9,	/* u64 captured */
	PROTO_RESULT_STDERR_BYTES = 10,	/* u64 captured */
	PROTO_RESULT_DROPPED = 11,	/* u64 read beyond the cap */
	PROTO_RESULT_TRUNCATED = 12,	/* bool */
	PROTO_RESULT_ERROR = 13,	/* str */
	PROTO_RESULT_WORKER_RSS_KIB = 14, /* u64, the worker's own peak */
	PROTO_RESULT_TIMED_OUT = 15,	/* bool: stopped by the worker's own
					   timeout, while detached */
};

struct proto_limits {
	int64_t		 memory;	/* bytes; -1 = not set */
	int64_t		 swap;
	int64_t		 cpu_milli;
	int64_t		 pids;
	int64_t		 nofile;
};

/*
 * The executors' settings as they travel.  These are wire structs, not
 * the workflow model's (struct pf_ssh, struct pf_http in
 * picoflow/workflow.h): the supervisor converts a task into them in one
 * place (engine_spec.c), so a change to the YAML model cannot change
 * the wire format; each field is a row of the SPEC table (proto.c).
 */
struct proto_ssh {
	char		*host;
	char		*user;
	char		*command;
	char		*key_path;	/* NULL = ~/.ssh/id_ed25519, id_rsa */
	int		 port;
	bool		 verify_host_key;
};

struct proto_http {
	char		*url;
	char		*method;	/* NULL = GET */
	struct tlv_kv	*headers;	/* in order */
	size_t		 nheaders;
	char		*body;		/* NULL = none */
	bool		 body_is_json;
	int		 timeout;	/* seconds */
	bool		 allow_private_ips;
	char		*ca_file;
	int		*success_status; /* NULL = any 2xx */
	size_t		 nsuccess_status;
};

struct proto_spec {
	uint64_t	 attempt_id;
	char		*run_id;
	char		*task_name;
	uint8_t		 executor;	/* enum proto_exec */
	char		*workflow;	/* NULL = not sent */

	/* shell */
	char		*command;	/* absolute path, execve'd */
	char		**args;		/* argv[1..], in order */
	size_t		 nargs;
	char		*workdir;	/* NULL = the worker's */
	char		**env;		/* "KEY=VALUE", the whole environment */
	size_t		 nenv;

	/* every executor */
	uint64_t	 output_cap;
	uint32_t	 kill_grace_ms;
	uint32_t	 drain_ms;	/* reading on after the task exits */
	struct proto_limits limits;
	const char	*run_as;	/* const: the supervisor's default */
	bool		 run_as_privileged; /* allowed at load (privgroup.h) */
	char		**privileged_groups;	/* the policy's additions */
	size_t		 nprivileged_groups;
	char		**unprivileged_groups;	/* and removals */
	size_t		 nunprivileged_groups;
	int		 network;	/* -1 unset, 0 none, 1 allowed */
	char		**read_only;
	size_t		 nread_only;
	char		**writable;
	size_t		 nwritable;
	bool		 namespaces;	/* false: the worker's own sandbox */
	bool		 private_tmp;
	/*
	 * Re-attach (docs/protocol.md): NULL = the worker stops its task
	 * when the supervisor goes away.  Else the directory of the
	 * attempt's spool and socket, <attach_dir>/<attempt_id>.spool|sock.
	 */
	const char	*attach_dir;	/* const: the supervisor's */
	uint32_t	 attach_window_ms;
	uint64_t	 timeout_ms;	/* 0 = none */

	struct proto_ssh ssh;		/* executor ssh */
	struct proto_http http;		/* executor http */
};

struct proto_started {
	uint32_t	 pid;
	uint64_t	 time_ms;
};

/* data points into the decoded frame. */
struct proto_output {
	uint8_t		 stream;
	const uint8_t	*data;
	size_t		 len;
};

struct proto_result {
	uint8_t		 status;	/* enum proto_status */
	int		 exit_code;
	int		 signal;
	uint64_t	 duration_ms;
	uint64_t	 maxrss_kib;
	uint64_t	 utime_us;
	uint64_t	 stime_us;
	int		 http_status;
	uint64_t	 stdout_bytes;
	uint64_t	 stderr_bytes;
	uint64_t	 dropped;
	bool		 truncated;
	char		*error;		/* NULL = none */
	uint64_t	 worker_rss_kib;
	bool		 timed_out;	/* the worker's own timeout stopped it */
};

/*
 * Every encoder resets `out` and leaves in it the complete frame(s) of
 * one message, ready to be written; it checks the message as the decoder
 * would first, so a peer never receives what it must reject.  Encoders
 * only read the struct (its pointers may be borrowed, e.g. from a loaded
 * workflow).  Decoders fill a struct that the caller releases with the
 * matching _free(), also after a failure.
 */
void	 proto_spec_init(struct proto_spec *);
void	 proto_spec_free(struct proto_spec *);
int	 proto_spec_encode(const struct proto_spec *, struct pf_buf *out,
	    struct pf_err *);
/* body: a SPEC reassembled from its frames (struct frame_asm). */
int	 proto_spec_decode(const void *body, size_t len, struct proto_spec *,
	    struct pf_err *);

int	 proto_started_encode(const struct proto_started *, struct pf_buf *,
	    struct pf_err *);
int	 proto_started_decode(const struct frame *, struct proto_started *,
	    struct pf_err *);

int	 proto_output_encode(uint8_t stream, const void *, size_t,
	    struct pf_buf *, struct pf_err *);
int	 proto_output_decode(const struct frame *, struct proto_output *,
	    struct pf_err *);

void	 proto_result_init(struct proto_result *);
void	 proto_result_free(struct proto_result *);
int	 proto_result_encode(const struct proto_result *, struct pf_buf *,
	    struct pf_err *);
int	 proto_result_decode(const struct frame *, struct proto_result *,
	    struct pf_err *);

const char *proto_msg_name(uint8_t type);
const char *proto_status_name(uint8_t status);
const char *proto_exec_name(uint8_t executor);

#endif
