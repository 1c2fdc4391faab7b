// The content identity of a rootfs tree: any change to an entry changes it, even one that restores the mtime.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { RACY_WINDOW_MS, treeIdentity } from '../../../src/runtime/tree-identity.js';
import { measureTree } from '../../../src/runtime/disks.js';

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-tree-id-'));
after(() => fs.rmSync(root, { recursive: true, force: true }));

test('every kind of change gives a new identity; an unchanged tree keeps it; it measures the tree as measureTree does', async () => {
  const dir = path.join(root, 'tree');
  fs.mkdirSync(path.join(dir, 'etc'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'etc', 'motd'), 'hello\n');
  fs.symlinkSync('motd', path.join(dir, 'etc', 'link'));
  const first = await treeIdentity(dir);
  assert.equal(first.racy, true, 'a tree changed just now is racy: its content may still change within one timestamp tick');
  assert.deepEqual({ bytes: first.bytes, entries: first.entries }, await measureTree(dir));
  assert.equal((await treeIdentity(dir)).hash, first.hash, 'walking twice gives the same identity');

  const seen = new Set([first.hash]);
  const changes: [string, () => void][] = [
    ['same-size rewrite with the mtime put back', () => {
      const f = path.join(dir, 'etc', 'motd');
      const { atime, mtime } = fs.statSync(f);
      fs.writeFileSync(f, 'HELLO\n');
      fs.utimesSync(f, atime, mtime);
    }],
    ['chmod', () => fs.chmodSync(path.join(dir, 'etc', 'motd'), 0o600)],
    ['a new empty file', () => fs.writeFileSync(path.join(dir, 'etc', 'new'), '')],
    ['a symlink re-pointed', () => { fs.rmSync(path.join(dir, 'etc', 'link')); fs.symlinkSync('new', path.join(dir, 'etc', 'link')); }],
    ['a rename', () => fs.renameSync(path.join(dir, 'etc', 'new'), path.join(dir, 'etc', 'renamed'))],
  ];
  for (const [name, change] of changes) {
    change();
    const h = (await treeIdentity(dir)).hash;
    assert.ok(!seen.has(h), `${name} must change the identity`);
    seen.add(h);
  }
});

test('a tree left alone for the racy window is not racy', async () => {
  const dir = path.join(root, 'quiet');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'f'), 'x');
  await sleep(RACY_WINDOW_MS + 200);
  assert.equal((await treeIdentity(dir)).racy, false);
});
