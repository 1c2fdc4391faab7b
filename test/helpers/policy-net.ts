// The closed network of the network policy tests: a runner namespace (where boxes run) whose only link leads to a
// test-hosts namespace holding a "public" host (203.0.113.10, TEST-NET-3), a private one and a fake metadata server.
// The runner's default route points into the hosts namespace, which routes nowhere: nothing sent can leave.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { cleanupOnce } from './netns.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const HOSTS_SERVER = path.join(here, 'policy-hosts.js');
const BOX_DRIVER = path.join(here, '..', 'fixtures', 'policy-box.js');
const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** The addresses of the closed network. */
export const ADDR = {
  public: '203.0.113.10', private: '10.251.200.2', metadata: '169.254.169.254',
  /** The public host's second address (what other.test resolves to). */
  publicOther: '203.0.113.11',
  /** The runner's DNS resolver (a private test host of its own: the policy lets DNS, and only DNS, reach it). */
  resolver: '10.251.201.2',
  /** The runner's own addresses (the "host" of its boxes). */
  runner: ['203.0.113.1', '10.251.200.1', '169.254.1.1', '10.251.201.1'],
} as const;

/** A box driven by a policy-box fixture in the runner namespace. */
export interface BoxDriver {
  /** Sends one command; its answer's `ok`, or throws with its error (code and message). */
  call<T = unknown>(cmd: Record<string, unknown>): Promise<T>;
  /** The same, resolving to the error instead. */
  fail(cmd: Record<string, unknown>): Promise<{ code: string; message: string }>;
  proc: ChildProcess;
}

/** The closed network; `remove()` deletes both namespaces and everything in them. */
export interface PolicyNet {
  runner: string;
  /** Runs a policy-box fixture in the runner namespace with home `home`. */
  driver(home: string): BoxDriver;
  /** `nft list tables` in the runner namespace. */
  tables(): string;
  remove(): void;
}

export function policyNet(): PolicyNet {
  const runner = `bxr-${process.pid}`;
  const hosts = `bxt-${process.pid}`;
  const [rIf, hIf] = [`bxr${process.pid % 100000}`, `bxt${process.pid % 100000}`];
  const children: ChildProcess[] = [];
  const resolvDir = path.join('/etc/netns', runner);
  const remove = cleanupOnce(children, () => ip('netns', 'del', runner), () => ip('netns', 'del', hosts), () => fs.rmSync(resolvDir, { recursive: true, force: true }));
  try {
    ip('netns', 'add', runner);
    ip('netns', 'add', hosts);
    ip('link', 'add', rIf, 'type', 'veth', 'peer', 'name', hIf);
    ip('link', 'set', rIf, 'netns', runner);
    ip('link', 'set', hIf, 'netns', hosts);
    const [rPub, rPriv, rMeta, rDns] = ADDR.runner;
    for (const [addr, ns, dev] of [[`${rPub}/24`, runner, rIf], [`${rPriv}/30`, runner, rIf], [`${rMeta}/16`, runner, rIf], [`${rDns}/30`, runner, rIf],
      [`${ADDR.public}/24`, hosts, hIf], [`${ADDR.publicOther}/24`, hosts, hIf], [`${ADDR.private}/30`, hosts, hIf], [`${ADDR.metadata}/16`, hosts, hIf], [`${ADDR.resolver}/30`, hosts, hIf]] as const) {
      ip('-n', ns, 'addr', 'add', addr, 'dev', dev);
    }
    for (const [ns, dev] of [[runner, rIf], [hosts, hIf]] as const) {
      ip('-n', ns, 'link', 'set', dev, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    ip('-n', runner, 'route', 'add', 'default', 'via', ADDR.public);
    // passt answers pings with ping sockets, which need this; the runner's resolver is a test host.
    execFileSync('ip', ['netns', 'exec', runner, 'sysctl', '-q', '-w', 'net.ipv4.ping_group_range=0 2147483647']);
    fs.mkdirSync(resolvDir, { recursive: true });
    fs.writeFileSync(path.join(resolvDir, 'resolv.conf'), `nameserver ${ADDR.resolver}\n`);
  } catch (e) {
    remove();
    throw e;
  }
  // The hosts answer on every address; the runner (the boxes' own host) on its addresses, not 127/8 (boxes' forwarders).
  children.push(spawn('ip', ['netns', 'exec', hosts, process.execPath, HOSTS_SERVER], { stdio: 'ignore' }));
  for (const a of ADDR.runner) children.push(spawn('ip', ['netns', 'exec', runner, process.execPath, HOSTS_SERVER, a], { stdio: 'ignore' }));
  const driver = (home: string): BoxDriver => {
    const proc = spawn('ip', ['netns', 'exec', runner, process.execPath, BOX_DRIVER], { env: { ...process.env, BOXLITE_HOME: home }, stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(proc);
    const lines = readline.createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
    const send = async (cmd: Record<string, unknown>): Promise<{ ok?: unknown; error?: { code: string; message: string } }> => {
      proc.stdin!.write(`${JSON.stringify(cmd)}\n`);
      const l = await lines.next();
      if (l.done) throw new Error(`the policy-box fixture exited (code ${proc.exitCode}) on ${JSON.stringify(cmd)}`);
      return JSON.parse(l.value) as { ok?: unknown; error?: { code: string; message: string } };
    };
    return {
      proc,
      call: async <T>(cmd: Record<string, unknown>): Promise<T> => {
        const a = await send(cmd);
        if (a.error) throw Object.assign(new Error(`${a.error.code}: ${a.error.message}`), a.error);
        return a.ok as T;
      },
      fail: async (cmd) => {
        const a = await send(cmd);
        if (!a.error) throw new Error(`${JSON.stringify(cmd)} succeeded: ${JSON.stringify(a.ok)}`);
        return a.error;
      },
    };
  };
  const tables = (): string => execFileSync('ip', ['netns', 'exec', runner, 'nft', 'list', 'tables'], { encoding: 'utf8' });
  return { runner, driver, tables, remove };
}
