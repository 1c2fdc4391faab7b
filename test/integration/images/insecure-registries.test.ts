// A runtime reaches a plain-http registry it names in insecureRegistries (Bug 6: the unreachable-registry error told
// users to set it, but BoxliteRuntime could not take it). The loopback test registry is named by its IPv4-mapped IPv6
// address, which BoxLite does not treat as loopback, so only insecureRegistries makes the pull use http.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { BoxliteRuntime } from '../../../src/runtime/runtime.js';
import { busyboxImage } from '../../fixtures/images.js';
import { tempHome } from '../../helpers/image-homes.js';
import { pushImage, registryUnavailable, startRegistry, type TestRegistry } from '../../helpers/registry.js';

const skip = registryUnavailable();
let reg: TestRegistry;
before(async () => { if (!skip) reg = await startRegistry('none'); });
after(async () => { await reg?.close(); });

test('a runtime with insecureRegistries pulls over http from the registry the error named', { skip, timeout: 300_000 }, async () => {
  await pushImage(reg, 'test/insecure', 'v1', await busyboxImage());
  const host = `[::ffff:127.0.0.1]:${reg.host.split(':')[1]}`;
  const ref = `${host}/test/insecure:v1`;

  await using plain = new BoxliteRuntime({ homeDir: tempHome(), snapshots: false });
  const err = await plain.images.pull(ref).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof BoxliteError, `pull over https should fail, got ${String(err)}`);
  assert.match(err.message, new RegExp(`list "${host.replace(/[[\]]/g, '\\$&')}" in insecureRegistries`));

  await using insecure = new BoxliteRuntime({ homeDir: tempHome(), snapshots: false, insecureRegistries: [host] });
  const pulled = await insecure.images.pull(ref);
  assert.equal(pulled.reference, ref);
  assert.deepEqual((await insecure.images.list()).map((i) => i.reference), [ref]);
});

test('a runtime refuses an insecureRegistries entry that is not a host[:port]', () => {
  assert.throws(() => new BoxliteRuntime({ homeDir: tempHome(), insecureRegistries: ['http://r:5000'] }),
    (e: unknown) => e instanceof BoxliteError && e.code === 'InvalidArgument' && /insecureRegistries entry "http:\/\/r:5000"/.test(e.message));
});
