// The newc cpio writer: parsed back by a reference reader, by GNU cpio when installed, and byte-for-byte stable.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { cpioArchive, withParentDirs, type CpioEntry } from '../../../src/setup/cpio.js';

interface Parsed { name: string; mode: number; uid: number; gid: number; mtime: number; nlink: number; rdev: [number, number]; data: Buffer }

/** A strict newc reader: checks magic, 4-byte alignment and the trailer. */
function parseNewc(buf: Buffer): Parsed[] {
  const out: Parsed[] = [];
  let p = 0;
  for (;;) {
    assert.equal(p % 4, 0, `header at ${p} is 4-byte aligned`);
    assert.equal(buf.toString('latin1', p, p + 6), '070701');
    const f = (i: number): number => Number.parseInt(buf.toString('latin1', p + 6 + i * 8, p + 14 + i * 8), 16);
    const namesize = f(11);
    const size = f(6);
    const name = buf.toString('utf8', p + 110, p + 110 + namesize - 1);
    assert.equal(buf[p + 110 + namesize - 1], 0, 'name is NUL-terminated');
    let q = p + 110 + namesize;
    q += (4 - (q % 4)) % 4;
    const data = buf.subarray(q, q + size);
    q += size;
    q += (4 - (q % 4)) % 4;
    if (name === 'TRAILER!!!') { assert.equal(q, buf.length, 'nothing after the trailer'); return out; }
    out.push({ name, mode: f(1), uid: f(2), gid: f(3), nlink: f(4), mtime: f(5), rdev: [f(9), f(10)], data });
    p = q;
  }
}

const entries: CpioEntry[] = [
  { type: 'dir', path: '/dev' },
  { type: 'chardev', path: 'dev/console', major: 5, minor: 1 },
  { type: 'file', path: '/init', data: Buffer.from('#!/bin/sh\necho hi\n'), mode: 0o755 },
  { type: 'file', path: 'lib/modules/6.1/kernel/a.ko', data: Buffer.from([1, 2, 3, 4, 5]) },
  { type: 'file', path: 'empty', data: Buffer.alloc(0) },
  { type: 'symlink', path: 'bin/sh', target: '/init' },
  { type: 'dir', path: 'tmp', mode: 0o1777 },
];

describe('cpio writer', () => {
  it('writes members that a strict newc reader gets back, with uid/gid/mtime 0', () => {
    const got = parseNewc(cpioArchive(withParentDirs(entries)));
    assert.deepEqual(got.map((e) => e.name), ['dev', 'dev/console', 'init', 'lib', 'lib/modules', 'lib/modules/6.1', 'lib/modules/6.1/kernel', 'lib/modules/6.1/kernel/a.ko', 'empty', 'bin', 'bin/sh', 'tmp']);
    const byName = new Map(got.map((e) => [e.name, e]));
    assert.equal(byName.get('init')!.mode, 0o100755);
    assert.equal(byName.get('init')!.data.toString(), '#!/bin/sh\necho hi\n');
    assert.deepEqual([...byName.get('lib/modules/6.1/kernel/a.ko')!.data], [1, 2, 3, 4, 5]);
    assert.equal(byName.get('lib/modules/6.1/kernel/a.ko')!.mode, 0o100644);
    assert.equal(byName.get('bin/sh')!.mode, 0o120777);
    assert.equal(byName.get('bin/sh')!.data.toString(), '/init');
    assert.equal(byName.get('dev/console')!.mode, 0o020600);
    assert.deepEqual(byName.get('dev/console')!.rdev, [5, 1]);
    assert.equal(byName.get('tmp')!.mode, 0o041777);
    assert.equal(byName.get('dev')!.nlink, 2);
    for (const e of got) assert.deepEqual([e.uid, e.gid, e.mtime], [0, 0, 0], e.name);
  });

  it('is reproducible: equal input gives identical bytes', () => {
    assert.ok(cpioArchive(withParentDirs(entries)).equals(cpioArchive(withParentDirs(entries))));
  });

  it('lists a parent dir once, even when it is also given explicitly later', () => {
    const got = withParentDirs([{ type: 'file', path: 'a/b/c', data: Buffer.alloc(1) }, { type: 'dir', path: 'a' }, { type: 'dir', path: 'a/d' }]);
    assert.deepEqual(got.map((e) => e.path), ['a', 'a/b', 'a/b/c', 'a/d']);
  });

  it('rejects paths that are empty or climb out', () => {
    for (const bad of ['', '/', 'a/../b', './x', 'a//b']) {
      assert.throws(() => cpioArchive([{ type: 'dir', path: bad }]), { code: 'InvalidArgument' }, JSON.stringify(bad));
    }
  });

  const haveCpio = spawnSync('cpio', ['--version']).status === 0;
  it('is read by GNU cpio', { skip: haveCpio ? false : 'GNU cpio is not installed (apt-get install cpio)' }, () => {
    const listing = execFileSync('cpio', ['-itv', '--quiet'], { input: cpioArchive(withParentDirs(entries)) }).toString();
    assert.match(listing, /^-rwxr-xr-x\s+1 root\s+root\s+18 Jan\s+1\s+1970 init$/m);
    assert.match(listing, /^crw-------\s+1 root\s+root\s+5,\s+1 Jan\s+1\s+1970 dev\/console$/m);
    assert.match(listing, /^lrwxrwxrwx\s+1 root\s+root\s+5 Jan\s+1\s+1970 bin\/sh -> \/init$/m);
    assert.match(listing, /^drwxrwxrwt\s+2 root\s+root\s+0 Jan\s+1\s+1970 tmp$/m);
  });
});
