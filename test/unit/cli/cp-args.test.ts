// `boxlite cp` operands: BOX:PATH against host paths and `-`, and the errors for two hosts or two boxes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCpArgs, parseCpOperand } from '../../../src/cli/cp-args.js';

test('operands: BOX:PATH when a ":" comes before any "/"', () => {
  const cases: Array<[string, unknown]> = [
    ['web:/etc/hosts', { kind: 'box', box: 'web', path: '/etc/hosts' }],
    ['web:etc', { kind: 'box', box: 'web', path: 'etc' }],
    ['0a1b2c:/dir/.', { kind: 'box', box: '0a1b2c', path: '/dir/.' }],
    ['web:/a:b', { kind: 'box', box: 'web', path: '/a:b' }],
    ['./a:b', { kind: 'host', path: './a:b' }],
    ['/abs/a:b', { kind: 'host', path: '/abs/a:b' }],
    ['/abs/file', { kind: 'host', path: '/abs/file' }],
    ['rel/file', { kind: 'host', path: 'rel/file' }],
    ['file', { kind: 'host', path: 'file' }],
    ['dir/.', { kind: 'host', path: 'dir/.' }],
    ['-', { kind: 'stream' }],
  ];
  for (const [arg, want] of cases) assert.deepEqual(parseCpOperand(arg), want, arg);
});

test('operands that name no box or no path are InvalidArgument saying so', () => {
  const cases: Array<[string, RegExp]> = [
    [':/x', /names no box before ':'.*\.\/:\/x for a host path/],
    ['web:', /names no path in box "web" after ':'; e\.g\. web:\//],
    ['', /an empty path was given/],
  ];
  for (const [arg, re] of cases) {
    assert.throws(() => parseCpOperand(arg), (e: Error & { code?: string }) => e.code === 'InvalidArgument' && re.test(e.message), arg);
  }
});

test('plans: out of a box to a host path or stdout, into a box from a host path or stdin', () => {
  assert.deepEqual(parseCpArgs('web:/etc/hosts', './hosts'), { direction: 'out', host: { kind: 'host', path: './hosts' }, box: 'web', guestPath: '/etc/hosts' });
  assert.deepEqual(parseCpArgs('web:/dir', '-'), { direction: 'out', host: { kind: 'stream' }, box: 'web', guestPath: '/dir' });
  assert.deepEqual(parseCpArgs('/tmp/x', 'web:/x'), { direction: 'in', host: { kind: 'host', path: '/tmp/x' }, box: 'web', guestPath: '/x' });
  assert.deepEqual(parseCpArgs('-', 'web:/dst'), { direction: 'in', host: { kind: 'stream' }, box: 'web', guestPath: '/dst' });
});

test('two host sides or two boxes are InvalidArgument naming the forms', () => {
  const forms = /`boxlite cp BOX:PATH HOST_PATH\|-` or `boxlite cp HOST_PATH\|- BOX:PATH`/;
  const cases: Array<[string, string, RegExp]> = [
    ['./a', '/tmp/b', /neither "\.\/a" nor "\/tmp\/b" is BOX:PATH/],
    ['-', '-', /`boxlite cp - -` names no box/],
    ['-', './x:y', /neither "-" nor "\.\/x:y" is BOX:PATH/],
    ['a:/x', 'b:/y', /copying between boxes \(a:\/x to b:\/y\) is not supported/],
  ];
  for (const [src, dest, re] of cases) {
    assert.throws(() => parseCpArgs(src, dest), (e: Error & { code?: string }) => e.code === 'InvalidArgument' && re.test(e.message) && forms.test(e.message), `${src} ${dest}`);
  }
});
