/*
 * Helpers for the wire codec suites (test_proto, test_ctl, test_tlv,
 * test_wire_golden): the frame in a buffer, and raw fields for hostile
 * payloads.
 */
#ifndef PICOFLOW_WIRE_TEST_H
#define PICOFLOW_WIRE_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "picoflow/buf.h"
#include "picoflow/frame.h"

/* The one frame in b, as the reader would hand it out (asserted). */
struct frame	 wt_frame(const struct pf_buf *b);
/*
 * Writes the field [tag u16][len u32][value] at p + at; returns the
 * offset after it.
 */
size_t		 wt_field(uint8_t *p, size_t at, uint16_t tag, const void *v,
		    uint32_t len);

#endif
