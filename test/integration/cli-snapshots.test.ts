// `boxlite snapshot create|ls|restore|rm` and `boxlite clone` of the built CLI on real boxes.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { boxlite, ok } from '../helpers/cli.js';

const made: string[] = [];
after(async () => {
  for (const id of made) await boxlite('rm', '-f', id);
});

test('snapshot create, ls, restore and rm, and clone, from the command line', async () => {
  const id = (await ok('create', '--rootfs', busyboxRootfs(), '--cpus', '1', '--memory', '256')).trim();
  made.push(id);
  await ok('exec', id, '--', 'sh', '-c', 'echo first > /root/f; sync');
  const running = await boxlite('snapshot', 'create', id, 'first');
  assert.equal(running.code, 125);
  assert.match(running.stderr, /InvalidState: .* it is running.*stop it first/);
  await ok('stop', id);
  assert.equal(await ok('snapshot', 'create', id, 'first'), 'first\n');
  await ok('exec', id, '--', 'sh', '-c', 'echo second > /root/f; sync');
  await ok('stop', id);
  await ok('snapshot', 'create', id, 'second');
  const listed = JSON.parse(await ok('snapshot', 'ls', id, '--json')) as Array<{ name: string; createdAt: string; sizeBytes: number; virtualSizeBytes: number }>;
  assert.deepEqual(listed.map((s) => s.name), ['first', 'second']);
  assert.ok(listed.every((s) => s.sizeBytes > 0 && s.virtualSizeBytes === 10 * 1024 ** 3 && !Number.isNaN(Date.parse(s.createdAt))));
  assert.match(await ok('snapshot', 'ls', id), /^NAME\s+CREATED\s+SIZE\s+VIRTUAL SIZE\nfirst\s.*\nsecond\s/);
  await ok('snapshot', 'restore', id, 'first');
  assert.equal(await ok('exec', id, '--', 'cat', '/root/f'), 'first\n');
  await ok('stop', id);
  await ok('snapshot', 'rm', id, 'first');
  await ok('snapshot', 'restore', id, 'second');
  assert.equal(await ok('exec', id, '--', 'cat', '/root/f'), 'second\n');
  await ok('stop', id);
  const name = `cli-clone-${Date.now()}`;
  const cloneId = (await ok('clone', id, name)).trim();
  made.push(cloneId);
  assert.match(cloneId, /^[0-9A-Z]{26}$/);
  assert.equal(await ok('exec', name, '--', 'cat', '/root/f'), 'second\n');
  const bad = await boxlite('snapshot', 'create', id, 'no/slash');
  assert.equal(bad.code, 125);
  assert.match(bad.stderr, /InvalidArgument: snapshot name must be/);
});
