// WWW-Authenticate parsing, table-driven.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseChallenges } from '../../../src/images/registry/challenge.js';

const cases: [string, ReturnType<typeof parseChallenges>][] = [
  ['Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
    [{ scheme: 'bearer', params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/alpine:pull' } }]],
  ['Basic realm="basic-realm"', [{ scheme: 'basic', params: { realm: 'basic-realm' } }]],
  ['Basic realm="a", Bearer realm="http://127.0.0.1:1/t",service=s', [
    { scheme: 'basic', params: { realm: 'a' } },
    { scheme: 'bearer', params: { realm: 'http://127.0.0.1:1/t', service: 's' } },
  ]],
  ['bearer  Realm = "x" , Service="y"', [{ scheme: 'bearer', params: { realm: 'x', service: 'y' } }]],
  ['Bearer realm="with \\"quote\\" and, comma",error="insufficient_scope"', [{ scheme: 'bearer', params: { realm: 'with "quote" and, comma', error: 'insufficient_scope' } }]],
  ['Bearer realm="r",scope="repository:a:pull repository:b:pull"', [{ scheme: 'bearer', params: { realm: 'r', scope: 'repository:a:pull repository:b:pull' } }]],
  ['Basic', [{ scheme: 'basic', params: {} }]],
  ['', []],
  [',,  ,', []],
];

for (const [header, want] of cases) {
  test(`parses ${JSON.stringify(header)}`, () => {
    assert.deepEqual(parseChallenges(header), want);
  });
}
