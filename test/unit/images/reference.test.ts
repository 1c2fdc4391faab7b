// Reference parsing and normalisation, table-driven against Docker's rules.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { normalizeReference, resolveReference } from '../../../src/images/reference.js';

const D = `sha256:${'a'.repeat(64)}`;

const valid: [string, string][] = [
  ['alpine', 'docker.io/library/alpine:latest'],
  ['alpine:3.20', 'docker.io/library/alpine:3.20'],
  ['library/alpine', 'docker.io/library/alpine:latest'],
  ['myorg/app:v1', 'docker.io/myorg/app:v1'],
  ['docker.io/alpine', 'docker.io/library/alpine:latest'],
  ['index.docker.io/library/alpine:edge', 'docker.io/library/alpine:edge'],
  ['ghcr.io/org/app', 'ghcr.io/org/app:latest'],
  ['ghcr.io/org/sub/app:1.2.3-rc_1', 'ghcr.io/org/sub/app:1.2.3-rc_1'],
  ['localhost/app', 'localhost/app:latest'],
  ['localhost:5000/app:t', 'localhost:5000/app:t'],
  ['127.0.0.1:5000/repo:tag', '127.0.0.1:5000/repo:tag'],
  ['[::1]:5000/repo', '[::1]:5000/repo:latest'],
  [`alpine@${D}`, `docker.io/library/alpine@${D}`],
  [`alpine:3.20@${D}`, `docker.io/library/alpine:3.20@${D}`],
  [`host:5000/a/b@${D}`, `host:5000/a/b@${D}`],
  ['a_b-c__d/e.f', 'docker.io/a_b-c__d/e.f:latest'],
  ['Registry.Example.com/x', 'Registry.Example.com/x:latest'],
];

const invalid: [string, RegExp][] = [
  ['', /empty/],
  ['Alpine', /lowercase/],
  ['alpine:', /tag/],
  ['alpine:-x', /tag/],
  [`alpine@sha256:${'a'.repeat(10)}`, /digest/],
  ['alpine@md5:abc', /digest/],
  ['a//b', /component/],
  ['-a', /component/],
  ['a b', /whitespace/],
  ['host:99999/x', /registry/],
  ['ghcr.io/', /empty/],
  [`x/${'a'.repeat(300)}`, /longer than 255/],
  ['a/b:t:t', /component|tag/],
  ['a.b_c/e', /registry/],
  // hostile review #13: a capitalised first component is no registry host, and two tags are no reference.
  ['UPPER/case', /repository name "UPPER\/case" must be lowercase/],
  ['Org/app:1', /must be lowercase/],
  ['a:b:c', /component "a:b"/],
];

for (const [input, want] of valid) {
  test(`normalises ${JSON.stringify(input)} to ${want}`, () => {
    assert.equal(normalizeReference(input).toString(), want);
  });
}

for (const [input, why] of invalid) {
  test(`refuses ${JSON.stringify(input)}`, () => {
    assert.throws(() => normalizeReference(input), (e: unknown) => {
      assert.ok(BoxliteError.is(e) && e.code === 'InvalidArgument', String(e));
      assert.match(e.message, why);
      assert.ok(e.message.includes(JSON.stringify(input)), 'the message names the reference');
      return true;
    });
  });
}

test('parts of a reference', () => {
  const r = normalizeReference(`127.0.0.1:5000/a/b:t@${D}`);
  assert.deepEqual([r.registry, r.repository, r.tag, r.digest, r.manifestKey], ['127.0.0.1:5000', 'a/b', 't', D, D]);
  assert.equal(normalizeReference('x').manifestKey, 'latest');
});

const search: [string, string[], string[]][] = [
  ['alpine', [], ['docker.io/library/alpine:latest']],
  ['alpine', ['127.0.0.1:5000'], ['127.0.0.1:5000/alpine:latest', 'docker.io/library/alpine:latest']],
  ['app:1', ['ghcr.io/myorg', 'quay.io'], ['ghcr.io/myorg/app:1', 'quay.io/app:1', 'docker.io/library/app:1']],
  ['team/app', ['ghcr.io/myorg/'], ['ghcr.io/myorg/team/app:latest', 'docker.io/team/app:latest']],
  ['alpine', ['docker.io'], ['docker.io/library/alpine:latest']],
  ['ghcr.io/x/y', ['127.0.0.1:5000'], ['ghcr.io/x/y:latest']],
];

for (const [input, registries, want] of search) {
  test(`search order for ${input} with imageRegistries ${JSON.stringify(registries)}`, () => {
    assert.deepEqual(resolveReference(input, registries).map(String), want);
  });
}

test('a bad imageRegistries entry is an InvalidArgument naming it', () => {
  assert.throws(() => resolveReference('alpine', ['not a host']), /imageRegistries entry "not a host"/);
});
