// Docker-style size flags: table-driven, accepted forms and the errors that name the flag and the value.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { parseDiskFlag, parseMemoryFlag } from '../../../src/cli/sizes.js';

const invalid = (flag: string, value: string) => (e: unknown): boolean =>
  BoxliteError.is(e) && e.code === 'InvalidArgument' && e.message.startsWith(`${flag} must be`) && e.message.includes(JSON.stringify(value));

describe('parseMemoryFlag', () => {
  const cases: Array<[string, number]> = [
    ['512', 512], ['512m', 512], ['512M', 512], ['512mb', 512], ['512MB', 512], ['2g', 2048], ['2G', 2048], ['2gb', 2048],
    ['1.5g', 1536], ['524288k', 512], ['524288KB', 512], ['536870912b', 512], [' 256m ', 256],
  ];
  for (const [value, mib] of cases) it(`issue 12 bug 5: ${JSON.stringify(value)} is ${mib} MiB`, () => assert.equal(parseMemoryFlag(value), mib));

  for (const value of ['', 'abc', '512x', '512 m', '-1', '1e3', 'm', '0', '0m', '1000k', '1.5', '100b'])
    it(`rejects ${JSON.stringify(value)} naming --memory and the accepted forms`, () => {
      assert.throws(() => parseMemoryFlag(value), invalid('--memory', value));
    });

  it('says which suffixes it takes and that a bare number is MiB', () => {
    assert.throws(() => parseMemoryFlag('512x'), /suffixes b, k, m, g .*a bare number is MiB/);
  });
});

describe('parseDiskFlag', () => {
  const cases: Array<[string, number]> = [['10', 10], ['10g', 10], ['10GB', 10], ['2048m', 2], ['1048576k', 1], [String(2 ** 30), 2 ** 30], ['1073741824b', 1]];
  for (const [value, gib] of cases) it(`${JSON.stringify(value)} is ${gib} GiB`, () => assert.equal(parseDiskFlag(value), gib));

  for (const value of ['512m', '1.5g', '1.5', 'ten', '0', '10t'])
    it(`rejects ${JSON.stringify(value)} naming --disk`, () => assert.throws(() => parseDiskFlag(value), invalid('--disk', value)));

  it('explains that a suffixed disk size must be whole GiB', () => {
    assert.throws(() => parseDiskFlag('512m'), /--disk must be a positive whole number of GiB, got "512m" \(0.5 GiB\)/);
  });
});
