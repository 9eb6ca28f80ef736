/*
 * Explicit byte buffers with checked accessors.  A writer (struct pf_buf)
 * grows up to a caller-set maximum; a reader (struct pf_rbuf) walks a byte
 * range and every get returns -1 instead of reading past its end.  Integers
 * are little-endian, encoded byte by byte.
 */
#ifndef PICOFLOW_BUF_H
#define PICOFLOW_BUF_H

#include <stddef.h>
#include <stdint.h>

struct pf_buf {
	uint8_t	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 max;		/* 0 = no limit beyond SIZE_MAX */
	int	 failed;	/* sticky: an add failed (ENOMEM or over max) */
	int	 fixed;		/* data is the caller's: never grown or freed */
};

void	 buf_init(struct pf_buf *, size_t max);
/*
 * A writer over the caller's size bytes (a stack buffer): no allocation,
 * an add that does not fit fails and leaves what was added before it.
 */
void	 buf_init_fixed(struct pf_buf *, void *mem, size_t size);
void	 buf_free(struct pf_buf *);
void	 buf_reset(struct pf_buf *);
int	 buf_reserve(struct pf_buf *, size_t extra);
int	 buf_add(struct pf_buf *, const void *, size_t);
int	 buf_add_u8(struct pf_buf *, uint8_t);
int	 buf_add_u16(struct pf_buf *, uint16_t);
int	 buf_add_u32(struct pf_buf *, uint32_t);
int	 buf_add_u64(struct pf_buf *, uint64_t);
int	 buf_add_str(struct pf_buf *, const char *);	/* no NUL */
int	 buf_printf(struct pf_buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Length (1-4) of the valid UTF-8 sequence at p, or 0 if invalid. */
size_t	 utf8_seq_len(const void *p, size_t left);
/* The code point of the k-byte sequence at p (k from utf8_seq_len). */
uint32_t utf8_cp(const void *p, size_t k);
/* NUL-terminated view of the contents (adds a NUL after len, not counted). */
const char *buf_cstr(struct pf_buf *);
/* Removes the first n bytes. */
void	 buf_consume(struct pf_buf *, size_t n);

struct pf_rbuf {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
};

void	 rbuf_init(struct pf_rbuf *, const void *, size_t);
size_t	 rbuf_left(const struct pf_rbuf *);
int	 rbuf_get(struct pf_rbuf *, void *, size_t);
int	 rbuf_get_u8(struct pf_rbuf *, uint8_t *);
int	 rbuf_get_u16(struct pf_rbuf *, uint16_t *);
int	 rbuf_get_u32(struct pf_rbuf *, uint32_t *);
int	 rbuf_get_u64(struct pf_rbuf *, uint64_t *);
/* Points *out at the next n bytes without copying. */
int	 rbuf_get_ptr(struct pf_rbuf *, const uint8_t **out, size_t n);
int	 rbuf_skip(struct pf_rbuf *, size_t n);

/* Little-endian helpers over raw bytes (caller guarantees the length). */
uint16_t le16_get(const uint8_t *);
uint32_t le32_get(const uint8_t *);
uint64_t le64_get(const uint8_t *);
void	 le16_put(uint8_t *, uint16_t);
void	 le32_put(uint8_t *, uint32_t);
void	 le64_put(uint8_t *, uint64_t);

#endif
