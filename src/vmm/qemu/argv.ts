// Builds the qemu-system-x86_64 `microvm` command line from a VmConfig: a pure function.
import { RESTORE_FD, type VmConfig } from '../config.js';

/** The bound of TCG's translated-code cache per VM, in MiB (QEMU's `tb-size`). */
export const TCG_CODE_CACHE_MIB = 64;

/** Kernel command line words the driver always passes (serial console, no reboot loops, fast and hang-free TSC). */
export function kernelCmdline(c: VmConfig): string {
  return [
    'console=ttyS0', 'reboot=t', 'panic=-1', 'quiet', 'loglevel=3', '8250.nr_uarts=1',
    `tsc_early_khz=${c.tscKhz}`, 'tsc=reliable', 'no_timer_check', 'rdinit=/init',
    ...c.kernelArgs,
  ].join(' ');
}

/**
 * The argv (without the program name) that boots `c` under QEMU's microvm machine.
 * The console and the portal ports are unix sockets QEMU serves; QEMU talks to nothing else. The device list
 * depends only on the shape (cpus, memory, disk count and modes, port count), so a VM saved from one config can
 * be restored with another of the same shape.
 */
export function buildQemuArgv(c: VmConfig): string[] {
  // TCG's translated-code cache is 1 GiB by default, mapped lazily: bounded here so a box that runs much code cannot
  // grow its QEMU by up to a gigabyte (an idle box uses a few MiB of it; 64 MiB costs nothing measurable in speed).
  const accel = c.accelerator === 'kvm' ? ['-accel', 'kvm', '-cpu', 'host'] : ['-accel', `tcg,tb-size=${TCG_CODE_CACHE_MIB}`];
  // werror/rerror=report: a failed write or read (the host's disk is full) is the guest's I/O error. QEMU's default
  // for writes, enospc, pauses the whole VM instead, and a paused VM answers nothing while it still looks running.
  const disks = c.disks.flatMap((d) => [
    '-drive', `if=none,id=${d.name},file=${d.path},format=${d.format ?? 'raw'},readonly=${d.readOnly ? 'on' : 'off'},discard=unmap,werror=report,rerror=report`,
    '-device', `virtio-blk-device,drive=${d.name},serial=${d.name}`,
  ]);
  return [
    '-M', 'microvm,x-option-roms=off,isa-serial=on,rtc=on',
    ...accel,
    '-m', String(c.memoryMib),
    // vhost-user devices (volumes) need guest memory that virtiofsd can map too.
    ...(c.volumes?.length ? ['-object', `memory-backend-memfd,id=mem,size=${c.memoryMib}M,share=on`, '-machine', 'memory-backend=mem'] : []),
    // Templates keep their RAM in a file that restored boxes map copy-on-write (state saved with x-ignore-shared).
    ...(c.memoryFile ? ['-object', `memory-backend-file,id=mem,size=${c.memoryMib}M,mem-path=${c.memoryFile.path},share=${c.memoryFile.shared ? 'on' : 'off'}`, '-machine', 'memory-backend=mem'] : []),
    // Otherwise plain RAM, under the same name: a VM's saved state names its RAM block, so a box restored from a
    // template (its RAM the file "mem") can be paused and resumed into anonymous memory, and a cold box too.
    ...(!c.volumes?.length && !c.memoryFile ? ['-object', `memory-backend-ram,id=mem,size=${c.memoryMib}M`, '-machine', 'memory-backend=mem'] : []),
    '-smp', String(c.cpus),
    '-nodefaults', '-no-user-config', '-nographic', '-no-reboot',
    '-global', 'virtio-mmio.force-legacy=false',
    '-kernel', c.kernelPath,
    '-initrd', c.initrdPath,
    '-append', kernelCmdline(c),
    '-chardev', `socket,id=console,path=${c.consoleSocketPath},server=on,wait=off`,
    '-serial', 'chardev:console',
    '-device', 'virtio-serial-device',
    ...c.portalSocketPaths.flatMap((path, n) => [
      '-chardev', `socket,id=portal${n},path=${path},server=on,wait=off`,
      '-device', `virtserialport,chardev=portal${n},name=boxlite.portal.${n}`,
    ]),
    '-device', 'virtio-rng-device',
    ...disks,
    // The NIC's frames go to the network process over a unix socket; every box has the same MAC (each has its own network).
    ...(c.networkSocketPath ? [
      '-netdev', `stream,id=net0,server=off,addr.type=unix,addr.path=${c.networkSocketPath}`,
      '-device', 'virtio-net-device,netdev=net0,mac=52:54:00:12:34:56',
    ] : []),
    ...(c.volumes ?? []).flatMap((v) => [
      '-chardev', `socket,id=${v.tag},path=${v.socketPath}`,
      '-device', `vhost-user-fs-device,chardev=${v.tag},tag=${v.tag}`,
    ]),
    // A VM that may be saved: its state must not carry the "stopped" run state into the VMs restored from it.
    ...(c.controlSocketPath ? ['-qmp', `unix:${c.controlSocketPath},server=on,wait=off`, '-global', 'migration.store-global-state=off'] : []),
        // With a control socket the state is loaded over QMP, where the outcome can be awaited (see process.ts).
    ...(c.restoreFrom ? ['-incoming', c.controlSocketPath ? 'defer' : `fd:${RESTORE_FD}`] : []),
    ...(c.startPaused ? ['-S'] : []),
    ...(c.sandbox ? ['-sandbox', 'on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny'] : []),
  ];
}
