/*
 * Landlock's system calls and structures, defined here because Debian
 * 12's headers stop at ABI 3 (the scopes are ABI 6).  Used by pf-worker's
 * sandbox and pf-loader's confinement.
 */
#ifndef PICOFLOW_LANDLOCK_H
#define PICOFLOW_LANDLOCK_H

#include <stdint.h>
#include <sys/syscall.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset	444
#define SYS_landlock_add_rule		445
#define SYS_landlock_restrict_self	446
#endif
#define LL_CREATE_RULESET_VERSION	(1U << 0)
#define LL_RULE_PATH_BENEATH		1
#define LL_EXECUTE			(1ULL << 0)
#define LL_WRITE_FILE			(1ULL << 1)
#define LL_READ_FILE			(1ULL << 2)
#define LL_READ_DIR			(1ULL << 3)
#define LL_TRUNCATE			(1ULL << 14)
#define LL_IOCTL_DEV			(1ULL << 15)
/* Every file-system right of ABI 1. */
#define LL_ABI1_ALL			((1ULL << 13) - 1)
/* Rights that make sense on a file (others only on directories). */
#define LL_FILE_RIGHTS	(LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | \
			 LL_TRUNCATE | LL_IOCTL_DEV)
#define LL_READ_RIGHTS	(LL_EXECUTE | LL_READ_FILE | LL_READ_DIR)

/* ABI 6: what a domain may not reach outside itself. */
#define LL_SCOPE_ABSTRACT_UNIX		(1ULL << 0)
#define LL_SCOPE_SIGNAL			(1ULL << 1)

/*
 * The ABI 6 layout.  A kernel takes a shorter size (the fields it
 * knows) or a longer one whose extra fields are zero.
 */
struct ll_ruleset_attr {
	uint64_t	 handled_access_fs;
	uint64_t	 handled_access_net;	/* ABI 4 */
	uint64_t	 scoped;		/* ABI 6 */
};

struct ll_path_beneath_attr {
	uint64_t	 allowed_access;
	int32_t		 parent_fd;
} __attribute__((packed));

#endif
