// qcow2 headers: the virtual size and the backing file's name, read from files qemu-img made and from made-up bytes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { parseQcow2Header, readQcow2Header } from '../../../src/vmm/qemu/qcow2.js';

const noQemuImg = (() => {
  try { execFileSync('qemu-img', ['--version'], { stdio: 'ignore' }); return undefined; } catch { return 'qemu-img is not installed (qemu-utils; `npx boxlite setup` installs it)'; }
})();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-qcow2-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('the header of an overlay qemu-img made names its backing file as given, and the size it took from it', { skip: noQemuImg }, async () => {
  fs.writeFileSync(path.join(dir, 'base.raw'), '');
  fs.truncateSync(path.join(dir, 'base.raw'), 64 * 1024 * 1024);
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', 'base.raw', path.join(dir, 'top.qcow2')]);
  assert.deepEqual(await readQcow2Header(path.join(dir, 'top.qcow2')), { virtualSizeBytes: 64 * 1024 * 1024, backingFile: 'base.raw' });
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(dir, 'alone.qcow2'), '1G']);
  assert.deepEqual(await readQcow2Header(path.join(dir, 'alone.qcow2')), { virtualSizeBytes: 1024 ** 3, backingFile: undefined });
});

test('bytes that are not a sound qcow2 header are refused', () => {
  const header = (f: (b: Buffer) => void): Buffer => {
    const b = Buffer.alloc(512);
    b.writeUInt32BE(0x514649fb, 0);
    b.writeUInt32BE(3, 4);
    f(b);
    return b;
  };
  const cases: Array<[string, Buffer, RegExp]> = [
    ['a raw disk', Buffer.alloc(512), /bad magic/],
    ['too short', header(() => undefined).subarray(0, 40), /bad magic/],
    ['version 4', header((b) => b.writeUInt32BE(4, 4)), /version 4/],
    ['a backing name past the bytes', header((b) => { b.writeBigUInt64BE(500n, 8); b.writeUInt32BE(100, 16); }), /out of the header/],
  ];
  for (const [what, bytes, error] of cases) assert.throws(() => parseQcow2Header(bytes), error, what);
  const named = header((b) => { b.writeBigUInt64BE(200n, 8); b.writeUInt32BE(5, 16); b.writeBigUInt64BE(4096n, 24); b.write('x.raw', 200); });
  assert.deepEqual(parseQcow2Header(named), { virtualSizeBytes: 4096, backingFile: 'x.raw' });
});
