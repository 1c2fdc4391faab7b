// The launch wrapper of every child of a box, run for real: uid set before the program, descriptors above 2
// closed, the program exec'd in place, and a child whose parent is already gone does not start.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { launchArgv, PARENT_GONE_EXIT } from '../../../src/vmm/launch-argv.js';

const run = (argv: [string, string[]], stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'pipe', 'pipe']) => spawnSync(argv[0], argv[1], { stdio, encoding: 'utf8' });

test('the program runs in place with only stdin, stdout and stderr, whatever the parent had open', () => {
  const file = path.join(os.tmpdir(), `boxlite-launch-${process.pid}`);
  const fd = fs.openSync(file, 'w');
  try {
    // spawnSync's extra stdio entry puts the file at fd 3 of the child, without close-on-exec.
    const r = run(launchArgv({ command: 'sh', args: ['-c', 'ls /proc/$$/fd; echo pid $$'], dieWithParent: false }), ['ignore', 'pipe', 'pipe', fd]);
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(r.stdout.trim().split('\n').slice(0, -1).sort(), ['0', '1', '2']);
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
});

test('a child that dies with its parent refuses to start once that parent is not its parent any more', () => {
  // spawnSync's child is this process's child: launchArgv names this pid, so it runs ...
  assert.equal(run(launchArgv({ command: 'true', args: [], dieWithParent: true })).status, 0);
  // ... but started from a shell in between, its parent is not the pid it was told: as if the owner had died.
  const [cmd, args] = launchArgv({ command: 'true', args: [], dieWithParent: true });
  assert.equal(run(['sh', ['-c', '"$@"; echo $?', 'sh', cmd, ...args]]).stdout.trim(), String(PARENT_GONE_EXIT));
});

test('runAs sets the uid and gid before the program starts', { skip: process.getuid?.() !== 0 && 'needs root to change uid' }, () => {
  const r = run(launchArgv({ command: 'sh', args: ['-c', 'id -u; id -g; id -G'], dieWithParent: true, runAs: 2147483646 }));
  assert.deepEqual(r.stdout.trim().split('\n'), ['2147483646', '2147483646', '2147483646']);
});
