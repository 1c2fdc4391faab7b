/* What a VM restored from a snapshot shares with its siblings until MOUNT, renewed: clock, randomness, block cache. */
#ifndef BOXLITE_FRESHEN_H
#define BOXLITE_FRESHEN_H

#include <stddef.h>
#include <stdint.h>

/* Set the wall clock to wall_clock_ms (0 = leave it), mix seed into the kernel's entropy pool and force a reseed
 * of its random generator. Failures are logged, not fatal. */
void freshen_clock_and_entropy(uint64_t wall_clock_ms, const uint8_t *seed, size_t seed_len);
/* Drop cached blocks of a block device (the snapshot's VM read its placeholder disk). */
void freshen_block_device(const char *dev);

#endif
