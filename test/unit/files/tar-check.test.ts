// The entry checks a box's tar stream passes before it is packed again for `boxlite cp BOX:PATH -`.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Header } from 'tar-stream';
import { ArchiveChecker } from '../../../src/files/tar-check.js';

const limits = { maxBytes: 1000, maxFiles: 10 };
const h = (name: string, type: Header['type'] = 'file', more: Partial<Header> = {}): Header =>
  ({ name, type, size: 0, mode: 0o644, mtime: new Date(0), linkname: '', uid: 0, gid: 0, uname: '', gname: '', devmajor: 0, devminor: 0, ...more });

test('passes confined entries, cleaned, with only the fields that describe them', () => {
  const c = new ArchiveChecker('dir', limits, 'box X');
  assert.equal(c.check(h('dir/', 'directory')).name, 'dir/');
  assert.equal(c.check(h('./dir/a', 'file', { size: 10, pax: { path: '../../evil' } })).name, 'dir/a');
  assert.equal(c.check(h('dir/l', 'symlink', { linkname: '/etc' })).linkname, '/etc');
  assert.equal(c.check(h('dir/hard', 'link', { linkname: 'dir/a' })).linkname, 'dir/a');
  assert.equal('pax' in c.check(h('dir/b', 'file', { pax: { path: 'x' } })), false);
  assert.equal(c.bytes, 10);
  const contents = new ArchiveChecker('.', limits, 'box X');
  assert.equal(contents.check(h('./', 'directory')).name, './');
  assert.equal(contents.check(h('./a')).name, './a');
});

test('refuses entries a hostile box could use against whoever extracts the stream', () => {
  const cases: Array<[Header[], RegExp]> = [
    [[h('/etc/passwd')], /is an absolute name/],
    [[h('dir/../../x')], /climbs out of the archive/],
    [[h('other/x')], /is not under "dir"/],
    [[h('dir/l', 'symlink', { linkname: '/etc' }), h('dir/l/passwd')], /lies beneath "dir\/l", a symlink of the same archive/],
    [[h('dir/hard', 'link', { linkname: '/etc/shadow' })], /is an absolute name/],
    [[h('dir/hard', 'link', { linkname: 'dir/nope' })], /no earlier entry/],
    [[h('dir/big', 'file', { size: 1001 })], /more than maxBytes \(1000\)/],
    [Array.from({ length: 11 }, (_, i) => h(`dir/f${i}`)), /more than maxFiles \(10\)/],
    [[h('dir/x\0y')], /holds a NUL byte/],
  ];
  for (const [entries, re] of cases) {
    const c = new ArchiveChecker('dir', limits, 'box X');
    assert.throws(() => { for (const e of entries) c.check(e); }, (e: Error) => re.test(e.message) && /box X sent/.test(e.message), String(re));
  }
});

test('an entry that replaces an archived symlink ends it', () => {
  const c = new ArchiveChecker('.', limits, 'box X');
  c.check(h('l', 'symlink', { linkname: '/' }));
  c.check(h('l', 'directory'));
  assert.equal(c.check(h('l/x')).name, './l/x');
});
