// The project's Python image has the full standard library (Bug 13: it was python3-minimal, without json or
// http.server, so the README's http.server example failed): a box from it imports json, http.server and sqlite3.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { pushPythonImage, pythonImageUnavailable } from '../fixtures/python-image.js';
import { sh, testRuntime } from '../helpers/boxes.js';
import { registryUnavailable, startRegistry, type TestRegistry } from '../helpers/registry.js';

const skip = registryUnavailable() ?? pythonImageUnavailable();
let reg: TestRegistry;
before(async () => { if (!skip) reg = await startRegistry('none'); });
after(async () => { await reg?.close(); });

test('a box from the Python image imports json, http.server and sqlite3', { skip, timeout: 900_000 }, async () => {
  const ref = await pushPythonImage(reg);
  const box = await testRuntime().create({ rootfs: { image: ref }, cpus: 1, memoryMib: 256 });
  const r = await sh(box, 'python3 -c "import json, http.server, sqlite3; print(json.dumps({\'ok\': sqlite3.sqlite_version != \'\'}))"');
  assert.deepEqual([r.exitCode, r.stdout, r.stderr], [0, '{"ok": true}\n', '']);
  await box.stop();
});
