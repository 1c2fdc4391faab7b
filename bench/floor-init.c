/* The benchmark floor: a trivial PID 1 that prints one line and powers the VM off. */
#include <sys/reboot.h>
#include <unistd.h>

int main(void) {
  static const char line[] = "floor: init reached\n";
  write(1, line, sizeof line - 1);
  sync();
  reboot(RB_POWER_OFF);
  return 0;
}
