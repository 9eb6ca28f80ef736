/* libFuzzer harness: make fuzz. */
#include <stddef.h>
#include <stdint.h>

#include "../lib/fuzz_targets.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	return ctl_fuzz_one(data, len);
}
