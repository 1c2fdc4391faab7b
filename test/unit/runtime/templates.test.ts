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
  assert.notEqual(await store.key({ ...box('a'), memoryMib: 512 }), key);
  assert.notEqual(await store.key({ ...box('a'), cpus: 2 }), key);
  assert.notEqual(await store.key({ ...box('a'), disks: box('a').disks.slice(0, 1) }), key);
  fs.appendFileSync(path.join(dir, 'initrd'), ' rebuilt');
  assert.notEqual(await store.key(box('a')), key, 'a new initramfs (agent) makes a new template');
});
