// Mounted templates: a restore that only ran out of time keeps the template's files; repeated ones leave it unused for a while.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { MountedTemplates } from '../../../src/runtime/mounted-templates.js';
import { TemplateStore } from '../../../src/runtime/templates.js';
import { QemuDriver } from '../../../src/vmm/qemu/process.js';

const MEMORY_MIB = 256;

// Writes the files of a sound mounted template into `dir`, as save() leaves them.
function writeTemplate(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'state'), 'saved devices');
  fs.writeFileSync(path.join(dir, 'upper.ext4'), 'a disk');
  fs.writeFileSync(path.join(dir, 'ram'), '');
  fs.truncateSync(path.join(dir, 'ram'), MEMORY_MIB * 1024 * 1024);
  fs.chmodSync(path.join(dir, 'ram'), 0o444);
  fs.writeFileSync(path.join(dir, 'record.json'), JSON.stringify({ format: 1, state: { bytes: 'saved devices'.length, sha256: '' }, memoryMib: MEMORY_MIB }));
}

// A home of its own with one sound mounted template in it.
function freshTemplate(): { mounted: MountedTemplates; dir: string } {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-mounted-'));
  after(() => fs.rmSync(home, { recursive: true, force: true }));
  const dir = path.join(home, 'templates', 'shape', 'mounted', 'rootfs-1g');
  writeTemplate(dir);
  return { mounted: new MountedTemplates(new TemplateStore(home, new QemuDriver()), new QemuDriver()), dir };
}

test('a mounted template whose restore timed out is kept; after two timeouts it is left alone, after a good restore used again', async () => {
  const { mounted, dir } = freshTemplate();
  const template = await mounted.find(dir, MEMORY_MIB);
  assert.ok(template, 'a sound template is found');

  mounted.restoreTimedOut(template, 'the VM did not load the saved state within 10 s');
  assert.ok(await mounted.find(dir, MEMORY_MIB), 'one timeout: still used');
  mounted.restoreTimedOut(template, 'the VM did not load the saved state within 10 s');
  assert.equal(await mounted.find(dir, MEMORY_MIB), undefined, 'two timeouts: not used for now');
  assert.equal(await mounted.wanted(dir), false, 'nor made again');
  assert.equal(fs.readFileSync(path.join(dir, 'state'), 'utf8'), 'saved devices', 'its files stay');
  assert.equal(fs.statSync(path.join(dir, 'ram')).size, MEMORY_MIB * 1024 * 1024);

  mounted.restoredFine(template);
  assert.ok(await mounted.find(dir, MEMORY_MIB), 'a good restore forgets the timeouts');
});

test('a mounted template QEMU could not restore is deleted, and counted', async () => {
  const { mounted, dir } = freshTemplate();
  await mounted.discard({ dir }, 'QEMU refused the state');
  assert.equal(fs.existsSync(dir), false);
  assert.equal(await mounted.wanted(dir), true, 'one failure: made again at a later start');
  writeTemplate(dir);
  await mounted.discard({ dir }, 'QEMU refused the state');
  assert.equal(await mounted.wanted(dir), false, 'two failures: not made again for a while');
});
