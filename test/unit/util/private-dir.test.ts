// Private socket directories: made or accepted only when they are a real directory of ours that nobody else may
// write; anything else is a Config error naming the path, and nothing is changed through a symlink.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { ensurePrivateDir, freshPrivateSubdir, isPrivateDir } from '../../../src/util/private-dir.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-private-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));
const isRoot = process.getuid?.() === 0;
let n = 0;
const place = (): string => path.join(root, `case-${n++}`);
const mode = (p: string): number => fs.lstatSync(p).mode & 0o7777;

test('a missing directory is made with the mode asked for, and an existing one of ours gets it (through its descriptor)', () => {
  const made = place();
  ensurePrivateDir(made, 0o711);
  assert.equal(mode(made), 0o711);
  assert.equal(isPrivateDir(made), true);
  const tight = place();
  fs.mkdirSync(tight, { mode: 0o700 });
  ensurePrivateDir(tight, 0o711);
  assert.equal(mode(tight), 0o711);
});

test('what is not a private directory of ours is refused with a Config error naming it and why', () => {
  const target = place();
  fs.mkdirSync(target, { mode: 0o755 });
  const cases: Array<[string, (p: string) => void, RegExp]> = [
    ['a symlink', (p) => fs.symlinkSync(target, p), /is a symlink/],
    ['a file', (p) => fs.writeFileSync(p, ''), /is not a directory/],
    ['writable by others', (p) => { fs.mkdirSync(p); fs.chmodSync(p, 0o777); }, /other users may write to it \(mode 777\)/],
  ];
  if (isRoot) cases.push(['another user\'s', (p) => { fs.mkdirSync(p, { mode: 0o711 }); fs.chownSync(p, 4242, 4242); }, /owned by uid 4242/]);
  for (const [what, make, why] of cases) {
    const p = place();
    make(p);
    assert.throws(() => ensurePrivateDir(p, 0o711), (e: unknown) => BoxliteError.is(e) && e.code === 'Config' && e.message.includes(p) && why.test(e.message), what);
    assert.equal(isPrivateDir(p), false, what);
  }
  assert.equal(mode(target), 0o755, 'the symlink\'s target kept its mode');
});

test('a parent others may write to without the sticky bit is refused: they could swap the directory', () => {
  const parent = place();
  fs.mkdirSync(parent);
  fs.chmodSync(parent, 0o777);
  assert.throws(() => ensurePrivateDir(path.join(parent, 'run'), 0o711), (e: unknown) => BoxliteError.is(e) && /writable by other users and not sticky/.test(e.message));
  fs.chmodSync(parent, 0o1777);
  ensurePrivateDir(path.join(parent, 'run'), 0o711);
});

test('a fresh subdirectory replaces a leftover (without following links in it) and gets its owner', () => {
  const base = place();
  ensurePrivateDir(base, 0o711);
  const outside = place();
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, 'keep'), 'x');
  const sub = path.join(base, 'box.net');
  fs.mkdirSync(sub);
  fs.symlinkSync(outside, path.join(sub, 'link'));
  freshPrivateSubdir(sub, 0o700, isRoot ? 2147483646 : undefined);
  assert.deepEqual(fs.readdirSync(sub), []);
  assert.equal(mode(sub), 0o700);
  if (isRoot) assert.equal(fs.lstatSync(sub).uid, 2147483646);
  assert.deepEqual(fs.readdirSync(outside), ['keep'], 'nothing outside was deleted');
});
