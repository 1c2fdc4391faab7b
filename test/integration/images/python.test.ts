// The project's Python image: debootstrapped Debian minbase with python3, pushed to a loopback registry, pulled and converted.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ImageStore, prepareImageRootfs } from '../../../src/images/index.js';
import { debugfs, diskLs } from '../../fixtures/images.js';
import { debootstrapMs, pushPythonImage, pythonImageUnavailable } from '../../fixtures/python-image.js';
import { tempHome } from '../../helpers/image-homes.js';
import { registryUnavailable, startRegistry, type TestRegistry } from '../../helpers/registry.js';

const skip = registryUnavailable() ?? pythonImageUnavailable();
let reg: TestRegistry;
before(async () => { if (!skip) reg = await startRegistry('none'); });
after(async () => { await reg?.close(); });

test('the Python image pulls, unpacks and converts; python3 is in the disk', { skip, timeout: 600_000 }, async (t) => {
  const t0 = performance.now();
  const ref = await pushPythonImage(reg);
  t.diagnostic(`image built and pushed in ${Math.round(performance.now() - t0)} ms (debootstrap: ${debootstrapMs() ?? '?'} ms when the cache was made)`);
  const r = await prepareImageRootfs(new ImageStore({ homeDir: tempHome() }), ref);
  t.diagnostic(`pull ${Math.round(r.timings.pullMs)} ms, unpack ${Math.round(r.timings.unpackMs)} ms, convert ${Math.round(r.timings.convertMs)} ms`);
  assert.deepEqual(r.config.cmd, ['python3']);
  assert.ok(diskLs(r.baseDiskPath, '/usr/bin').has('python3.11'));
  assert.match(debugfs(r.baseDiskPath, 'stat /usr/bin/python3'), /Fast link dest: "python3.11"/);
  assert.match(debugfs(r.baseDiskPath, 'stat /dev/null'), /Type: character special/);
});
