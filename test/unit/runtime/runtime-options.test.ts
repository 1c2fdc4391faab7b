// BoxliteOptions' image options (Bug 6): each option an image error names is validated at the runtime's edge.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { resolveRuntimeOptions } from '../../../src/runtime/runtime-options.js';
import type { BoxliteOptions } from '../../../src/runtime/options.js';

describe('runtime image options', () => {
  it('passes valid options through', () => {
    const o = resolveRuntimeOptions({
      imageRegistries: ['ghcr.io/myorg'], insecureRegistries: ['registry.internal:5000', '[::ffff:127.0.0.1]:5000'],
      credentials: { 'registry.internal:5000': { username: 'u', password: 'p' } }, registryTimeoutMs: 5000,
    });
    assert.deepEqual(o.insecureRegistries, ['registry.internal:5000', '[::ffff:127.0.0.1]:5000']);
    assert.equal(o.registryTimeoutMs, 5000);
    assert.deepEqual(resolveRuntimeOptions({}), { imageRegistries: [], insecureRegistries: [] });
  });

  const bad: Array<[string, unknown, RegExp]> = [
    ['insecureRegistries not an array', { insecureRegistries: 'r:5000' }, /^insecureRegistries must be an array of strings/],
    ['insecureRegistries entry with a path', { insecureRegistries: ['r:5000/ns'] }, /^insecureRegistries entry "r:5000\/ns" is not a registry host or host:port/],
    ['insecureRegistries entry with a bad port', { insecureRegistries: ['r:99999'] }, /insecureRegistries entry "r:99999"/],
    ['imageRegistries entry', { imageRegistries: ['not a host'] }, /^imageRegistries entry "not a host"/],
    ['credentials without a password', { credentials: { 'r:5000': { username: 'u' } } }, /^credentials\["r:5000"\] must be \{ username: string, password: string/],
    ['credentials not an object', { credentials: ['x'] }, /^credentials must map registry hosts/],
    ['registryTimeoutMs zero', { registryTimeoutMs: 0 }, /^registryTimeoutMs must be an integer between 1 and 3600000 \(ms\), got 0/],
    ['registryTimeoutMs fractional', { registryTimeoutMs: 1.5 }, /^registryTimeoutMs must be an integer/],
  ];
  for (const [name, options, message] of bad) {
    it(`refuses ${name}`, () => {
      assert.throws(() => resolveRuntimeOptions(options as BoxliteOptions), (e: unknown) => e instanceof BoxliteError && e.code === 'InvalidArgument' && message.test(e.message));
    });
  }
});
