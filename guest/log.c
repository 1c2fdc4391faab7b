/* Log lines to the console, prefixed "boxlite-agent: ", one write(2) per line. */
#define _GNU_SOURCE
#include "log.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static int log_fd = -1;

/* Log to an fd the kernel gave us (the console as fd 1), until /dev is mounted. */
void log_use_fd(int fd)
{
	if (fcntl(fd, F_GETFD) >= 0)
		log_fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

/* Switch logging to /dev/console (after devtmpfs is mounted). */
void log_open_console(void)
{
	int fd = open("/dev/console", O_WRONLY | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (log_fd >= 0)
		close(log_fd);
	log_fd = fd;
}

void logmsg(const char *fmt, ...)
{
	char line[512];
	int n = snprintf(line, sizeof line, "boxlite-agent: ");
	va_list ap;
	va_start(ap, fmt);
	int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (m < 0)
		m = 0;
	n += m;
	if (n > (int)sizeof line - 2)
		n = (int)sizeof line - 2;
	line[n++] = '\n';
	if (log_fd >= 0 && write(log_fd, line, (size_t)n) < 0) {
		/* nowhere else to report it */
	}
}
