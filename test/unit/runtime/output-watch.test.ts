// OutputWatch (behind execution.waitForOutput): kept output is matched first, then live lines; bounded; ends and errors.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { OutputWatch, RECENT_OUTPUT_BYTES } from '../../../src/runtime/output-watch.js';

test('matches a line already output, and lines split across chunks and streams as they come', async () => {
  const w = new OutputWatch('`srv`');
  w.push('stdout', Buffer.from('boot\nready on 80\n'));
  assert.equal((await w.waitFor(/ready on (\d+)/)).match[1], '80');
  const later = w.waitFor(/^listening (\w+)$/);
  w.push('stderr', Buffer.from('liste'));
  w.push('stdout', Buffer.from('noise\r\n'));
  w.push('stderr', Buffer.from('ning now\r\n'));
  assert.deepEqual({ ...(await later), match: undefined }, { stream: 'stderr', line: 'listening now', match: undefined });
});

test('a global regex and a literal string pattern match every line the same way', async () => {
  const w = new OutputWatch('`x`');
  w.push('stdout', Buffer.from('a.b\nab\n'));
  const g = /a/g;
  assert.equal((await w.waitFor(g)).line, 'a.b');
  assert.equal((await w.waitFor(g)).line, 'a.b', 'no lastIndex carried over');
  assert.equal((await w.waitFor('a.b')).line, 'a.b');
  w.end({ exitCode: 0 });
  await assert.rejects(w.waitFor('a+b'), (e: unknown) => BoxliteError.is(e) && e.code === 'Run' && /exited with code 0/.test(e.message));
});

test('keeps only the recent window: a line cut at its start is not matched, later lines are', async () => {
  const w = new OutputWatch('`x`');
  w.push('stdout', Buffer.from('MARKER-start-of-a-long-line '));
  w.push('stdout', Buffer.alloc(RECENT_OUTPUT_BYTES, 'x'));
  w.push('stdout', Buffer.from(' end\nlast line\n'));
  await assert.rejects(w.waitFor(/MARKER|end$/, { timeoutMs: 10 }), (e: unknown) => BoxliteError.is(e) && /within 10 ms/.test(e.message));
  assert.equal((await w.waitFor(/^last/)).line, 'last line');
});

test('a box failure rejects pending waits with its code; bad arguments are InvalidArgument', async () => {
  const w = new OutputWatch('`x`');
  const pending = w.waitFor(/never/);
  w.end({ error: new BoxliteError('Portal', 'the VM exited') });
  await assert.rejects(pending, (e: unknown) => BoxliteError.is(e) && e.code === 'Portal' && /the box failed before .*the VM exited/.test(e.message));
  assert.throws(() => w.waitFor(''), (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidArgument');
  assert.throws(() => w.waitFor(/x/, { timeoutMs: 0 }), (e: unknown) => BoxliteError.is(e) && e.code === 'InvalidArgument');
});
