/* Boot as PID 1: kernel modules, the agent's own root, the basic mounts, power-off. */
#ifndef BOXLITE_BOOT_H
#define BOXLITE_BOOT_H

#define MODULES_ORDER "/lib/modules/boxlite.order"

void boot_load_modules(const char *order_path);
/* Move onto a fresh tmpfs root (so pivot_root works for the box later) and mount proc, sys, dev, run, tmp. */
void boot_mount_basics(void);
/* Sync, then power off (never returns). */
void boot_power_off(void) __attribute__((noreturn));

#endif
