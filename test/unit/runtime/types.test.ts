import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Bytes, Seconds } from '../../../src/runtime/types.js';

describe('Bytes and Seconds', () => {
  it('converts and displays byte sizes', () => {
    assert.equal(Bytes.fromKib(512).asBytes(), 512 * 1024);
    assert.equal(Bytes.fromMib(128).asKib(), 128 * 1024);
    assert.equal(Bytes.fromGib(2).asMib(), 2048);
    assert.equal(String(Bytes.fromMib(512)), '512 MiB');
    assert.equal(String(Bytes.fromBytes(1_000_000)), '976.6 KiB');
    assert.equal(String(Bytes.fromBytes(12)), '12 bytes');
    assert.equal(String(Bytes.fromGib(3)), '3 GiB');
  });
  it('converts and displays durations', () => {
    assert.equal(Seconds.fromMinutes(5).asSeconds(), 300);
    assert.equal(Seconds.fromHours(1).asMinutes(), 60);
    assert.equal(String(Seconds.fromMinutes(30)), '30 minutes');
    assert.equal(String(Seconds.fromSeconds(90)), '90 seconds');
    assert.equal(String(Seconds.fromHours(1)), '1 hour');
    assert.equal(String(Seconds.fromSeconds(1)), '1 second');
  });
  it('rejects negative and fractional values', () => {
    assert.throws(() => Bytes.fromMib(-1), RangeError);
    assert.throws(() => Seconds.fromSeconds(1.5), RangeError);
  });
});
