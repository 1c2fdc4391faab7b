// Root in a box is container root: Docker's capabilities, read-only /proc/sys, masked kernel files, no kernel helper it can aim.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { LiteBox } from '../../src/runtime/box.js';
import { busyboxBox, sh } from '../helpers/boxes.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';

const TAKE_FD_SOURCE = fileURLToPath(new URL('../../../test/fixtures/take-fd.c', import.meta.url));

// CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP.
const DOCKER_CAPS = '00000000a80425fb';
const NO_CAPS = '0000000000000000';

// The Cap* lines of /proc/<pid>/status as { CapInh: '…', CapPrm: '…', … }.
function caps(status: string): Record<string, string> {
  return Object.fromEntries([...status.matchAll(/^(Cap\w+):\s+([0-9a-f]+)$/gm)].map((m) => [m[1], m[2]]));
}

// The busybox root plus /bin/take-fd (built with musl-gcc, which `boxlite setup` needs for the agent anyway).
function rootfsWithTakeFd(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-box-root-'));
  fs.cpSync(busyboxRootfs(), dir, { recursive: true, verbatimSymlinks: true });
  execFileSync('musl-gcc', ['-static', '-O2', '-o', path.join(dir, 'bin/take-fd'), TAKE_FD_SOURCE]);
  return dir;
}

describe('root in a box', () => {
  let box: LiteBox;
  let rootfs: string;
  before(async () => {
    rootfs = rootfsWithTakeFd();
    box = await busyboxBox({ rootfs: { rootfsPath: rootfs } });
  });
  after(() => fs.rmSync(rootfs, { recursive: true, force: true }));

  it('hostile review #4: cannot aim core_pattern at a helper; a crash dumps to a file in the box and outputs stay right', async () => {
    // The escape: a pipe pattern runs the helper as root in the agent's namespaces, where /proc/%P/root is the box.
    const payload = 'read comm < /proc/1/comm; echo "$comm" > /proc/$1/root/tmp/escaped';
    const aim = await sh(box, `echo '${payload}' > /tmp/payload; echo '|/proc/%P/root/bin/busybox sh /proc/%P/root/tmp/payload %P' > /proc/sys/kernel/core_pattern`);
    assert.notEqual(aim.exitCode, 0);
    assert.match(aim.stderr, /Read-only file system/);
    assert.equal((await sh(box, 'cat /proc/sys/kernel/core_pattern')).stdout, 'core\n');

    const crash = await sh(box, 'cd /tmp && ulimit -c unlimited && sh -c \'kill -SEGV $$\'; echo "status $?"; ls /tmp');
    assert.deepEqual(crash.stdout.split('\n').filter(Boolean), ['status 139', 'core', 'payload'], crash.stderr);
    assert.equal((await sh(box, 'kill -SEGV $$')).exitCode, -11);

    const runs = await Promise.all([sh(box, 'exit 7'), sh(box, 'echo one'), sh(box, 'echo two >&2; exit 3'), sh(box, 'exit 0')]);
    assert.deepEqual(runs.map((r) => [r.exitCode, r.stdout, r.stderr]), [[7, '', ''], [0, 'one\n', ''], [3, '', 'two\n'], [0, '', '']]);
  });

  it('hostile review #4: /proc/sys, sysrq-trigger and /sys stay read-only (no remount, unmount or new proc); kernel files are masked', async () => {
    // A kernel built without a file's feature (the purpose-built one has no sysrq, modules or uevent helper) has none to write.
    const absent = new Set((await sh(box, 'for f in /proc/sysrq-trigger /proc/sys/kernel/modprobe /sys/kernel/uevent_helper; do [ -e $f ] || echo $f; done')).stdout.split('\n'));
    const refusal = (file: string): RegExp => absent.has(file) ? /nonexistent directory|Read-only file system/ : /Read-only file system/;
    const crash = await sh(box, 'echo c > /proc/sysrq-trigger');
    assert.notEqual(crash.exitCode, 0);
    assert.match(crash.stderr, refusal('/proc/sysrq-trigger'));
    const attempts = [
      'mount -o remount,rw /proc/sys', 'mount -o remount,rw,bind /proc/sys', 'umount /proc/sys', 'umount -l /proc/sysrq-trigger',
      'mkdir -p /mnt/p && mount -t proc proc /mnt/p', 'mount -o remount,rw /sys', 'mkdir -p /mnt/s && mount -t sysfs sysfs /mnt/s',
      // In a user namespace of its own root has every capability, but over copies of these mounts that are locked.
      'unshare -U -r -m -p -f mount -t proc proc /mnt/p', 'unshare -U -r -m sh -c "mount -o remount,rw /proc/sys"',
    ];
    for (const attempt of attempts) {
      if (attempt.endsWith('/proc/sysrq-trigger') && absent.has('/proc/sysrq-trigger')) continue;
      const r = await sh(box, attempt);
      assert.notEqual(r.exitCode, 0, attempt);
      assert.match(r.stderr, /denied|not permitted/i, attempt);
    }
    const unlocked = await sh(box, 'unshare -U -r -m sh -c "umount -l /proc/sysrq-trigger; echo c > /proc/sysrq-trigger"');
    assert.notEqual(unlocked.exitCode, 0);
    assert.match(unlocked.stderr, refusal('/proc/sysrq-trigger'));
    for (const [file, value] of [['/proc/sys/kernel/core_pattern', '|/bin/sh'], ['/proc/sys/kernel/modprobe', '/tmp/x'], ['/sys/kernel/uevent_helper', '/tmp/x']] as const) {
      const r = await sh(box, `echo '${value}' > ${file}`);
      assert.notEqual(r.exitCode, 0, file);
      assert.match(r.stderr, refusal(file), file);
    }
    assert.equal((await sh(box, 'cat /proc/kcore /proc/keys /proc/timer_list | wc -c')).stdout.trim(), '0');
    assert.equal((await sh(box, 'ls -A /sys/firmware')).stdout, '');
    assert.equal((await sh(box, 'echo still-here')).stdout, 'still-here\n');
  });

  it('hostile review #4: every box process has Docker\'s capabilities at most; the box init has none', async () => {
    const root = caps((await sh(box, 'cat /proc/self/status')).stdout);
    assert.deepEqual(root, { CapInh: NO_CAPS, CapPrm: DOCKER_CAPS, CapEff: DOCKER_CAPS, CapBnd: DOCKER_CAPS, CapAmb: NO_CAPS });
    const nobody = caps((await sh(box, 'cat /proc/self/status', (c) => c.user('nobody'))).stdout);
    assert.deepEqual(nobody, { CapInh: NO_CAPS, CapPrm: NO_CAPS, CapEff: NO_CAPS, CapBnd: DOCKER_CAPS, CapAmb: NO_CAPS });
    const init = caps((await sh(box, 'cat /proc/1/status')).stdout);
    assert.deepEqual(init, { CapInh: NO_CAPS, CapPrm: NO_CAPS, CapEff: NO_CAPS, CapBnd: NO_CAPS, CapAmb: NO_CAPS });
  });

  it('hostile review #4: no module loading, no modprobe or hotplug helper, no capability for any helper, no kexec', async () => {
    const insmod = await sh(box, 'head -c 4096 /dev/zero > /tmp/x.ko; insmod /tmp/x.ko');
    assert.notEqual(insmod.exitCode, 0);
    // Refused by the box's capabilities (cloud kernel) or absent from a kernel built without modules (purpose-built).
    assert.match(insmod.stderr, /not permitted|kernel does not support requested operation/);
    const modules = (await sh(box, '[ -e /proc/modules ] && echo yes')).stdout === 'yes\n';
    const kexec = (await sh(box, '[ -e /proc/sys/kernel/kexec_load_disabled ] && echo yes')).stdout === 'yes\n';
    const locked: [string, string][] = [
      ...(modules ? [['modules_disabled', '1'], ['modprobe', '']] as [string, string][] : []), ...(kexec ? [['kexec_load_disabled', '1']] as [string, string][] : []),
      ['usermodehelper/bset', '0\t0'], ['usermodehelper/inheritable', '0\t0'],
    ];
    const r = await sh(box, `cd /proc/sys/kernel && for f in ${locked.map(([f]) => f).join(' ')}; do echo "$f=$(cat $f)"; done; [ -e hotplug ] && echo "hotplug=$(cat hotplug)"; true`);
    const hotplug = r.stdout.includes('hotplug=') ? 'hotplug=\n' : '';
    assert.equal(r.stdout, `${locked.map(([f, v]) => `${f}=${v}\n`).join('')}${hotplug}`);
  });

  it('hostile review #4: device nodes root makes (mknod stays allowed) cannot be opened: not the box\'s disks, not the portal ports', async () => {
    const nodes = [['/tmp/disk', 'b', '/sys/block/vda/dev'], ['/dev/disk', 'b', '/sys/block/vdb/dev'], ['/tmp/portal', 'c', '/sys/class/virtio-ports/vport0p2/dev']];
    for (const [node, type, sysfs] of nodes) {
      const r = await sh(box, `mknod ${node} ${type} $(tr : ' ' < ${sysfs}) && head -c 1 ${node} | wc -c`);
      assert.equal(r.stdout, '0\n', node);
      assert.match(r.stderr, /Permission denied/, node);
    }
    const usual = await sh(box, 'echo x > /dev/null && head -c 3 /dev/zero | wc -c && head -c 3 /dev/urandom | wc -c');
    assert.deepEqual([usual.exitCode, usual.stdout], [0, '3\n3\n']);
  });

  it('hostile review #4: root in a box cannot take the box init\'s descriptors (pidfd_getfd) or read its fds, environment or memory; it holds no agent descriptor', async () => {
    for (const attempt of ['take-fd 1 0', 'cat /proc/1/fd/0', 'cat /proc/1/environ', 'head -c 1 /proc/1/mem']) {
      const r = await sh(box, attempt);
      assert.notEqual(r.exitCode, 0, attempt);
      assert.match(r.stderr, /denied|not permitted/i, attempt);
    }
    // The probe works: the box's own processes stay within reach, as in a container.
    assert.match((await sh(box, 'sleep 100 & p=$!; take-fd $p 0 && kill $p')).stdout, /^took 0 of \d+\n$/);
    assert.equal((await sh(box, 'ls /proc/self/fd')).stdout, '0\n1\n2\n3\n');
  });
});
