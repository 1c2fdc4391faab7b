// Helper processes a VM needs (passt, virtiofsd): spawned to live as long as the VM, ready once their socket exists.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A running helper. It ends by itself when its VM disconnects; `kill()` ends it sooner. */
export interface HelperProcess {
  readonly pid: number;
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
  /** Outlive this process (a detached box); otherwise die with it, even on SIGKILL (`setpriv --pdeathsig`). */
  detached: boolean;
  timeoutMs: number;
  /** The error to throw for a failure. */
  failure(f: HelperFailure): Promise<Error> | Error;
}

/** Spawns the helper and waits until its socket exists; neither it nor its pipe keeps this process alive. */
export async function startHelper(spec: HelperSpec): Promise<HelperProcess> {
  await fs.promises.rm(spec.socketPath, { force: true });
  const [program, argv] = spec.detached ? [spec.command, [...spec.args]] : ['setpriv', ['--pdeathsig', 'KILL', '--', spec.command, ...spec.args]];
  const child = spawn(program, argv, { stdio: ['ignore', 'ignore', 'pipe'], detached: spec.detached, env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' } });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => { stderr = (stderr + c.toString('utf8')).slice(-4096); });
  let exit: string | undefined;
  child.once('exit', (code, signal) => { exit = signal ? `signal ${signal}` : `code ${code}`; });
  const spawnError = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', resolve);
  });
  if (spawnError) throw await spec.failure({ kind: 'spawn', error: spawnError });
  const deadline = Date.now() + spec.timeoutMs;
  while (!fs.existsSync(spec.socketPath)) {
    if (exit !== undefined || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw await spec.failure(exit !== undefined ? { kind: 'exited', how: exit, stderr } : { kind: 'timeout', stderr });
    }
    await sleep(5);
  }
  child.unref();
  (child.stderr as net.Socket).unref();
  return { pid: child.pid!, kill: () => { if (exit === undefined) child.kill('SIGKILL'); } };
}
