// Docker's env-file format: KEY=VALUE lines, comments, blank lines, bare KEYs from the host, and errors naming file:line.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { parseEnvFile, readEnvFiles } from '../../../src/cli/env-file.js';

describe('parseEnvFile', () => {
  it('reads KEY=VALUE lines as written, skips comments and blank lines, takes bare KEYs from the host', () => {
    const text = '# a comment\n\nA=1\n  B=two words \nC="quoted"\nD=\nE=x=y\r\nHOSTVAR\nUNSET_VAR\n   # indented comment\n';
    assert.deepEqual(parseEnvFile(text, 'f.env', { HOSTVAR: 'from host' }), [
      ['A', '1'], ['B', 'two words '], ['C', '"quoted"'], ['D', ''], ['E', 'x=y'], ['HOSTVAR', 'from host'],
    ]);
  });

  const bad: Array<[string, number, RegExp]> = [
    ['A=1\n=nokey\n', 2, /a variable name is missing/],
    ['OK=1\n\nBAD KEY=1\n', 3, /variable name "BAD KEY" contains whitespace/],
    ['TWO WORDS\n', 1, /contains whitespace/],
  ];
  for (const [text, line, why] of bad) {
    it(`names the file and line ${line} of a bad line (${why.source})`, () => {
      assert.throws(() => parseEnvFile(text, 'app.env'), (e: unknown) =>
        BoxliteError.is(e) && e.code === 'InvalidArgument' && e.message.startsWith(`--env-file app.env:${line}: `) && why.test(e.message));
    });
  }
});

describe('readEnvFiles', () => {
  it('reads several files in order (later files win when applied) and names a missing one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'envfile-'));
    try {
      fs.writeFileSync(path.join(dir, 'a'), 'X=1\nY=1\n');
      fs.writeFileSync(path.join(dir, 'b'), 'Y=2\n');
      assert.deepEqual(readEnvFiles([path.join(dir, 'a'), path.join(dir, 'b')], {}), [['X', '1'], ['Y', '1'], ['Y', '2']]);
      const missing = path.join(dir, 'nope');
      assert.throws(() => readEnvFiles([missing]), (e: unknown) =>
        BoxliteError.is(e) && e.code === 'InvalidArgument' && e.message === `--env-file ${missing}: cannot read it (ENOENT)`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
