/*
 * The ssh executor's host key check: known_hosts loaded, the host key
 * types it knows preferred in the handshake, the server's key checked
 * (unknown or changed keys refused, with the fingerprint in the error),
 * key type names for messages (exec_ssh_int.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh2.h>

#include "picoflow/alloc.h"
#include "picoflow/clock.h"
#include "picoflow/log.h"
#include "picoflow/proto.h"
#include "exec_ssh.h"
#include "exec_ssh_int.h"
#include "output.h"
#include "worker.h"

struct keytype {
	int		 hostkey;	/* LIBSSH2_HOSTKEY_TYPE_* */
	int		 known;		/* LIBSSH2_KNOWNHOST_KEY_* */
	const char	*name;		/* as in known_hosts */
	const char	*methods;	/* host key algorithms using it */
};

static const struct keytype keytypes[] = {
	{ LIBSSH2_HOSTKEY_TYPE_ED25519, LIBSSH2_KNOWNHOST_KEY_ED25519,
	    "ssh-ed25519", "ssh-ed25519" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_256, LIBSSH2_KNOWNHOST_KEY_ECDSA_256,
	    "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp256" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_384, LIBSSH2_KNOWNHOST_KEY_ECDSA_384,
	    "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp384" },
	{ LIBSSH2_HOSTKEY_TYPE_ECDSA_521, LIBSSH2_KNOWNHOST_KEY_ECDSA_521,
	    "ecdsa-sha2-nistp521", "ecdsa-sha2-nistp521" },
	{ LIBSSH2_HOSTKEY_TYPE_RSA, LIBSSH2_KNOWNHOST_KEY_SSHRSA,
	    "ssh-rsa", "rsa-sha2-512,rsa-sha2-256,ssh-rsa" },
};
#define NKEYTYPES	(sizeof(keytypes) / sizeof(keytypes[0]))

static const struct keytype *
keytype_of(int hostkey_type)
{
	size_t	 i;

	for (i = 0; i < NKEYTYPES; i++)
		if (keytypes[i].hostkey == hostkey_type)
			return &keytypes[i];
	return NULL;
}

/* Reads known_hosts; a missing file is an empty one. */
LIBSSH2_KNOWNHOSTS *
ssh_known_hosts(struct ssh *s)
{
	LIBSSH2_KNOWNHOSTS	*kh;

	if ((kh = libssh2_knownhost_init(s->sess)) == NULL) {
		worker_result_error(s->res, PROTO_ST_INTERNAL_ERROR,
		    "out of memory");
		return NULL;
	}
	if (access(s->known, F_OK) == -1 && errno == ENOENT)
		return kh;
	if (libssh2_knownhost_readfile(kh, s->known,
	    LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "cannot read "
		    "the known hosts file %s: %s", s->known, ssh_errmsg(s));
		libssh2_knownhost_free(kh);
		return NULL;
	}
	return kh;
}

/*
 * Offers first the host key algorithms known_hosts has a key of for
 * this host (as OpenSSH does), so a server with several host keys is
 * checked against the one the user recorded.  A key type known_hosts
 * has for the host answers MISMATCH to a dummy key.
 */
static int
ssh_alg_supported(const char **algs, int nalgs, const char *name,
    size_t len)
{
	int	 i;

	for (i = 0; i < nalgs; i++)
		if (strlen(algs[i]) == len && memcmp(algs[i], name, len) == 0)
			return 1;
	return 0;
}

/*
 * Only algorithms this libssh2 supports go into the list: its
 * method_pref removes unknown names with an overlapping memcpy.
 */
static void
ssh_pref_add(char *pref, size_t size, size_t *len, const char *methods,
    const char **algs, int nalgs)
{
	const char	*p = methods, *e;
	size_t		 n;
	int		 k;

	while (*p != '\0') {
		e = strchr(p, ',');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (ssh_alg_supported(algs, nalgs, p, n)) {
			k = snprintf(pref + *len, size - *len, "%s%.*s",
			    *len > 0 ? "," : "", (int)n, p);
			if (k > 0 && (size_t)k < size - *len)
				*len += (size_t)k;
		}
		p += n;
		if (*p == ',')
			p++;
	}
}

void
ssh_prefer_known_types(struct ssh *s, LIBSSH2_KNOWNHOSTS *kh)
{
	const char	**algs = NULL;
	char		 pref[512];
	size_t		 i, len = 0;
	int		 pass, r, nalgs;

	nalgs = libssh2_session_supported_algs(s->sess,
	    LIBSSH2_METHOD_HOSTKEY, &algs);
	if (nalgs <= 0)
		return;
	pref[0] = '\0';
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < NKEYTYPES; i++) {
			r = libssh2_knownhost_checkp(kh, s->host,
			    s->spec->ssh.port, "x", 1,
			    LIBSSH2_KNOWNHOST_TYPE_PLAIN |
			    LIBSSH2_KNOWNHOST_KEYENC_RAW | keytypes[i].known,
			    NULL);
			if ((r == LIBSSH2_KNOWNHOST_CHECK_MISMATCH) !=
			    (pass == 0))
				continue;
			ssh_pref_add(pref, sizeof(pref), &len,
			    keytypes[i].methods, algs, nalgs);
		}
	libssh2_free(s->sess, algs);
	if (len > 0 && libssh2_session_method_pref(s->sess,
	    LIBSSH2_METHOD_HOSTKEY, pref) != 0)
		log_debug("host key preference not applied: %s",
		    ssh_errmsg(s));
}

/* Base64 without padding, as OpenSSH prints SHA256 fingerprints. */
static void
b64(const unsigned char *in, size_t n, char *out, size_t outlen, int pad)
{
	static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t		 i, o = 0;
	uint32_t	 v;

	for (i = 0; i < n && o + 4 < outlen; i += 3) {
		v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = t[(v >> 18) & 63];
		out[o++] = t[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = t[(v >> 6) & 63];
		else if (pad)
			out[o++] = '=';
		if (i + 2 < n)
			out[o++] = t[v & 63];
		else if (pad)
			out[o++] = '=';
	}
	out[o] = '\0';
}

static void
ssh_fingerprint(struct ssh *s, char *out, size_t outlen)
{
	const char	*h;
	char		 enc[64];

	h = libssh2_hostkey_hash(s->sess, LIBSSH2_HOSTKEY_HASH_SHA256);
	if (h == NULL) {
		snprintf(out, outlen, "(fingerprint unavailable)");
		return;
	}
	b64((const unsigned char *)h, 32, enc, sizeof(enc), 0);
	snprintf(out, outlen, "SHA256:%s", enc);
}

/* The host key against known_hosts (or only reported, verification off). */
int
ssh_check_host_key(struct ssh *s)
{
	LIBSSH2_KNOWNHOSTS	*kh;
	const struct keytype	*kt;
	const char		*key;
	char			 fp[96], *enc;
	size_t			 klen, elen;
	int			 type, r;

	if ((key = libssh2_session_hostkey(s->sess, &klen, &type)) == NULL) {
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "%s sent no "
		    "host key", s->hostport);
		return -1;
	}
	kt = keytype_of(type);
	ssh_fingerprint(s, fp, sizeof(fp));
	if (!s->spec->ssh.verify_host_key) {
		log_warnx("host key of %s not verified (verify_host_key: "
		    "false): %s %s", s->hostport, kt ? kt->name : "?", fp);
		return output_notice(s->w, s->spec, s->res, "picoflow: "
		    "warning: the host key of %s was not verified "
		    "(verify_host_key: false); it is %s %s", s->hostport,
		    kt ? kt->name : "of an unknown type", fp) == -1 ? -2 : 0;
	}
	if (kt == NULL) {
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "host key "
		    "verification failed: %s offered a host key of a type "
		    "known_hosts checking does not support (%d)", s->hostport,
		    type);
		return -1;
	}
	if ((kh = ssh_known_hosts(s)) == NULL)
		return -1;
	r = libssh2_knownhost_checkp(kh, s->host, s->spec->ssh.port, key,
	    klen, LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW |
	    kt->known, NULL);
	libssh2_knownhost_free(kh);
	switch (r) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		return 0;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "HOST KEY "
		    "CHANGED for %s: it presented the %s key %s, which does "
		    "not match the one recorded in %s.  Someone may be "
		    "intercepting the connection, or the host key was "
		    "replaced; if the change is expected, remove the old "
		    "entry (ssh-keygen -R '%s' -f %s) and add the new key",
		    s->hostport, kt->name, fp, s->known, s->hostport,
		    s->known);
		return -1;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		elen = (klen + 2) / 3 * 4 + 1;
		if ((enc = pf_malloc(elen)) == NULL) {
			worker_result_error(s->res, PROTO_ST_INTERNAL_ERROR,
			    "out of memory");
			return -1;
		}
		b64((const unsigned char *)key, klen, enc, elen, 1);
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "unknown "
		    "host key: %s is not in %s (its %s key fingerprint is "
		    "%s).  If that is the host's key, add this line to %s: "
		    "%s %s %s", s->hostport, s->known, kt->name, fp,
		    s->known, s->hostport, kt->name, enc);
		pf_free(enc);
		return -1;
	default:
		worker_result_error(s->res, PROTO_ST_EXEC_ERROR, "checking "
		    "the host key of %s: %s", s->hostport, ssh_errmsg(s));
		return -1;
	}
}

/* The key's type, from its .pub file when there is one, for messages. */
void
ssh_key_type(const char *key, char *out, size_t outlen)
{
	char	 pub[PATH_MAX + 8], line[64];
	FILE	*fp;
	size_t	 n;

	snprintf(out, outlen, "type unknown");
	if ((size_t)snprintf(pub, sizeof(pub), "%s.pub", key) >= sizeof(pub) ||
	    (fp = fopen(pub, "re")) == NULL)
		return;
	if (fgets(line, sizeof(line), fp) != NULL) {
		n = strcspn(line, " \t\r\n");
		line[n] = '\0';
		if (n > 0)
			snprintf(out, outlen, "%s", line);
	}
	fclose(fp);
}
