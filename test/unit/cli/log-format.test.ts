// The kept-output records: stdout and stderr kept apart and in order, bytes intact, torn and damaged files handled.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeRecords, LogDecoder, MAX_RECORD_DATA_BYTES, RECORD_HEADER_BYTES } from '../../../src/cli/log-format.js';

describe('log records', () => {
  it('round-trip binary data of both streams, in order, however the bytes are chunked', () => {
    const binary = Buffer.from([0, 255, 0xc3, 0x28, 10, 13]);
    const file = Buffer.concat([...encodeRecords('stdout', Buffer.from('hi\n')), ...encodeRecords('stderr', binary), ...encodeRecords('stdout', Buffer.from('bye\n'))]);
    for (const chunkSize of [1, 2, 5, 7, file.length]) {
      const d = new LogDecoder('output.log');
      const got = [];
      for (let at = 0; at < file.length; at += chunkSize) got.push(...d.push(file.subarray(at, at + chunkSize)));
      assert.deepEqual(got.map((r) => [r.stream, r.data.toString('hex')]), [['stdout', Buffer.from('hi\n').toString('hex')], ['stderr', binary.toString('hex')], ['stdout', Buffer.from('bye\n').toString('hex')]], `chunks of ${chunkSize}`);
      assert.equal(d.pendingBytes, 0);
    }
  });

  it('split a chunk longer than a record holds', () => {
    const records = encodeRecords('stdout', Buffer.alloc(MAX_RECORD_DATA_BYTES * 2 + 1, 7));
    assert.deepEqual(records.map((r) => r.length - RECORD_HEADER_BYTES), [MAX_RECORD_DATA_BYTES, MAX_RECORD_DATA_BYTES, 1]);
    assert.deepEqual(encodeRecords('stderr', Buffer.alloc(0)), []);
  });

  it('hold a record cut short (a writer killed mid-write) instead of printing half of it', () => {
    const [rec] = encodeRecords('stdout', Buffer.from('hello'));
    const d = new LogDecoder('output.log');
    assert.deepEqual(d.push(rec!.subarray(0, 7)), []);
    assert.equal(d.pendingBytes, 7);
  });

  for (const [what, header] of [['an unknown stream', [9, 0, 0, 0, 1]], ['a record longer than any writer makes', [1, 0xff, 0xff, 0xff, 0xff]]] as const) {
    it(`call a file with ${what} damaged, naming it`, () => {
      assert.throws(() => new LogDecoder('/x/output.log').push(Buffer.from(header)), (e: Error & { code?: string }) => e.code === 'Storage' && /\/x\/output\.log is damaged/.test(e.message));
    });
  }
});
