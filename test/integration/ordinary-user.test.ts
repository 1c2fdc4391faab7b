// A box run by an ordinary user (not root): jailed in user namespaces, or a Config error naming what is missing.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { findGuestArtifacts, resolveCacheDir } from '../../src/setup/index.js';
import { confinedPid, ownNamespaces, procStatus } from '../helpers/jailed.js';

const USER = 'boxlite-tester';
const FIXTURE = fileURLToPath(new URL('../fixtures/ordinary-user-box.js', import.meta.url));
const NONE = '0000000000000000';
const skip = process.getuid?.() !== 0 ? 'making an ordinary user to run as needs root'
  : spawnSync('useradd', ['--help']).error ? 'useradd (passwd) is not installed' : false;

let uid = 0;
let gid = 0;
let home = '';
let made = false;

// A user of its own, and a home dir it owns holding a copy of the busybox root filesystem: nothing of root's home is
// readable to it. Its boxes boot from root's shared cache (kernel, initramfs, jailer, passt), which it may read, not write.
before(() => {
  if (skip) return;
  if (spawnSync('id', ['-u', USER]).status !== 0) {
    const r = spawnSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', USER], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    made = true;
  }
  uid = Number(spawnSync('id', ['-u', USER], { encoding: 'utf8' }).stdout.trim());
  gid = Number(spawnSync('id', ['-g', USER], { encoding: 'utf8' }).stdout.trim());
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-user-'));
  assert.equal(spawnSync('cp', ['-a', busyboxRootfs(), path.join(home, 'rootfs')]).status, 0);
  assert.equal(spawnSync('chown', ['-R', `${uid}:${gid}`, home]).status, 0);
});

after(() => {
  if (home) fs.rmSync(home, { recursive: true, force: true });
  if (uid) fs.rmSync(path.join(os.tmpdir(), `boxlite-${uid}`), { recursive: true, force: true }); // the user's run dir
  if (made) spawnSync('userdel', [USER]);
});

/** Runs the fixture as the user; its first JSON line, and the process (stdin open until the caller ends it). */
async function asUser(mode: string): Promise<{ line: Record<string, unknown>; proc: ReturnType<typeof spawn> }> {
  const proc = spawn('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups', process.execPath, FIXTURE, path.join(home, 'rootfs'), mode], {
    env: { PATH: process.env.PATH, BOXLITE_HOME: home, HOME: home, BOXLITE_CACHE_DIR: resolveCacheDir() }, stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = readline.createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  const first = await lines.next();
  if (first.done) throw new Error(`the fixture (${mode}) exited without output (code ${proc.exitCode})`);
  return { line: JSON.parse(first.value) as Record<string, unknown>, proc };
}

test('an ordinary user\'s box runs jailed: its own user, mount, pid, ipc, uts and network namespaces, no capabilities, seccomp', { skip }, async () => {
  const { line, proc } = await asUser('standard');
  try {
    assert.equal(line.error, undefined, JSON.stringify(line.error));
    assert.equal(line.out, 'jailed');
    const launcher = findGuestArtifacts().launcherPath;
    const qemu = confinedPid(line.pid as number, launcher);
    const st = procStatus(qemu);
    assert.equal(st.Uid, `${uid} ${uid} ${uid} ${uid}`, 'it runs as the user (an ordinary user cannot give it a uid of its own)');
    for (const f of ['CapEff', 'CapPrm', 'CapBnd', 'CapAmb']) assert.equal(st[f], NONE, f);
    assert.equal(st.NoNewPrivs, '1');
    assert.equal(st.Seccomp, '2');
    assert.deepEqual(ownNamespaces(qemu).sort(), ['ipc', 'mnt', 'net', 'pid', 'user', 'uts']);
    assert.equal(fs.existsSync(`/proc/${qemu}/root${home}/db`), false, 'its jail holds no state database');
    assert.ok((line.jail as { uid?: number }).uid === undefined, 'no per-box uid is claimed');
  } finally {
    proc.stdin!.end();
    await new Promise((resolve) => proc.once('exit', resolve));
  }
});

test('an ordinary user is told what cannot be had: another uid (maximum), volumes, a network policy, with the way out', { skip }, async () => {
  const max = await asUser('maximum');
  assert.equal((max.line.error as { code: string }).code, 'Config');
  assert.match((max.line.error as { message: string }).message, /security\.uid\/gid 65534\/65534 cannot be had: only root .*SecurityOptions\.development\(\)/);
  const vol = await asUser('volume');
  assert.equal((vol.line.error as { code: string }).code, 'Config');
  assert.match((vol.line.error as { message: string }).message, /volumes need the host process to run as root/);
  const pub = await asUser('public');
  assert.equal((pub.line.error as { code: string }).code, 'Config');
  assert.match((pub.line.error as { message: string }).message, /network egress "public" cannot be enforced here: .*needs root .*egress: 'all'/);
});
