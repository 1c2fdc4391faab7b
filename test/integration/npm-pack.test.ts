// The published package is self-contained (Bug 8, and Bug 10 against the real tarball): `npm pack`, installed into a
// fresh project from the .tgz (dependencies from the registry), gives a working `npx boxlite setup` and `npx boxlite
// run`, docs and source maps that resolve, shipped guest sources identical to the repo's, and declarations that a
// consumer compiles as ESM strict and as CommonJS without esModuleInterop. Setup runs on the test suite's home, so it
// reuses the guest artifacts already built for these very sources instead of rebuilding them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { hashSources } from '../../src/setup/c-build.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { TEST_HOME } from '../helpers/boxes.js';
import { compileConsumer } from '../helpers/consumer-project.js';
import { REPO_ROOT } from '../helpers/declarations.js';
import { deadDocLinks, deadSourceMapSources, missingEntryPoints } from '../helpers/package-files.js';

const run = promisify(execFile);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-npm-pack-'));
const project = path.join(work, 'project');
const installed = path.join(project, 'node_modules', 'boxlite');
const env = { ...process.env, BOXLITE_HOME: TEST_HOME, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' };
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** Runs `npx --no boxlite ...args` in the fresh project; resolves with its output (rejects with it on a non-zero exit). */
async function boxlite(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('npx', ['--no', 'boxlite', ...args], { cwd: project, env, maxBuffer: 16 << 20 });
}

describe('the npm package, installed into a fresh project', { timeout: 1_500_000 }, () => {
  before(async () => {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: REPO_ROOT, env, maxBuffer: 16 << 20 });
    const tarball = path.join(work, (JSON.parse(stdout) as { filename: string }[])[0]!.filename);
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }));
    // better-sqlite3 builds from source here (no prebuilt binary can be downloaded): a few minutes on 2 cores.
    await run('npm', ['install', '--no-package-lock', tarball, '@types/node@^20'], { cwd: project, env, maxBuffer: 64 << 20 });
  });

  it('ships every file package.json, its source maps and its docs name', () => {
    assert.deepEqual(missingEntryPoints(installed), []);
    assert.deepEqual(deadSourceMapSources(installed), []);
    assert.deepEqual(deadDocLinks(installed), []);
    assert.ok(fs.existsSync(path.join(installed, 'docs', 'decisions.md')));
  });

  it('ships the guest agent, jailer and passt patch sources exactly as in the repository', async () => {
    for (const dir of ['guest', 'launcher']) assert.equal(await hashSources(path.join(installed, dir)), await hashSources(path.join(REPO_ROOT, dir)), `${dir}/ differs`);
    assert.deepEqual(fs.readdirSync(path.join(installed, 'patches')), fs.readdirSync(path.join(REPO_ROOT, 'patches')));
  });

  it('sets up with `npx boxlite setup` and runs a box with `npx boxlite run`', async () => {
    const setup = await boxlite('setup', '--quiet');
    assert.match(setup.stdout, /^kernel: +\S+/m);
    assert.match(setup.stdout, /^snapshot: /m);
    const hello = await boxlite('run', '--rootfs', busyboxRootfs(), '--', 'sh', '-c', 'echo "hello from $(uname -s)"');
    assert.equal(hello.stdout, 'hello from Linux\n');
  });

  it('compiles a consumer as ESM strict and as CommonJS without esModuleInterop (skipLibCheck false)', () => {
    assert.deepEqual(compileConsumer(project, 'esm-strict'), []);
    assert.deepEqual(compileConsumer(project, 'cjs-no-interop'), []);
    assert.ok(!fs.existsSync(path.join(project, 'node_modules', '@types', 'better-sqlite3')), '@types/better-sqlite3 is a dev dependency only');
  });
});
