// Scheme choice: plain http for loopback and listed insecure registries, https otherwise.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLoopbackRegistry, schemeFor } from '../../../src/images/registry/http.js';

const cases: [string, string[], 'http' | 'https'][] = [
  ['127.0.0.1:5000', [], 'http'],
  ['127.3.4.5', [], 'http'],
  ['localhost:5000', [], 'http'],
  ['localhost', [], 'http'],
  ['[::1]:5000', [], 'http'],
  ['docker.io', [], 'https'],
  ['10.0.0.5:5000', [], 'https'],
  ['10.0.0.5:5000', ['10.0.0.5:5000'], 'http'],
  ['reg.lan:5000', ['reg.lan'], 'http'],
  ['reg.lan:5000', ['other.lan'], 'https'],
  ['localhost.evil.com', [], 'https'],
];

for (const [registry, insecure, want] of cases) {
  test(`${registry} with insecureRegistries ${JSON.stringify(insecure)} → ${want}`, () => {
    assert.equal(schemeFor(registry, insecure), want);
  });
}

test('loopback detection', () => {
  assert.equal(isLoopbackRegistry('127.0.0.1'), true);
  assert.equal(isLoopbackRegistry('128.0.0.1'), false);
});
