// Platform selection from multi-platform indexes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import type { ImageIndex, Platform } from '../../../src/images/manifest.js';
import { selectPlatform } from '../../../src/images/platform.js';

const d = (n: number, platform?: Platform) => ({ mediaType: 'm', digest: `sha256:${String(n).repeat(64).slice(0, 64)}`, size: 1, ...(platform ? { platform } : {}) });
const idx = (...m: ReturnType<typeof d>[]): ImageIndex => ({ kind: 'index', mediaType: 'i', manifests: m });

test('picks linux/amd64 among several', () => {
  const i = idx(d(1, { os: 'linux', architecture: 'arm64', variant: 'v8' }), d(2, { os: 'linux', architecture: 'amd64' }), d(3, { os: 'windows', architecture: 'amd64' }));
  assert.equal(selectPlatform(i, 'x').digest, d(2).digest);
});

test('prefers an amd64 entry without variant, and skips attestation entries', () => {
  const i = idx(d(4, { os: 'unknown', architecture: 'unknown' }), d(5, { os: 'linux', architecture: 'amd64', variant: 'v3' }), d(6, { os: 'linux', architecture: 'amd64' }));
  assert.equal(selectPlatform(i, 'x').digest, d(6).digest);
  assert.equal(selectPlatform(idx(d(5, { os: 'linux', architecture: 'amd64', variant: 'v3' })), 'x').digest, d(5).digest);
});

test('no linux/amd64: an Image error listing the platforms present', () => {
  const i = idx(d(1, { os: 'linux', architecture: 'arm64', variant: 'v8' }), d(2, { os: 'linux', architecture: 's390x' }), d(3));
  assert.throws(() => selectPlatform(i, 'reg/app:1'), (e: unknown) => {
    assert.ok(BoxliteError.is(e) && e.code === 'Image');
    assert.match(e.message, /reg\/app:1 has no linux\/amd64 image \(it has: linux\/arm64\/v8, linux\/s390x, unknown\)/);
    return true;
  });
});

test('an empty index is an Image error', () => {
  assert.throws(() => selectPlatform(idx(), 'e'), /no entries/);
});
