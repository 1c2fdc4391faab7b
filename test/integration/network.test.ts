// The box network: published ports reach servers in the box; the box reaches the host's services on real
// interfaces but not its loopback-only ones; DNS settings; traffic counters; a taken host port is a clear error.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import { after, test } from 'node:test';
import { BoxliteError } from '../../src/errors.js';
import { BoxliteRuntime } from '../../src/runtime/runtime.js';
import { busyboxRootfs } from '../fixtures/rootfs.js';
import { busyboxBox, sh, TEST_HOME } from '../helpers/boxes.js';

const servers: net.Server[] = [];
const tmpDirs: string[] = [];
after(() => {
  for (const s of servers) s.close();
  for (const d of tmpDirs) fs.rmSync(d, { recursive: true, force: true });
});
/** A temp dir removed when the file's tests end. */
const tempDir = (prefix: string): string => { const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix)); tmpDirs.push(d); return d; };

/** An HTTP server on the host answering `body`, listening on `ip`. */
async function hostServer(ip: string, body: string): Promise<number> {
  const server = http.createServer((_, res) => res.end(body));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, ip, resolve));
  return (server.address() as net.AddressInfo).port;
}

/** An HTTP GET from inside the box with busybox nc; the body, or '' when it could not connect. */
async function guestGet(box: Awaited<ReturnType<typeof busyboxBox>>, ip: string, port: number): Promise<string> {
  const r = await sh(box, `(printf 'GET / HTTP/1.0\\r\\n\\r\\n'; sleep 2) | timeout 6 nc ${ip} ${port} 2>/dev/null | tail -n 1`);
  return r.stdout.trim();
}

const hostIp = Object.values(os.networkInterfaces()).flat().find((a) => a?.family === 'IPv4' && !a.internal)?.address;

test('a published port reaches a server in the box; the host port is picked at start and shown in info(); traffic is counted', async () => {
  const box = await busyboxBox({ ports: [{ guestPort: 8080, hostIp: '127.0.0.1' }] });
  assert.deepEqual(box.info().ports, [{ protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 0, guestPort: 8080 }]);
  assert.equal((await sh(box, 'mkdir -p /www && echo hello from the box > /www/index.html && httpd -p 8080 -h /www && echo up')).stdout, 'up\n');
  const [published] = box.info().ports;
  assert.ok(published && published.hostPort > 0, 'a host port was bound');
  const res = await fetch(`http://127.0.0.1:${published.hostPort}/index.html`);
  assert.equal(await res.text(), 'hello from the box\n');
  const m = await box.metrics();
  assert.ok((m.networkBytesReceived ?? 0) > 0 && (m.networkBytesSent ?? 0) > 0, `network counters moved: ${m.networkBytesReceived} in, ${m.networkBytesSent} out`);
  await box.stop();
});

test('with egress "all" the box reaches host services on a real interface, never the host\'s loopback-only services; DNS goes to the forwarder', async (t) => {
  const box = await busyboxBox({ network: { egress: 'all' } });
  const privatePort = await hostServer('127.0.0.1', 'loopback-only');
  assert.equal(await guestGet(box, '10.0.2.2', privatePort), '', 'the gateway does not lead to the host loopback');
  assert.equal(await guestGet(box, '127.0.0.1', privatePort), '', "the box's own loopback is its own");
  assert.equal((await sh(box, 'cat /etc/resolv.conf')).stdout, 'nameserver 10.0.2.3\n');
  if (!hostIp) {
    t.skip('this host has no IPv4 address on a real interface to test outbound connections with');
  } else {
    const publicPort = await hostServer('0.0.0.0', 'public-service');
    assert.equal(await guestGet(box, hostIp, publicPort), 'public-service');
    if (hostIp !== '127.0.0.1') assert.equal(await guestGet(box, hostIp, privatePort), '', 'a loopback-only service stays private');
    // Under the default policy (public) the host's own addresses are refused too.
    const boxed = await busyboxBox();
    assert.equal(await guestGet(boxed, hostIp, publicPort), '', 'public: the host itself is not reachable');
    await boxed.stop();
  }
  await box.stop();
});

test('a host port that is taken: Network error naming it; the box keeps the reason and starts once the port is free', async () => {
  const blocker = net.createServer();
  servers.push(blocker);
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const taken = (blocker.address() as net.AddressInfo).port;
  const box = await busyboxBox({ ports: [{ guestPort: 80, hostPort: taken, hostIp: '127.0.0.1' }], autoRemove: false });
  await assert.rejects(box.start(), (e: unknown) => {
    assert.ok(BoxliteError.is(e) && e.code === 'Network', String(e));
    assert.ok(e.message.includes(`127.0.0.1:${taken}/tcp`), e.message);
    return true;
  });
  assert.equal(box.info().status.toString(), 'stopped');
  assert.match(box.info().lastError ?? '', /box network could not start/);
  const id = String(box.id);
  const left = fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p) && (() => { try { return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(id); } catch { return false; } })());
  assert.deepEqual(left, [], 'no QEMU, passt or supervisor of the box is left running (its VM was spawned beside passt)');
  const templates = path.join(TEST_HOME, 'templates');
  assert.deepEqual(fs.readdirSync(templates).filter((k) => fs.existsSync(path.join(templates, k, 'failures.json'))), [], 'the snapshot is not blamed');
  await new Promise<void>((resolve) => blocker.close(() => resolve()));
  await box.start();
  assert.deepEqual(box.info().ports.map((p) => p.hostPort), [taken]);
  await box.stop();
});

// The box's sockets outside its home dir live in <TMPDIR>/boxlite-<uid>: a TMPDIR of the test's own shows what
// happens when someone else got there first.
async function startWithTmpdir(prepare: (runDir: string) => void): Promise<{ err: unknown; runDir: string }> {
  const tmp = tempDir('boxlite-hijack-');
  const runDir = path.join(tmp, `boxlite-${process.getuid?.() ?? 0}`);
  prepare(runDir);
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  try {
    const box = await busyboxBox({ autoRemove: false });
    return { err: await box.start().then(() => undefined, (e: unknown) => e), runDir };
  } finally {
    if (saved === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = saved;
  }
}

test('hostile review #3: a socket directory another user made first refuses the start with a Config error naming it', { skip: process.getuid?.() !== 0 && 'needs root to make a directory owned by another user' }, async () => {
  const { err, runDir } = await startWithTmpdir((dir) => { fs.mkdirSync(dir, { mode: 0o777 }); fs.chownSync(dir, 4242, 4242); });
  assert.ok(BoxliteError.is(err) && err.code === 'Config', String(err));
  assert.ok(err.message.includes(runDir) && /owned by uid 4242/.test(err.message), err.message);
  assert.deepEqual(fs.readdirSync(runDir), [], 'nothing of the box was put in it');
});

test('hostile review #3: a symlink planted at the socket directory refuses the start and its target is left as it was', async () => {
  const target = tempDir('boxlite-target-');
  fs.chmodSync(target, 0o755);
  const { err, runDir } = await startWithTmpdir((dir) => fs.symlinkSync(target, dir));
  assert.ok(BoxliteError.is(err) && err.code === 'Config', String(err));
  assert.ok(err.message.includes(runDir) && /symlink/.test(err.message), err.message);
  assert.equal(fs.statSync(target).mode & 0o7777, 0o755, 'the target was not chmodded');
  assert.deepEqual(fs.readdirSync(target), [], 'nothing was created in the target');
});

test('hostile review #3: a long home dir, whose sockets all go under the temp dir, is refused the same way', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), `boxlite-long-home-${'x'.repeat(60)}-`));
  fs.symlinkSync(path.join(TEST_HOME, 'guest'), path.join(home, 'guest'));
  const target = tempDir('boxlite-target-');
  fs.chmodSync(target, 0o755);
  const tmp = tempDir('boxlite-hijack-');
  const runDir = path.join(tmp, `boxlite-${process.getuid?.() ?? 0}`);
  fs.symlinkSync(target, runDir);
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = tmp;
  const rt = new BoxliteRuntime({ homeDir: home });
  try {
    const box = await rt.create({ rootfs: { rootfsPath: busyboxRootfs() }, cpus: 1, memoryMib: 256 });
    await assert.rejects(box.start(), (e: unknown) => BoxliteError.is(e) && e.code === 'Config' && e.message.includes(runDir) && /symlink/.test(e.message));
    assert.equal(fs.statSync(target).mode & 0o7777, 0o755);
    assert.deepEqual(fs.readdirSync(target), []);
  } finally {
    if (saved === undefined) delete process.env.TMPDIR; else process.env.TMPDIR = saved;
    await rt.close();
    fs.rmSync(home, { recursive: true, force: true });
  }
});

test('hostile review #11: a host port in use says it is in use by another process, not only "check the ports are free"', async () => {
  const blocker = net.createServer();
  servers.push(blocker);
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const taken = (blocker.address() as net.AddressInfo).port;
  const inUse = await busyboxBox({ ports: [{ guestPort: 80, hostPort: taken, hostIp: '127.0.0.1' }], autoRemove: false });
  await assert.rejects(inUse.start(), (e: unknown) => BoxliteError.is(e) && e.code === 'Network'
    && e.message.includes(`host port 127.0.0.1:${taken}/tcp is already in use by another process`));
  await new Promise<void>((resolve) => blocker.close(() => resolve()));
});

test('hostile review #11: a privileged host port published by a non-root process says it is privileged', async (t) => {
  if (process.getuid?.() === 0) return t.skip('runs as root, which may bind privileged ports (the EACCES wording is unit-tested)');
  const privileged = await busyboxBox({ ports: [{ guestPort: 80, hostPort: 81, hostIp: '127.0.0.1' }], autoRemove: false });
  await assert.rejects(privileged.start(), (e: unknown) => BoxliteError.is(e) && e.code === 'Network' && /is a privileged port \(below \d+/.test(e.message));
});
