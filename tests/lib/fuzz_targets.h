/*
 * Fuzz entry points shared by the libFuzzer harnesses (tests/fuzz/,
 * `make fuzz`) and the corpus replay that `make test` runs in the normal
 * build.  Each takes arbitrary bytes, must never crash, leak or hang, and
 * returns 0.
 */
#ifndef PICOFLOW_FUZZ_TARGETS_H
#define PICOFLOW_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

/* The workflow loader with every validation, then printing and reload. */
int	 fuzz_workflow_one(const uint8_t *, size_t);
/* The cron parser, then a few next-fire computations in UTC and a zone. */
int	 fuzz_cron_one(const uint8_t *, size_t);
/*
 * The policy loader; a policy that loads then judges a workflow that
 * uses every rule, and every diagnostic must point inside the input.
 */
int	 fuzz_policy_one(const uint8_t *, size_t);

/*
 * The workflow model codec (what pf-loader sends pf-supervisor): decode
 * with every check; what decodes must encode and decode again to the
 * same model (compared through workflow_print).
 */
int	 fuzz_wfcodec_one(const uint8_t *, size_t);

/*
 * The worker channel's whole decode path: arbitrary bytes through the
 * streaming reader (in varying chunks), the SPEC reassembly and every
 * message decoder, then the same bytes as one payload of each message.
 */
int	 frame_fuzz_one(const uint8_t *, size_t);
/*
 * The control channel: the stream reader, REPLY reassembly and both
 * decoders; what decodes must encode again.
 */
int	 ctl_fuzz_one(const uint8_t *, size_t);

#endif
