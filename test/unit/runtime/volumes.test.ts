// --volume flags as docker run -v writes them.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { parseVolumeFlag } from '../../../src/runtime/volumes.js';

test('--volume flags: HOST:GUEST, with :ro or :rw; a relative host path is taken from the current directory', () => {
  assert.deepEqual(parseVolumeFlag('/srv/data:/data'), { hostPath: '/srv/data', guestPath: '/data' });
  assert.deepEqual(parseVolumeFlag('/srv/data:/data:ro'), { hostPath: '/srv/data', guestPath: '/data', readOnly: true });
  assert.deepEqual(parseVolumeFlag('/srv/data:/data:rw'), { hostPath: '/srv/data', guestPath: '/data' });
  assert.deepEqual(parseVolumeFlag('proj:/app'), { hostPath: path.resolve('proj'), guestPath: '/app' });
  assert.throws(() => parseVolumeFlag('/only-one-part'), (e: Error & { code?: string }) => e.code === 'InvalidArgument' && /HOST_DIR:GUEST_DIR/.test(e.message));
});
