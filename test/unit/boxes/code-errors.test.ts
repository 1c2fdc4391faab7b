// Uncaught-error parsing: Python tracebacks (plain, chained, syntax errors) and Node stacks, as the interpreters print them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNodeError, parsePythonError } from '../../../src/boxes/code-errors.js';

test('python: the exception type, message and traceback', () => {
  const tb = 'Traceback (most recent call last):\n  File "<stdin>", line 3, in <module>\n  File "<stdin>", line 2, in f\nZeroDivisionError: division by zero';
  assert.deepEqual(parsePythonError(`some output\n${tb}\n`), { name: 'ZeroDivisionError', message: 'division by zero', traceback: tb });
});

test('python: a chained exception is the last one, with the whole chain as traceback; multi-line messages and no message', () => {
  const chain = 'Traceback (most recent call last):\n  File "<stdin>", line 2, in <module>\nKeyError: \'k\'\n\n'
    + 'The above exception was the direct cause of the following exception:\n\n'
    + 'Traceback (most recent call last):\n  File "<stdin>", line 4, in <module>\nValueError: multi\nline';
  assert.deepEqual(parsePythonError(chain), { name: 'ValueError', message: 'multi\nline', traceback: chain });
  const bare = 'Traceback (most recent call last):\n  File "<stdin>", line 2, in <module>\nMyErr';
  assert.deepEqual(parsePythonError(bare), { name: 'MyErr', message: '', traceback: bare });
  const dotted = 'Traceback (most recent call last):\n  File "<stdin>", line 1, in <module>\n    json.loads("{")\n    ^^^^^\njson.decoder.JSONDecodeError: Expecting property name';
  assert.equal(parsePythonError(dotted)?.name, 'json.decoder.JSONDecodeError');
});

test('python: a syntax error has no Traceback header', () => {
  const se = '  File "<stdin>", line 1\n    x = (\n        ^\nSyntaxError: \'(\' was never closed';
  assert.deepEqual(parsePythonError(`${se}\n`), { name: 'SyntaxError', message: "'(' was never closed", traceback: se });
});

test('python: stderr without a traceback gives no error', () => {
  assert.equal(parsePythonError('warning: something\n'), undefined);
  assert.equal(parsePythonError(''), undefined);
});

test('node: name, message and stack up to the last frame; error codes and properties', () => {
  const stderr = "[stdin]:1\nfunction f(){ throw new TypeError('bad thing') }\n              ^\n\nTypeError: bad thing\n    at f ([stdin]:1:21)\n"
    + '    at [stdin]:2:1\n    at node:internal/main/eval_stdin:32:5\n\nNode.js v20.20.2\n';
  assert.deepEqual(parseNodeError(stderr), {
    name: 'TypeError', message: 'bad thing',
    traceback: 'TypeError: bad thing\n    at f ([stdin]:1:21)\n    at [stdin]:2:1\n    at node:internal/main/eval_stdin:32:5',
  });
  const withProps = "Error: x\n    at [stdin]:1:9\n    ... 7 lines matching cause stack trace ...\n    at endReadableNT (node:internal/streams/readable:1698:12) {\n  code: 'E1'\n}\n";
  assert.equal(parseNodeError(withProps)?.traceback, 'Error: x\n    at [stdin]:1:9\n    ... 7 lines matching cause stack trace ...\n    at endReadableNT (node:internal/streams/readable:1698:12)');
  assert.equal(parseNodeError('Error [ERR_X]: coded\n    at a (b:1:1)\n')?.name, 'Error');
});

test('node: a thrown non-Error gives its printed value', () => {
  const stderr = "[stdin]:1\nthrow 'plain'\n^\nplain\n(Use `node --trace-uncaught ...` to show where the exception was thrown)\n\nNode.js v20.20.2\n";
  assert.deepEqual(parseNodeError(stderr), { name: 'Uncaught', message: 'plain', traceback: "[stdin]:1\nthrow 'plain'\n^\nplain" });
  assert.equal(parseNodeError('nothing here\n'), undefined);
});
