import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseAccelerator } from '../../../src/vmm/accel.js';
import { validateVmConfig, type VmConfig } from '../../../src/vmm/config.js';
import { buildQemuArgv, kernelCmdline } from '../../../src/vmm/qemu/argv.js';
import { memoryFileEnv, vmmFiles } from '../../../src/vmm/qemu/process.js';

const config: VmConfig = {
  cpus: 2, memoryMib: 512, accelerator: 'tcg', kernelPath: '/k/vmlinux', initrdPath: '/k/initrd.gz', kernelArgs: [],
  portalSocketPaths: ['/b/portal-0.sock', '/b/portal-1.sock'], consoleSocketPath: '/b/console.sock', tscKhz: 2_600_000,
  disks: [{ name: 'base', path: '/b/base.ext4', readOnly: true }, { name: 'upper', path: '/b/upper.ext4', readOnly: false }],
};

const after = (argv: string[], flag: string): string[] => argv.flatMap((a, i) => (a === flag ? [argv[i + 1]!] : []));

describe('QEMU argv', () => {
  it('opens a disk in the format it is given (raw by default), and gives a jailed QEMU a qcow2 chain\'s lower files read-only', () => {
    const chained: VmConfig = { ...config, disks: [config.disks[0]!, { name: 'upper', path: '/b/layers/upper.qcow2', readOnly: false, format: 'qcow2', backingFiles: ['/b/layers/x.qcow2', '/b/layers/y.raw'] }] };
    const drives = after(buildQemuArgv(validateVmConfig(chained)), '-drive');
    assert.match(drives[0]!, /file=\/b\/base\.ext4,format=raw,readonly=on/);
    assert.match(drives[1]!, /file=\/b\/layers\/upper\.qcow2,format=qcow2,readonly=off/);
    const files = vmmFiles(chained);
    assert.deepEqual(files.readWrite, ['/b/layers/upper.qcow2']);
    for (const f of ['/b/base.ext4', '/b/layers/x.qcow2', '/b/layers/y.raw']) assert.ok(files.readOnly.includes(f), `${f} read-only`);
    assert.throws(() => validateVmConfig({ ...chained, disks: [{ ...chained.disks[1]!, format: 'raw' }] }), /format must be qcow2/);
    assert.throws(() => validateVmConfig({ ...chained, disks: [{ ...chained.disks[1]!, backingFiles: ['x.raw'] }] }), /absolute/);
  });

  it('boots microvm with TCG, the kernel, and the TSC hint that prevents calibration hangs', () => {
    const argv = buildQemuArgv(config);
    assert.deepEqual(after(argv, '-M'), ['microvm,x-option-roms=off,isa-serial=on,rtc=on']);
    assert.deepEqual(after(argv, '-accel'), ['tcg,tb-size=64'], 'a bounded translation cache');
    assert.deepEqual(after(argv, '-m'), ['512']);
    assert.deepEqual(after(argv, '-smp'), ['2']);
    assert.match(kernelCmdline(config), /tsc_early_khz=2600000 tsc=reliable no_timer_check/);
    assert.ok(argv.includes('-no-reboot') && argv.includes('-nodefaults'));
  });

  it('serves QMP (and keeps the run state out of saved states) only for a VM that may be saved', () => {
    assert.equal(buildQemuArgv(config).includes('-qmp'), false);
    const argv = buildQemuArgv({ ...config, controlSocketPath: '/t/qmp.sock' });
    assert.deepEqual(after(argv, '-qmp'), ['unix:/t/qmp.sock,server=on,wait=off']);
    assert.ok(after(argv, '-global').includes('migration.store-global-state=off'));
  });

  it('restores from a saved state with the same devices, adding only -incoming from descriptor 3 (no program runs)', () => {
    const argv = buildQemuArgv({ ...config, restoreFrom: "/home/o'brien/my boxes/state" });
    assert.deepEqual(after(argv, '-incoming'), ['fd:3']);
    assert.deepEqual(argv.slice(0, -2), buildQemuArgv(config));
  });

  it('keeps a template\'s RAM in a file it shares, and maps it privately into a restored box that loads its state over QMP', () => {
    const making = buildQemuArgv({ ...config, controlSocketPath: '/run/t/qmp.sock', memoryFile: { path: '/t/ram.tmp', shared: true } });
    assert.deepEqual(after(making, '-object'), ['memory-backend-file,id=mem,size=512M,mem-path=/t/ram.tmp,share=on']);
    assert.deepEqual(after(making, '-machine'), ['memory-backend=mem']);
    const restoring = buildQemuArgv({ ...config, controlSocketPath: '/run/b/qmp.sock', restoreFrom: '/t/state', memoryFile: { path: '/t/ram', shared: false, readOnlyShim: '/c/shim.so' } });
    assert.deepEqual(after(restoring, '-object'), ['memory-backend-file,id=mem,size=512M,mem-path=/t/ram,share=off']);
    assert.deepEqual(after(restoring, '-incoming'), ['defer'], 'the state goes in once x-ignore-shared is set over QMP');
    assert.deepEqual(memoryFileEnv({ ...config, memoryFile: { path: '/t/ram', shared: false, readOnlyShim: '/c/shim.so' } }), { LD_PRELOAD: '/c/shim.so', BOXLITE_RO_RAM: '/t/ram' });
    assert.deepEqual(memoryFileEnv({ ...config, memoryFile: { path: '/t/ram.tmp', shared: true } }), {}, 'the template VM writes its file');
    assert.throws(() => validateVmConfig({ ...config, restoreFrom: '/t/state', memoryFile: { path: '/t/ram', shared: false } }), /needs a controlSocketPath/);
    assert.throws(() => validateVmConfig({ ...config, memoryFile: { path: '/t/r,am', shared: true } }), /without commas/);
  });

  it('adds QEMU\'s own seccomp filter when asked, with spawning, privilege changes and resource control denied', () => {
    assert.equal(buildQemuArgv(config).includes('-sandbox'), false);
    assert.deepEqual(after(buildQemuArgv({ ...config, sandbox: true }), '-sandbox'), ['on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny']);
  });

  it('uses -cpu host with KVM', () => {
    const argv = buildQemuArgv({ ...config, accelerator: 'kvm' });
    assert.deepEqual(after(argv, '-accel'), ['kvm']);
    assert.deepEqual(after(argv, '-cpu'), ['host']);
  });

  it('serves the console and one named virtio-serial portal port per client on unix sockets', () => {
    const argv = buildQemuArgv(config);
    assert.deepEqual(after(argv, '-chardev'), [
      'socket,id=console,path=/b/console.sock,server=on,wait=off',
      'socket,id=portal0,path=/b/portal-0.sock,server=on,wait=off',
      'socket,id=portal1,path=/b/portal-1.sock,server=on,wait=off',
    ]);
    assert.deepEqual(after(argv, '-serial'), ['chardev:console']);
    const devices = after(argv, '-device');
    assert.ok(devices.includes('virtserialport,chardev=portal0,name=boxlite.portal.0'));
    assert.ok(devices.includes('virtserialport,chardev=portal1,name=boxlite.portal.1'));
  });

  it('attaches disks in order, the base read-only', () => {
    const drives = after(buildQemuArgv(config), '-drive');
    assert.equal(drives.length, 2);
    assert.match(drives[0]!, /id=base,file=\/b\/base.ext4,format=raw,readonly=on/);
    assert.match(drives[1]!, /id=upper,file=\/b\/upper.ext4,format=raw,readonly=off/);
  });

  it('hostile review #7: a disk error is reported to the guest, never a paused VM', () => {
    for (const drive of after(buildQemuArgv(config), '-drive')) {
      assert.match(drive, /,werror=report,rerror=report(,|$)/, drive);
    }
  });

  it('gives every box of one shape the same device list (snapshot-ready)', () => {
    const other = { ...config, portalSocketPaths: ['/c/portal-0.sock', '/c/portal-1.sock'], consoleSocketPath: '/c/console.sock', disks: config.disks.map((d) => ({ ...d, path: d.path.replace('/b/', '/c/') })) };
    const shape = (argv: string[]): string[] => after(argv, '-device');
    assert.deepEqual(shape(buildQemuArgv(config)), shape(buildQemuArgv(other)));
  });

  const invalid: Array<[string, Partial<VmConfig>, RegExp]> = [
    ['zero cpus', { cpus: 0 }, /cpus must be an integer 1..64, got 0/],
    ['fractional memory', { memoryMib: 12.5 }, /memoryMib must be an integer 64..65536, got 12.5/],
    ['a relative kernel path', { kernelPath: 'vmlinux' }, /paths must be absolute/],
    ['a comma in a path', { consoleSocketPath: '/a,b/sock' }, /must not contain a comma/],
    ['no portal socket', { portalSocketPaths: [] }, /portalSocketPaths must list 1..16 sockets/],
    ['a kernel arg with spaces', { kernelArgs: ['a b'] }, /one non-empty word/],
    ['a relative state path', { restoreFrom: 'state' }, /restoreFrom must be an absolute path/],
    ['a state path with a line break', { restoreFrom: '/h/a\nb' }, /without NUL or line breaks/],
    ['a relative control socket', { controlSocketPath: 'qmp.sock' }, /controlSocketPath must be absolute/],
  ];
  for (const [what, patch, message] of invalid) {
    it(`rejects ${what}`, () => {
      assert.throws(() => validateVmConfig({ ...config, ...patch }), (e: Error & { code?: string }) => e.code === 'Config' && message.test(e.message));
    });
  }
});

describe('accelerator choice', () => {
  const realVmx = { kvmDeviceUsable: true, cpuHasVirtualization: true, kvmPvmLoaded: false };
  it('auto picks KVM on a host with VMX/SVM and a usable /dev/kvm', () => {
    assert.equal(chooseAccelerator('auto', realVmx).accelerator, 'kvm');
  });
  it('auto falls back to TCG on kvm-pvm, and says why', () => {
    const c = chooseAccelerator('auto', { ...realVmx, kvmPvmLoaded: true });
    assert.equal(c.accelerator, 'tcg');
    assert.match(c.reason, /kvm-pvm/);
  });
  it('auto falls back to TCG without /dev/kvm', () => {
    assert.match(chooseAccelerator('auto', { ...realVmx, kvmDeviceUsable: false }).reason, /\/dev\/kvm is missing/);
  });
  it('auto falls back to TCG when the CPU has no VMX/SVM', () => {
    assert.equal(chooseAccelerator('auto', { ...realVmx, cpuHasVirtualization: false }).accelerator, 'tcg');
  });
  it('kvm on a host that cannot run it is a Config error naming the fix', () => {
    assert.throws(() => chooseAccelerator('kvm', { ...realVmx, kvmPvmLoaded: true }), (e: Error & { code?: string }) => e.code === 'Config' && /use accelerator "auto" or "tcg"/.test(e.message));
  });
  it('tcg is always possible', () => {
    assert.equal(chooseAccelerator('tcg', { kvmDeviceUsable: false, cpuHasVirtualization: false, kvmPvmLoaded: false }).accelerator, 'tcg');
  });
});
