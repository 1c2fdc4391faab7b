// A consumer project compiles against the built declarations (Bug 10): ESM strict, and CommonJS without
// esModuleInterop (TS1259 when better-sqlite3's types leaked), both with skipLibCheck off. Reads dist/src.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { compileConsumer, type ConsumerFlavor } from '../../helpers/consumer-project.js';
import { REPO_ROOT } from '../../helpers/declarations.js';

describe('a consumer of the built declarations', () => {
  // The repo itself stands in for the installed package (test/integration/npm-pack.test.ts installs the real tarball).
  const project = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-consumer-'));
  after(() => fs.rmSync(project, { recursive: true, force: true }));
  fs.mkdirSync(path.join(project, 'node_modules', '@types'), { recursive: true });
  fs.symlinkSync(REPO_ROOT, path.join(project, 'node_modules', 'boxlite'));
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules', '@types', 'node'), path.join(project, 'node_modules', '@types', 'node'));

  for (const flavor of ['esm-strict', 'cjs-no-interop'] satisfies ConsumerFlavor[]) {
    it(`compiles as ${flavor} with skipLibCheck false`, () => {
      assert.deepEqual(compileConsumer(project, flavor), []);
    });
  }
});
