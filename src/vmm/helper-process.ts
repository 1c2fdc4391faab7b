// Helper processes a VM needs (passt, virtiofsd): spawned to live as long as the VM, ready once their socket exists.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { pollDelayMs } from '../util/poll-delay.js';
import { processStartTime, type ProcessIdentity } from '../state/process-identity.js';
import { launchArgv, NOT_FOUND_EXIT, type LaunchSpec } from './launch-argv.js';

/** A running helper. It ends by itself when its VM disconnects; `kill()` ends it sooner. */
export interface HelperProcess {
  readonly pid: number;
  /** The process start time (clock ticks since boot): with pid, an identity that survives pid reuse. */
  readonly pidStart: number;
  /** Resolves when the helper has exited, with how ("code 1", "signal SIGKILL"). */
  readonly exited: Promise<string>;
  kill(): void;
}

/** Why a helper did not come up: it could not be spawned, it exited, or its socket never appeared. */
export type HelperFailure =
  | { kind: 'spawn'; error: NodeJS.ErrnoException }
  | { kind: 'exited'; how: string; stderr: string }
  | { kind: 'timeout'; stderr: string };

/** How to start one helper. */
export interface HelperSpec {
  command: string;
  args: readonly string[];
  /** The socket the helper creates when it is ready (only its existence is checked: never connected to). */
  socketPath: string;
  /** Outlive this process (a detached box); otherwise die with it, even on SIGKILL (see launch-argv.ts). */
  detached: boolean;
  /** The uid (and gid) the helper runs as, set before it starts; undefined keeps this process's. */
  runAs?: number;
  /** Start it with the jailer instead (which then sets its uid). */
  jailer?: LaunchSpec['jailer'];
  /** Its environment (default: PATH only). */
  env?: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Called as soon as the process exists (before it is ready), so that it can be recorded and found again. */
  onSpawn?(process: ProcessIdentity): void;
  /** The error to throw for a failure. */
  failure(f: HelperFailure): Promise<Error> | Error;
}

/** Spawns the helper and waits until its socket exists; neither it nor its pipe keeps this process alive. */
export async function startHelper(spec: HelperSpec): Promise<HelperProcess> {
  await fs.promises.rm(spec.socketPath, { force: true });
  const [program, argv] = launchArgv({ command: spec.command, args: spec.args, dieWithParent: !spec.detached, runAs: spec.runAs, jailer: spec.jailer });
  // Always its own session (setsid), as the VM (qemu/process.ts): a terminal's Ctrl-C must not reach it; a
  // non-detached helper still dies with this process through its parent-death signal.
  const child = spawn(program, argv, { stdio: ['ignore', 'ignore', 'pipe'], detached: true, env: spec.env ?? { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } });
  const pidStart = child.pid === undefined ? 0 : processStartTime(child.pid) ?? 0;
  if (child.pid !== undefined) spec.onSpawn?.({ pid: child.pid, start: pidStart });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr = (stderr + c.toString('utf8')).slice(-4096); });
  let exit: string | undefined;
  let exitCode: number | null = null;
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => {
      exitCode = code;
      exit = signal ? `signal ${signal}` : `code ${code}`;
      resolve(exit);
    });
  });
  const spawnError = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (spawnError) throw await spec.failure({ kind: 'spawn', error: spawnError });
  const deadline = Date.now() + spec.timeoutMs;
  for (let attempt = 0; !fs.existsSync(spec.socketPath); attempt++) {
    if (exit !== undefined || Date.now() > deadline) {
      child.kill('SIGKILL');
      if (exitCode === NOT_FOUND_EXIT) {
        throw await spec.failure({ kind: 'spawn', error: Object.assign(new Error(`${spec.command}: not found (${stderr.trim()})`), { code: 'ENOENT' }) });
      }
      throw await spec.failure(exit !== undefined ? { kind: 'exited', how: exit, stderr } : { kind: 'timeout', stderr });
    }
    await sleep(pollDelayMs(attempt, 10));
  }
  child.unref();
  (child.stderr as net.Socket).unref();
  return { pid: child.pid!, pidStart, exited, kill: () => { if (exit === undefined) child.kill('SIGKILL'); } };
}
