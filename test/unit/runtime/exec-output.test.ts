import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { ExecOutput, MAX_LINE_BYTES } from '../../../src/runtime/exec-output.js';

describe('ExecOutput', () => {
  it('yields lines across chunk boundaries, without line endings, decoding split UTF-8', async () => {
    let credit = 0;
    const out = new ExecOutput((n) => { credit += n; });
    const text = Buffer.from('one\r\ntwo ✓\nthree');
    for (const b of text) out.push(Buffer.from([b]));
    out.end();
    const lines: string[] = [];
    for await (const l of out) lines.push(l);
    assert.deepEqual(lines, ['one', 'two ✓', 'three']);
    assert.equal(credit, text.length);
  });

  it('returns bytes exactly as pushed', async () => {
    const out = new ExecOutput(() => undefined);
    const data = Buffer.from([0, 1, 255, 10, 13, 0xc3]);
    out.push(data.subarray(0, 3));
    out.push(data.subarray(3));
    out.end();
    assert.deepEqual(await out.buffer(), data);
  });

  it('splits a line longer than the limit instead of holding it whole', async () => {
    const out = new ExecOutput(() => undefined);
    out.push(Buffer.alloc(MAX_LINE_BYTES + 10, 'a'));
    out.end();
    const lengths: number[] = [];
    for await (const l of out) lengths.push(l.length);
    assert.deepEqual(lengths, [MAX_LINE_BYTES, 10]);
  });

  it('splits a long line of many small chunks into pieces of the limit, keeping a character cut at the limit whole', async () => {
    const out = new ExecOutput(() => undefined);
    const line = Buffer.concat([Buffer.alloc(MAX_LINE_BYTES - 1, 'b'), Buffer.from('✓'), Buffer.alloc(2 * MAX_LINE_BYTES, 'c')]);
    for (let i = 0; i < line.length; i += 4096) out.push(line.subarray(i, i + 4096));
    out.push(Buffer.from('\nnext\r\n'));
    out.end();
    const lines: string[] = [];
    for await (const l of out) lines.push(l);
    assert.equal(lines.join(''), `${line.toString('utf8')}next`);
    assert.equal(lines.at(-1), 'next');
    assert.ok(lines.slice(0, -1).every((l) => Buffer.byteLength(l) <= MAX_LINE_BYTES + 2), 'no piece holds more than the limit (and a cut character)');
    assert.equal(lines.length, 5);
  });

  it('ends a broken UTF-8 sequence at the newline, not in the next line', async () => {
    const out = new ExecOutput(() => undefined);
    out.push(Buffer.from([0x61, 0xe2, 0x9c, 0x0a, 0x62, 0x0a]));
    out.end();
    const lines: string[] = [];
    for await (const l of out) lines.push(l);
    assert.deepEqual(lines, ['a\ufffd', 'b']);
  });

  it('rejects the reader with the failure that ended the stream', async () => {
    const out = new ExecOutput(() => undefined);
    out.push(Buffer.from('partial'));
    out.end(new BoxliteError('Portal', 'box died'));
    await assert.rejects(out.text(), /box died/);
  });

  it('can be read only once', async () => {
    const out = new ExecOutput(() => undefined);
    out.end();
    await out.text();
    await assert.rejects(out.text(), /already being read/);
  });

  it('discard() returns credit for buffered and later data', () => {
    let credit = 0;
    const out = new ExecOutput((n) => { credit += n; });
    out.push(Buffer.alloc(10));
    out.discard();
    out.push(Buffer.alloc(5));
    assert.equal(credit, 15);
  });
});
