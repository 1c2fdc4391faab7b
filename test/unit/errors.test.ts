// Turning any failure into a BoxliteError at the edge of a public call.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { asBoxliteError, boxliteError, BoxliteError, isDiskFull } from '../../src/errors.js';

const errno = (code: string): Error => Object.assign(new Error(`${code}: failed`), { code });

test('a full disk is told by ENOSPC, EDQUOT or SQLITE_FULL, also as a cause', () => {
  assert.ok(isDiskFull(errno('ENOSPC')));
  assert.ok(isDiskFull(errno('EDQUOT')));
  assert.ok(isDiskFull(errno('SQLITE_FULL')));
  assert.ok(isDiskFull(new Error('wrapped', { cause: errno('ENOSPC') })));
  assert.ok(!isDiskFull(errno('EACCES')));
  assert.ok(!isDiskFull('ENOSPC'));
});

test('asBoxliteError keeps BoxliteErrors and aborts, and says what failed where for the rest', () => {
  const own = boxliteError('NotFound', 'no box');
  assert.equal(asBoxliteError(own, 'starting box X', '/h'), own);
  const abort = new DOMException('aborted', 'AbortError');
  assert.equal(asBoxliteError(abort, 'pulling', '/h'), abort);

  const full = asBoxliteError(errno('ENOSPC'), 'starting box X', '/home/me/.boxlite');
  assert.ok(full instanceof BoxliteError);
  assert.equal(full.code, 'Storage');
  assert.match(full.message, /^starting box X failed: no space left on the disk holding \/home\/me\/\.boxlite; free some space/);

  const db = asBoxliteError(errno('SQLITE_IOERR'), 'creating box', '/h');
  assert.equal(db.code, 'Database');
  assert.match(db.message, /creating box failed: the state database in \/h answered SQLITE_IOERR/);

  const other = asBoxliteError(new TypeError('x is undefined'), 'removing box "a"', '/h');
  assert.deepEqual([other.code, other.message], ['Internal', 'removing box "a" failed: x is undefined']);
  assert.ok(other.cause instanceof TypeError);
});
