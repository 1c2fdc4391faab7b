// Template keys: one per VM shape, whatever the file paths and the host's TSC reading.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { TemplateStore } from '../../../src/runtime/templates.js';
import { QemuDriver } from '../../../src/vmm/qemu/process.js';
import type { VmConfig } from '../../../src/vmm/config.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-tkey-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
for (const f of ['vmlinux', 'initrd']) fs.writeFileSync(path.join(dir, f), f);

const box = (id: string): VmConfig => ({
  cpus: 1, memoryMib: 256, accelerator: 'tcg', kernelPath: path.join(dir, 'vmlinux'), initrdPath: path.join(dir, 'initrd'), kernelArgs: [],
  portalSocketPaths: [0, 1, 2, 3].map((n) => `/h/boxes/${id}/portal-${n}.sock`), consoleSocketPath: `/h/boxes/${id}/console.sock`, tscKhz: 2_600_000,
  disks: [{ name: 'base', path: `/h/images/${id}.ext4`, readOnly: true }, { name: 'upper', path: `/h/boxes/${id}/upper.ext4`, readOnly: false }],
});

test('boxes of one shape share a template key; another shape, kernel or device list gets another', async () => {
  const store = new TemplateStore(dir, new QemuDriver());
  const key = await store.key(box('a'));
  assert.match(key, /^[0-9a-f]{32}$/);
  assert.equal(await store.key(box('b')), key, 'file paths do not matter');
  assert.equal(await store.key({ ...box('b'), tscKhz: 2_599_998 }), key, 'nor the TSC reading');
  const chained = { name: 'upper', path: '/h/boxes/b/layers/upper.qcow2', readOnly: false, format: 'qcow2' as const, backingFiles: ['/h/boxes/b/layers/x.raw'] };
  assert.equal(await store.key({ ...box('b'), disks: [box('b').disks[0]!, chained] }), key, 'nor the writable disk\'s format (a snapshot chain)');
  assert.notEqual(await store.key({ ...box('a'), memoryMib: 512 }), key);
  assert.notEqual(await store.key({ ...box('a'), cpus: 2 }), key);
  assert.notEqual(await store.key({ ...box('a'), disks: box('a').disks.slice(0, 1) }), key);
  fs.appendFileSync(path.join(dir, 'initrd'), ' rebuilt');
  assert.notEqual(await store.key(box('a')), key, 'a new initramfs (agent) makes a new template');
});

test('a restore that ran out of time keeps the template; restores that keep timing out make the shape boot cold for a while', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-ttime-'));
  after(() => fs.rmSync(home, { recursive: true, force: true }));
  const store = new TemplateStore(home, new QemuDriver());
  const config = box('a');
  const key = await store.key(config);
  const tdir = path.join(home, 'templates', key);
  fs.mkdirSync(tdir, { recursive: true });
  fs.writeFileSync(path.join(tdir, 'state'), 'saved devices');
  fs.writeFileSync(path.join(tdir, 'ram'), '');
  fs.truncateSync(path.join(tdir, 'ram'), config.memoryMib * 1024 * 1024);
  fs.chmodSync(path.join(tdir, 'ram'), 0o444);
  const reasons: string[] = [];
  const template = await store.ensure(config, (why) => reasons.push(why));
  assert.ok(template, reasons.join('; '));

  store.restoreTimedOut(template, 'the VM did not load the saved state within 10 s');
  assert.ok(await store.ensure(config, (why) => reasons.push(why)), 'one timeout: the template is still used');
  store.restoreTimedOut(template, 'the VM did not load the saved state within 10 s');
  assert.equal(await store.ensure(config, (why) => reasons.push(why)), undefined);
  assert.match(reasons.at(-1)!, /failed 2 times \(last: the VM did not load the saved state within 10 s\); booting cold until /);
  assert.equal(fs.readFileSync(path.join(tdir, 'state'), 'utf8'), 'saved devices', 'the files stay');
  assert.equal(fs.statSync(path.join(tdir, 'ram')).size, config.memoryMib * 1024 * 1024);

  store.restoredFine(template);
  assert.ok(await store.ensure(config, () => undefined), 'a restore that works again clears the record');
});
