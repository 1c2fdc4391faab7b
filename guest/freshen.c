/* What a VM restored from a snapshot shares with its siblings until MOUNT, renewed: clock, randomness, block cache. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "freshen.h"
#include "log.h"

/* From <linux/random.h> and <linux/fs.h>, which the musl toolchain does not ship. */
#define RNDADDENTROPY 0x40085203  /* _IOW('R', 0x03, int[2]) */
#define RNDRESEEDCRNG 0x5207      /* _IO('R', 0x07) */
#define BLKFLSBUF 0x1261          /* _IO(0x12, 97) */
#define MAX_SEED 512

void freshen_clock_and_entropy(uint64_t wall_clock_ms, const uint8_t *seed, size_t seed_len)
{
	if (wall_clock_ms) {
		struct timespec ts = { .tv_sec = (time_t)(wall_clock_ms / 1000), .tv_nsec = (long)(wall_clock_ms % 1000) * 1000000L };
		if (clock_settime(CLOCK_REALTIME, &ts) != 0)
			logmsg("setting the clock: %s", strerror(errno));
	}
	if (!seed_len || seed_len > MAX_SEED)
		return;
	int fd = open("/dev/urandom", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		logmsg("opening /dev/urandom: %s", strerror(errno));
		return;
	}
	struct { int entropy_count; int buf_size; uint8_t buf[MAX_SEED]; } pool;
	pool.entropy_count = (int)seed_len * 8;
	pool.buf_size = (int)seed_len;
	memcpy(pool.buf, seed, seed_len);
	if (ioctl(fd, RNDADDENTROPY, &pool) != 0)
		logmsg("adding entropy: %s", strerror(errno));
	if (ioctl(fd, RNDRESEEDCRNG) != 0)
		logmsg("reseeding the random generator: %s", strerror(errno));
	memset(&pool, 0, sizeof pool);
	close(fd);
}

void freshen_block_device(const char *dev)
{
	int fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return; /* mount reports a missing device */
	if (ioctl(fd, BLKFLSBUF, 0) != 0)
		logmsg("dropping cached blocks of %s: %s", dev, strerror(errno));
	close(fd);
}
