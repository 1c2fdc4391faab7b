// Ending a box's unrecorded processes by the paths their command lines name (real processes, no mocks).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { test } from 'node:test';
import { endByMarkers } from '../../../src/state/box-processes.js';

test('endByMarkers kills the processes naming a marker and leaves the others running', async () => {
  const marker = `/tmp/boxlite-marker-${randomUUID()}/`;
  const named = spawn('bash', ['-c', 'sleep 60; true', `${marker}upper.ext4`], { stdio: 'ignore' });
  const other = spawn('bash', ['-c', 'sleep 60; true', '/tmp/some-other-box/upper.ext4'], { stdio: 'ignore' });
  await Promise.all([once(named, 'spawn'), once(other, 'spawn')]);
  try {
    assert.equal(endByMarkers([marker]), 1);
    const [, signal] = await once(named, 'exit') as [number | null, string | null];
    assert.equal(signal, 'SIGKILL');
    assert.equal(other.exitCode, null, 'the process of another box still runs');
    assert.equal(other.signalCode, null);
  } finally {
    named.kill('SIGKILL');
    other.kill('SIGKILL');
  }
});
