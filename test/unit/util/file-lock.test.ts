// The per-key lock file: serialises holders, and breaks a lock whose owner process is dead.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { withFileLock } from '../../../src/util/file-lock.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-lock-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('holders run one at a time, and the lock file is gone afterwards', async () => {
  const lock = path.join(dir, 'a.lock');
  const order: string[] = [];
  const hold = (name: string) => withFileLock(lock, async () => {
    order.push(`${name}+`);
    await new Promise((r) => setTimeout(r, 150));
    order.push(`${name}-`);
  });
  await Promise.all([hold('x'), hold('y')]);
  assert.ok(order.join(' ') === 'x+ x- y+ y-' || order.join(' ') === 'y+ y- x+ x-', order.join(' '));
  assert.equal(fs.existsSync(lock), false);
});

test('a lock left by a dead process is broken', async () => {
  const lock = path.join(dir, 'stale.lock');
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  fs.writeFileSync(lock, `${dead.stdout}\n`);
  assert.equal(await withFileLock(lock, async () => 'ran', { timeoutMs: 2000 }), 'ran');
});

test('a lock held by a live process times out with a Storage error naming the file and pid', async () => {
  const lock = path.join(dir, 'live.lock');
  fs.writeFileSync(lock, `${process.ppid}\n`);
  await assert.rejects(withFileLock(lock, async () => 'never', { timeoutMs: 300 }), (e: unknown) => (e as { code?: string }).code === 'Storage' && (e as Error).message.includes(lock) && (e as Error).message.includes(String(process.ppid)));
  fs.rmSync(lock);
});
