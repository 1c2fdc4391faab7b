// The jailer on real boxes: what /proc says of each host process of a box (QEMU, passt, virtiofsd) under each preset.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { BoxliteError } from '../../src/errors.js';
import { BoxCommand } from '../../src/runtime/command.js';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import { SecurityOptions } from '../../src/runtime/security.js';
import type { LiteBox } from '../../src/runtime/box.js';
import { findGuestArtifacts } from '../../src/setup/index.js';
import { CLAIMS_DIR, isJailUid } from '../../src/jailer/uids.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { TEST_HOME } from '../helpers/boxes.js';
import { boxChild, cleanUpChildren, freshHome, recordedProcesses } from '../helpers/box-children.js';
import type { ChildProcess } from 'node:child_process';
import { cgroupDirs } from '../../src/jailer/cgroups.js';
import { cgroupName } from '../../src/jailer/box-jail.js';
import { isAlive } from '../../src/state/process-identity.js';
import { capBits, confinedPid, environNames, fdTargets, limitOf, ownNamespaces, procStatus, seesInItsRoot } from '../helpers/jailed.js';

const homes: string[] = [];
const children: ChildProcess[] = [];
after(() => cleanUpChildren(children, homes));

const asRoot = process.getuid?.() === 0;
const notRoot = asRoot ? false : 'the jailer gives boxes uids of their own only when started as root (test/integration/ordinary-user covers the rest)';
// A secret in this process's environment: no host process of a box may carry it.
const SECRET = 'BOXLITE_TEST_SECRET';
process.env[SECRET] = crypto.randomBytes(8).toString('hex');
const NONE = '0000000000000000';
const DAC_OVERRIDE_AND_FOWNER = (1n << 1n) | (1n << 3n);

const launcher = (_home: string): string => findGuestArtifacts().launcherPath; // the shared cache every home uses
const base = { rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256 };

/** The confined programs of a started box, by kind (vmm, network, volume:vol0...). */
function programs(home: string, box: LiteBox): Record<string, number> {
  return Object.fromEntries(recordedProcesses(home, box.id.asStr()).map((p) => [p.kind, confinedPid(p.pid, launcher(home))]));
}

async function started(rt: BoxliteRuntime, options: Parameters<BoxliteRuntime['create']>[0]): Promise<LiteBox> {
  const box = await rt.create({ ...base, ...options });
  const run = await box.run(new BoxCommand('true'));
  assert.equal((await run.wait()).exitCode, 0);
  return box;
}

test('standard (the default): QEMU, passt and virtiofsd run unprivileged, filtered, in namespaces of their own, without the host\'s secrets', { skip: notRoot }, async () => {
  const home = freshHome('boxlite-jail-', homes);
  const volume = fs.mkdtempSync(path.join(home, 'vol-'));
  const rt = new BoxliteRuntime({ homeDir: home });
  try {
    const box = await started(rt, { volumes: [{ hostPath: volume, guestPath: '/vol' }] });
    assert.equal(box.info().security.preset, 'standard');
    const jail = box.info().jail!;
    assert.ok(jail.uid !== undefined && isJailUid(jail.uid), `a uid of the box's own from the reserved range: ${jail.uid}`);
    const procs = programs(home, box);
    assert.deepEqual(Object.keys(procs).sort(), ['network', 'vmm', 'volume:vol0']);

    for (const [kind, pid] of Object.entries(procs)) {
      const st = procStatus(pid);
      const uid: number = kind.startsWith('volume') ? 65534 : jail.uid; // virtiofsd is the volume owner's (root's becomes nobody)
      assert.equal(st.Uid, `${uid} ${uid} ${uid} ${uid}`, `${kind} Uid`);
      assert.equal(st.NoNewPrivs, '1', `${kind} NoNewPrivs`);
      assert.equal(st.Seccomp, '2', `${kind} runs under a seccomp filter`);
      assert.ok(!environNames(pid).includes(SECRET), `${kind} does not carry ${SECRET}`);
      assert.ok(!fdTargets(pid).some((f) => f.startsWith(path.join(home, 'db'))), `${kind} holds no descriptor of the state database`);
      assert.deepEqual(limitOf(pid, 'Max core file size'), ['0', '0'], `${kind} dumps no core (guest memory)`);
      const cgroup = fs.readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      if (jail.cgroups.length) assert.match(cgroup, new RegExp(`:memory:.*/boxlite/[0-9a-f]{12}-${box.id.asStr()}\\n`), `${kind} is in the box's cgroup`);
    }
    const qemu = procStatus(procs.vmm!);
    for (const f of ['CapEff', 'CapPrm', 'CapBnd', 'CapAmb', 'CapInh']) assert.equal(qemu[f], NONE, `QEMU ${f}`);
    assert.deepEqual(ownNamespaces(procs.vmm!).sort(), ['ipc', 'mnt', 'net', 'pid', 'uts'], 'QEMU: its own mount, pid, ipc, uts and network namespaces');
    const passt = procStatus(procs.network!);
    for (const f of ['CapEff', 'CapPrm', 'CapAmb']) assert.equal(passt[f], NONE, `passt ${f}`);
    // passt reaches the host's network, so it shares it; it then makes a user namespace of its own (in which its
    // bounding set reads full while it has nothing in the host's).
    assert.deepEqual(ownNamespaces(procs.network!).sort(), ['ipc', 'mnt', 'pid', 'user', 'uts']);
    const virtiofsd = procStatus(procs['volume:vol0']!);
    assert.equal(capBits(virtiofsd.CapEff!) & ~DAC_OVERRIDE_AND_FOWNER, 0n, `virtiofsd keeps at most DAC_OVERRIDE and FOWNER: ${virtiofsd.CapEff}`);
    assert.ok(ownNamespaces(procs['volume:vol0']!).includes('ipc') && ownNamespaces(procs['volume:vol0']!).includes('mnt'));

    // Through its root QEMU sees its own disks and nothing of the home dir besides, nor the host's files.
    const qemuPid = procs.vmm!;
    const boxDir = path.join(home, 'boxes', box.id.asStr());
    assert.ok(seesInItsRoot(qemuPid, path.join(boxDir, 'upper.ext4')), 'its writable disk is in its jail');
    // (Each of these exists on the host; the test home's guest/ links to the shared home, whose db is hidden too.)
    for (const hidden of [path.join(home, 'db'), path.join(boxDir, 'console.log'), '/etc/passwd', path.join(TEST_HOME, 'db'), volume]) {
      assert.ok(fs.existsSync(hidden), `${hidden} exists on the host`);
      assert.equal(seesInItsRoot(qemuPid, hidden), false, `QEMU does not see ${hidden}`);
    }
    assert.throws(() => fs.writeFileSync(`/proc/${qemuPid}/root/usr/boxlite-probe`, 'x'), /EROFS/, 'the system in its jail is read-only');

    // The box's cgroup bounds memory (guest + stated overhead), pids and CPU.
    if (jail.cgroups.length) {
      const memory = jail.cgroups.find((d) => d.includes('/memory/'))!;
      assert.equal(Number(fs.readFileSync(path.join(memory, 'memory.limit_in_bytes'), 'utf8')), (256 + 384 + 1024) * 2 ** 20);
      const pids = jail.cgroups.find((d) => d.includes('/pids/'))!;
      assert.equal(fs.readFileSync(path.join(pids, 'pids.max'), 'utf8').trim(), '1024');
      const cpu = jail.cgroups.find((d) => d.includes('/cpu/'))!;
      assert.equal(fs.readFileSync(path.join(cpu, 'cpu.cfs_quota_us'), 'utf8').trim(), '100000');
    } else {
      assert.ok(jail.cgroupUnavailable, 'a box without a cgroup says why');
    }

    // Removed: its cgroup, jail directories and uid claim are gone with it.
    await box.stop();
    await rt.remove(box.id.asStr(), true).catch(() => undefined);
    for (const d of [...jail.cgroups, jail.root, `${jail.root}.net`]) assert.equal(fs.existsSync(d), false, `${d} is removed with the box`);
    assert.equal(fs.existsSync(path.join(CLAIMS_DIR, String(jail.uid))), false, 'its uid is given back');
  } finally {
    await rt.close();
  }
});

test('maximum: uid 65534 and its rlimits in force; development: the jailer is off, as the preset says', { skip: notRoot }, async () => {
  const home = freshHome('boxlite-jail-', homes);
  const rt = new BoxliteRuntime({ homeDir: home });
  try {
    const max = await started(rt, { security: SecurityOptions.maximum() });
    const qemu = programs(home, max).vmm!;
    assert.equal(procStatus(qemu).Uid, '65534 65534 65534 65534');
    assert.deepEqual(limitOf(qemu, 'Max open files'), ['1024', '1024']);
    assert.deepEqual(limitOf(qemu, 'Max processes'), ['512', '512']);
    assert.equal(procStatus(qemu).CapBnd, NONE);
    await max.stop();

    const dev = await started(rt, { security: SecurityOptions.development() });
    const devQemu = programs(home, dev).vmm!;
    assert.equal(procStatus(devQemu).Uid, '0 0 0 0', 'development: QEMU runs as this process\'s user, unconfined');
    assert.deepEqual(ownNamespaces(devQemu), []);
    assert.equal(dev.info().jail, undefined);
    await dev.stop();
  } finally {
    await rt.close();
  }
});

test('two boxes run as different uids and cannot open each other\'s files', { skip: notRoot }, async () => {
  const home = freshHome('boxlite-jail-', homes);
  const rt = new BoxliteRuntime({ homeDir: home });
  try {
    const [a, b] = [await started(rt, {}), await started(rt, {})];
    const [uidA, uidB] = [a.info().jail!.uid!, b.info().jail!.uid!];
    assert.notEqual(uidA, uidB);
    const upperB = path.join(home, 'boxes', b.id.asStr(), 'upper.ext4');
    const asA = spawnSync('setpriv', [`--reuid=${uidA}`, `--regid=${uidA}`, '--clear-groups', 'head', '-c', '1', upperB], { encoding: 'utf8' });
    assert.notEqual(asA.status, 0, 'box A\'s uid cannot read box B\'s disk');
    assert.match(asA.stderr, /Permission denied/);
    const qemuA = programs(home, a).vmm!;
    assert.equal(seesInItsRoot(qemuA, upperB), false, 'nor does it see it through its jail');
    assert.equal(fs.statSync(upperB).uid, uidB);
  } finally {
    await rt.close();
  }
});

test('bad security options are InvalidArgument naming the field, and make no box', async () => {
  const home = freshHome('boxlite-jail-', homes);
  const rt = new BoxliteRuntime({ homeDir: home });
  try {
    const bad: Array<[unknown, RegExp]> = [
      [{ jailerEnabled: 'yes' }, /security\.jailerEnabled/],
      [{ uid: 0 }, /security\.uid/],
      [{ resourceLimits: { maxOpenFiles: -1 } }, /security\.resourceLimits\.maxOpenFiles/],
      [{ envAllowList: ['PATH'] }, /envAllowList/],
      [{ uid: 2_013_265_925 }, /security\.uid 2013265925 is in .* the range the jailer hands out/],
    ];
    for (const [security, field] of bad) {
      await assert.rejects(rt.create({ ...base, security: security as SecurityOptions }), (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidArgument' && field.test(e.message), JSON.stringify(security));
    }
    assert.deepEqual(await rt.listInfo(), []);
  } finally {
    await rt.close();
  }
});

test('an owner killed with SIGKILL leaves no cgroup or jail behind: the next runtime on the home removes them', { skip: notRoot }, async () => {
  const home = freshHome('boxlite-jail-', homes);
  const c = boxChild(home, ['hold', 'victim'], children);
  const { boxId } = await c.next() as { boxId: string };
  const vmm = recordedProcesses(home, boxId).find((p) => p.kind === 'vmm')!;
  const rt0 = new BoxliteRuntime({ homeDir: home });
  const jail = (await rt0.getInfo(boxId))!.jail!;
  await rt0.close();
  assert.ok(jail.cgroups.length > 0 && jail.cgroups.every((d) => fs.existsSync(d)), 'the running box has its cgroup');
  // Leftovers of a process that died before it could clean up: a cgroup and a jail directory of boxes long gone.
  const stale = cgroupDirs(cgroupName(home, '01JSTALEBOX0000000000000000'))!;
  for (const d of stale) fs.mkdirSync(d, { recursive: true });
  fs.mkdirSync(path.join(home, 'jails', '01JSTALEBOX0000000000000000'), { recursive: true });
  c.proc.kill('SIGKILL');
  for (const deadline = Date.now() + 10_000; isAlive(vmm) && Date.now() < deadline;) await new Promise((r) => setTimeout(r, 100));
  assert.equal(isAlive(vmm), false, 'the box\'s VM died with its owner');
  const rt = new BoxliteRuntime({ homeDir: home });
  try {
    assert.equal((await rt.getInfo(boxId))!.status.name, 'stopped');
    for (const d of [...jail.cgroups, ...stale, path.join(home, 'jails', '01JSTALEBOX0000000000000000')]) assert.equal(fs.existsSync(d), false, `${d} is gone`);
  } finally {
    await rt.close();
  }
});

test('without a chroot the VMM opens the box\'s files in place: a home others cannot pass is a Config error naming it, and nothing is left', { skip: notRoot }, async () => {
  const home = freshHome('boxlite-jail-', homes); // mkdtemp: 0700 (and the shared guest's home is private too)
  const rt = new BoxliteRuntime({ homeDir: home });
  try {
    const box = await rt.create({ ...base, autoRemove: false, security: SecurityOptions.builder().chrootEnabled(false).build() });
    await assert.rejects(box.start(), (e: unknown) => BoxliteError.is(e) && e.code === 'Config'
      && /must open \/\S+ in place, but \/\S* does not let other users pass \(mode 7[0-7]0\); turn chrootEnabled on/.test(e.message));
    const jail = box.info().jail!;
    assert.equal(box.info().status.name, 'stopped');
    for (const d of jail.cgroups) assert.equal(fs.existsSync(d), false, `${d} is removed after the failed start`);
    assert.deepEqual(recordedProcesses(home, box.id.asStr()), [], 'no process was started');
  } finally {
    await rt.close();
  }
});
