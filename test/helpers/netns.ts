// A test network namespace reached from the host over a veth pair with a private /30, removed again after use.
// The box reaches it through passt, which connects with the host's routes; it is the only non-loopback address tests use.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** A namespace made by testNetns(). */
export interface TestNetns {
  name: string;
  /** The host's end of the veth. */
  hostIp: string;
  /** The namespace's address: what boxes and the host connect to. */
  nsIp: string;
  /** Starts the bulk server (bulk-server.ts) in the namespace on `port`; resolves once it listens. */
  startBulkServer(port: number): Promise<ChildProcess>;
  /** Kills its servers and deletes the namespace (and with it the veth pair); idempotent. */
  remove(): void;
}

const BULK_SERVER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bulk-server.js');
const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/**
 * A cleanup that runs once, at the latest when this process exits (even when the test file fails before its own
 * cleanup): kills `children`, then runs each step, a step that fails (already gone) not stopping the next.
 */
export function cleanupOnce(children: readonly ChildProcess[], ...steps: Array<() => unknown>): () => void {
  let done = false;
  const run = (): void => {
    if (done) return;
    done = true;
    process.off('exit', run);
    for (const c of children) c.kill('SIGKILL');
    for (const step of steps) { try { step(); } catch { /* already gone */ } }
  };
  process.on('exit', run);
  return run;
}

/** Why test namespaces cannot be made here, or undefined when they can. */
export function netnsUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  try { ip('netns', 'list'); } catch (e) { return `\`ip netns\` does not work here: ${(e as Error).message}`; }
  return undefined;
}

/**
 * Makes namespace `bxl-<pid>-<n>` with `10.251.<k>.2/30` (a free k), the host end `10.251.<k>.1/30`, and checks that the host
 * routes to it over that veth (not over a route it already had).
 */
export function testNetns(): TestNetns {
  const n = Math.floor(Math.random() * 60);
  // A /30 no interface of the host has yet (another test file may hold one).
  const k = [...Array(16)].map(() => Math.floor(Math.random() * 256)).find((c) => ip('-o', '-4', 'addr', 'show', 'to', `10.251.${c}.0/30`).trim() === '');
  if (k === undefined) throw new Error('no free 10.251.x.0/30 for a test namespace');
  const name = `bxl-${process.pid}-${n}`;
  const hostIf = `bxh${process.pid % 100000}${n}`.slice(0, 15);
  const nsIf = `bxn${process.pid % 100000}${n}`.slice(0, 15);
  const hostIp = `10.251.${k}.1`;
  const nsIp = `10.251.${k}.2`;
  const children: ChildProcess[] = [];
  const remove = cleanupOnce(children, () => ip('netns', 'del', name), () => ip('link', 'del', hostIf)); // the link may go with the namespace
  try {
    ip('netns', 'add', name);
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    ip('link', 'set', nsIf, 'netns', name);
    ip('addr', 'add', `${hostIp}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('-n', name, 'addr', 'add', `${nsIp}/30`, 'dev', nsIf);
    ip('-n', name, 'link', 'set', nsIf, 'up');
    ip('-n', name, 'link', 'set', 'lo', 'up');
    const route = ip('route', 'get', nsIp);
    if (!route.includes(`dev ${hostIf}`)) throw new Error(`the host does not route ${nsIp} over ${hostIf}: ${route.trim()}`);
  } catch (e) {
    remove();
    throw e;
  }
  const startBulkServer = (port: number): Promise<ChildProcess> => new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', name, process.execPath, BULK_SERVER, nsIp, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let err = '';
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    child.stdout.once('data', () => resolve(child));
    child.once('exit', (code) => reject(new Error(`the bulk server in ${name} exited with ${code}: ${err.trim()}`)));
  });
  return { name, hostIp, nsIp, startBulkServer, remove };
}
