// The one fixture integration tests use: a runtime on the shared test home, and boxes that are always cleaned up.
import os from 'node:os';
import path from 'node:path';
import { after } from 'node:test';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import type { LiteBox } from '../../src/runtime/box.js';
import type { BoxOptions } from '../../src/runtime/options.js';
import { BoxCommand } from '../../src/runtime/command.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';

/** The home dir tests share (its guest/ is built by `boxlite setup` before the suite runs). */
export const TEST_HOME = process.env.BOXLITE_HOME ?? path.join(os.homedir(), '.boxlite');

let shared: BoxliteRuntime | undefined;
const created: LiteBox[] = [];

// One hook for the whole test file (registered when a test file imports this fixture): every box made here is
// removed, and the runtime closed, even when tests failed.
after(async () => {
  const runtime = shared;
  if (!runtime) return;
  await Promise.all(created.map(async (box) => {
    await box.stop().catch(() => undefined);
    if (await runtime.exists(box.id.asStr())) await runtime.remove(box.id.asStr(), true).catch(() => undefined);
  }));
  await runtime.close();
});

/** A runtime on the test home, closed (every box stopped) when the test file ends. */
export function testRuntime(): BoxliteRuntime {
  shared ??= new BoxliteRuntime({ homeDir: TEST_HOME });
  return shared;
}

/** A new busybox box (1 CPU, 256 MiB unless overridden), removed when the test file ends. */
export async function busyboxBox(options: BoxOptions = {}, name?: string): Promise<LiteBox> {
  const runtime = testRuntime();
  const box = await runtime.create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256, ...options }, name);
  created.push(box);
  return box;
}

/** Runs `sh -c script` and collects everything. */
export async function sh(box: LiteBox, script: string, configure?: (c: BoxCommand) => BoxCommand): Promise<{ stdout: string; stderr: string; exitCode: number; timedOut: boolean }> {
  let cmd = new BoxCommand('sh').args(['-c', script]);
  if (configure) cmd = configure(cmd);
  const run = await box.run(cmd);
  const [stdout, stderr] = await Promise.all([run.stdout()!.text(), run.stderr()!.text()]);
  const result = await run.wait();
  return { stdout, stderr, exitCode: result.exitCode, timedOut: result.timedOut };
}
