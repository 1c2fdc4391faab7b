// Standard AbortErrors, racing a promise against a signal, and one abort shared by several callers (pure logic).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boxliteError } from '../../../src/errors.js';
import { abortError, isAbortError, raceAbort, SharedAbort } from '../../../src/util/abort.js';

test('abortError: the reason when it is an AbortError, else a DOMException AbortError with the reason as cause', () => {
  const plain = new AbortController();
  plain.abort();
  assert.equal(abortError(plain.signal, 'x'), plain.signal.reason);
  const timeout = new DOMException('too slow', 'TimeoutError');
  const timed = new AbortController();
  timed.abort(timeout);
  const e = abortError(timed.signal, 'starting box B');
  assert.ok(e instanceof DOMException && e.name === 'AbortError');
  assert.equal(e.message, 'starting box B was aborted');
  assert.equal(e.cause, timeout);
  assert.ok(isAbortError(e) && !isAbortError(new Error('x')));
});

test('raceAbort: settles as the promise, or rejects with an AbortError when the signal aborts first', async () => {
  assert.equal(await raceAbort(Promise.resolve(1), new AbortController().signal, 'x'), 1);
  await assert.rejects(raceAbort(Promise.reject(new Error('no')), new AbortController().signal, 'x'), /no/);
  await assert.rejects(raceAbort(new Promise(() => undefined), AbortSignal.abort(), 'x'), (e: unknown) => isAbortError(e));
  const c = new AbortController();
  const racing = raceAbort(new Promise(() => undefined), c.signal, 'x');
  c.abort();
  await assert.rejects(racing, (e: unknown) => isAbortError(e));
});

test('SharedAbort aborts once every caller that joined aborted; a caller without a signal keeps it going', () => {
  const [a, b] = [new AbortController(), new AbortController()];
  const shared = new SharedAbort();
  shared.join(a.signal);
  shared.join(b.signal);
  a.abort();
  assert.equal(shared.signal.aborted, false);
  b.abort();
  assert.equal(shared.signal.aborted, true);

  const forever = new SharedAbort();
  const c = new AbortController();
  forever.join(c.signal);
  forever.join(undefined);
  c.abort();
  assert.equal(forever.signal.aborted, false);
});

test('BoxliteError.name is plain; the variant is in code', () => {
  const e = boxliteError('NotFound', 'no box');
  assert.equal(e.name, 'BoxliteError');
  assert.equal(e.code, 'NotFound');
  assert.match(String(e), /^BoxliteError: no box$/);
});
