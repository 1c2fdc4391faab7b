/* Log lines to the console, prefixed "boxlite-agent: ". */
#ifndef BOXLITE_LOG_H
#define BOXLITE_LOG_H

void log_use_fd(int fd);
void log_open_console(void);
void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
