// The built CLI, run on the test home as a user would: `boxlite(...args)` and `ok(...args)`.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TEST_HOME } from './boxes.js';

/** The compiled CLI entry. */
export const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** How a CLI run ended: exit code, output, duration. */
export interface Ran { code: number | null; stdout: string; stderr: string; ms: number }

/** Runs `boxlite args…` on the test home; resolves with its exit code, output and duration. */
export function boxlite(...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const p = spawn(process.execPath, [CLI_MAIN, '--home', TEST_HOME, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    p.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    p.once('exit', (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0 }));
  });
}

/** `boxlite args…`, which must succeed; its stdout. */
export async function ok(...args: string[]): Promise<string> {
  const r = await boxlite(...args);
  assert.equal(r.code, 0, `boxlite ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}
