// The jailer (launcher/) on its own (no VM): the program it starts runs as the given unprivileged user and cannot
// make setuid/setgid files, devices, file capabilities or give files away; it refuses to leave a program root.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { findGuestArtifacts } from '../../src/setup/index.js';
import { parseAttacks, volumeProbe } from '../fixtures/volume-probe.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });
const launcher = (): string => findGuestArtifacts().launcherPath;

test('hostile review #2: under the launcher a program is its user, and the filter and capabilities refuse each attack', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-launcher-'));
  dirs.push(dir);
  fs.chmodSync(dir, 0o777);
  const probe = path.join(dir, 'volume-probe');
  fs.copyFileSync(volumeProbe(), probe);
  fs.chmodSync(probe, 0o755);
  const work = path.join(dir, 'work');
  fs.mkdirSync(work, { mode: 0o700 }); // root's, 0700: only DAC_OVERRIDE gets the program in
  const r = spawnSync(launcher(), ['--uid', '65534', '--gid', '65534', '--caps', 'dac_override,fowner', '--seccomp', '--', probe, 'attack', work], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(Object.fromEntries(parseAttacks(r.stdout)), {
    'create file': 'ok',
    'chmod 4755 file': 'EPERM', 'chmod 2755 file': 'EPERM', 'chmod 6755 file': 'EPERM', 'chmod 0755 file': 'ok',
    'create 4755 born-setuid': 'EPERM',
    'mknod c 1 3 null': 'EPERM', 'mknod c 10 232 kvm': 'EPERM', 'mknod b 7 0 loop': 'EPERM', 'mkfifo fifo': 'ok',
    'mkdir dir': 'ok', 'chmod 2755 dir': 'EPERM',
    'setxattr security.capability file': 'EPERM', // the host's filesystem has xattrs; without SETFCAP this one is refused
    'chown 0:0 file': 'EPERM', 'chown 1000:1000 file': 'EPERM',
    'copy probe': 'ok', 'chmod 4755 suid-probe': 'EPERM',
  });
  for (const name of fs.readdirSync(work)) {
    const st = fs.lstatSync(path.join(work, name));
    assert.deepEqual([st.uid, st.gid, st.mode & 0o6000], [65534, 65534, 0], name);
  }
  const who = spawnSync(launcher(), ['--uid', '65534', '--gid', '65534', '--caps', 'fowner', '--', '/bin/sh', '-c', 'grep -E "^(Uid|Gid|Groups|CapEff|CapBnd|NoNewPrivs):" /proc/self/status'], { encoding: 'utf8' });
  assert.equal(who.stdout.replace(/[ \t]+/g, ' '), 'Uid: 65534 65534 65534 65534\nGid: 65534 65534 65534 65534\nGroups: \nCapEff: 0000000000000008\nCapBnd: 0000000000000008\nNoNewPrivs: 1\n');
});

test('hostile review #2: the launcher refuses uid or gid 0 and unknown capabilities, running nothing', () => {
  for (const args of [['--uid', '0', '--gid', '65534'], ['--uid', '65534', '--gid', '0'], ['--uid', '65534', '--gid', '65534', '--caps', 'all']]) {
    const r = spawnSync(launcher(), [...args, '--', '/bin/echo', 'ran'], { encoding: 'utf8' });
    assert.equal(r.status, 2, args.join(' '));
    assert.equal(r.stdout, '', 'nothing ran');
    assert.match(r.stderr, /^boxlite-launcher: (--uid, --gid and --groups take numbers other than 0|--caps takes names)/);
  }
});
