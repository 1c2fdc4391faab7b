// A real registry server (Debian's docker-registry) on loopback for tests: open, htpasswd Basic auth, or token auth
// with a small RS256 token server; plus pushing test images to it with fetch (monolithic blob uploads).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSign, randomBytes, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import bcrypt from 'bcryptjs';
import type { Blob, TestImage } from './oci.js';

/** The registry binary from Debian's docker-registry package. */
export const REGISTRY_BIN = '/usr/bin/docker-registry';

/** Why registry tests cannot run here, or undefined when they can. */
export function registryUnavailable(): string | undefined {
  return fs.existsSync(REGISTRY_BIN) ? undefined : `${REGISTRY_BIN} not found: install it with \`apt-get install -y --no-install-recommends docker-registry\` (scripts/setup.sh does)`;
}

/** How a test registry authenticates. */
export type RegistryAuth = 'none' | 'basic' | 'token';

/** A running test registry. */
export interface TestRegistry {
  /** `127.0.0.1:<port>`. */
  host: string;
  url: string;
  /** The registry's filesystem storage (for corrupting blobs on purpose). */
  storageDir: string;
  auth: RegistryAuth;
  /** The user that may push and pull, for basic and token auth; the token server also takes its identity (refresh) token. */
  user: TestUser;
  /** The Authorization header to push `repo` with (undefined for an open registry). */
  pushAuth(repo: string): Promise<string | undefined>;
  /** Kills the registry at once (SIGKILL). */
  kill(): void;
  /** Stops the registry gracefully. */
  stop(): Promise<void>;
  /** Starts it again, same port and storage. */
  restart(): Promise<void>;
  /** Stops everything and deletes the storage. */
  close(): Promise<void>;
}

/** A registry user: password for Basic auth, identity token for the OAuth2 refresh-token grant. */
export interface TestUser {
  username: string;
  password: string;
  identityToken: string;
}

/** Starts a registry on 127.0.0.1 with a free port and a temp storage dir, and waits until /v2/ answers. */
export async function startRegistry(auth: RegistryAuth = 'none'): Promise<TestRegistry> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-registry-'));
  const storageDir = path.join(dir, 'storage');
  const user: TestUser = { username: 'tester', password: `pw-${randomBytes(4).toString('hex')}`, identityToken: `idt-${randomBytes(8).toString('hex')}` };
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  let authYaml = '';
  let tokenServer: TokenServer | undefined;
  if (auth === 'basic') {
    fs.writeFileSync(path.join(dir, 'htpasswd'), `${user.username}:${bcrypt.hashSync(user.password, 5)}\n`);
    authYaml = `auth:\n  htpasswd:\n    realm: boxlite-test\n    path: ${path.join(dir, 'htpasswd')}\n`;
  } else if (auth === 'token') {
    tokenServer = await startTokenServer(dir, user);
    authYaml = `auth:\n  token:\n    realm: ${tokenServer.realm}\n    service: ${tokenServer.service}\n    issuer: ${tokenServer.issuer}\n    rootcertbundle: ${tokenServer.certPath}\n`;
  }
  const config = path.join(dir, 'config.yml');
  fs.writeFileSync(config, `version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: ${storageDir}
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: ${host}
  secret: ${randomBytes(8).toString('hex')}
${authYaml}`);
  let child: ChildProcess | undefined;
  let logTail = '';
  const start = async (): Promise<void> => {
    child = spawn(REGISTRY_BIN, ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    const spawned = child;
    const reap = (): void => { spawned.kill('SIGKILL'); };
    process.once('exit', reap); // never leave a registry behind, even when the test process ends abruptly
    spawned.once('exit', () => process.removeListener('exit', reap));
    child.stderr!.on('data', (b: Buffer) => { logTail = (logTail + b.toString()).slice(-4000); });
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`docker-registry exited (${child.exitCode ?? child.signalCode}): ${logTail}`);
      const status = await fetch(`http://${host}/v2/`).then((r) => r.status, () => 0);
      if (status === 200 || status === 401) return;
      if (Date.now() > deadline) throw new Error(`docker-registry did not answer on ${host} within 15 s: ${logTail}`);
      await sleep(50);
    }
  };
  const stop = async (): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return {
    host, url: `http://${host}`, storageDir, auth, user,
    pushAuth: async (repo) => {
      if (auth === 'basic') return `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;
      if (auth === 'token') return `Bearer ${tokenServer!.issue(user.username, repo, ['pull', 'push'])}`;
      return undefined;
    },
    kill: () => { child?.kill('SIGKILL'); },
    stop,
    restart: async () => { await stop(); await start(); },
    close: async () => {
      await stop();
      await tokenServer?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Pushes `img` as `repo:tag` (blobs by monolithic upload, then the manifest); returns the manifest digest. */
export async function pushImage(reg: TestRegistry, repo: string, tag: string, img: TestImage): Promise<string> {
  for (const blob of [img.config, ...img.layers]) await pushBlob(reg, repo, blob);
  await pushManifest(reg, repo, tag, img.manifest);
  return img.manifest.digest;
}

/** Uploads one blob: POST /v2/<repo>/blobs/uploads/, then PUT <location>?digest=. */
export async function pushBlob(reg: TestRegistry, repo: string, blob: Blob): Promise<void> {
  const auth = await reg.pushAuth(repo);
  const headers: Record<string, string> = auth ? { Authorization: auth } : {};
  const head = await fetch(`${reg.url}/v2/${repo}/blobs/${blob.digest}`, { method: 'HEAD', headers });
  if (head.status === 200) return;
  const post = await fetch(`${reg.url}/v2/${repo}/blobs/uploads/`, { method: 'POST', headers });
  if (post.status !== 202) throw new Error(`POST upload for ${repo}: ${post.status} ${await post.text()}`);
  const location = new URL(post.headers.get('location')!, reg.url);
  location.searchParams.set('digest', blob.digest);
  const put = await fetch(location, { method: 'PUT', headers: { ...headers, 'Content-Type': 'application/octet-stream', 'Content-Length': String(blob.data.length) }, body: blob.data });
  if (put.status !== 201) throw new Error(`PUT blob ${blob.digest} to ${repo}: ${put.status} ${await put.text()}`);
}

/** PUTs a manifest or index under `reference` (a tag or its digest). */
export async function pushManifest(reg: TestRegistry, repo: string, reference: string, manifest: Blob): Promise<void> {
  const auth = await reg.pushAuth(repo);
  const res = await fetch(`${reg.url}/v2/${repo}/manifests/${reference}`, {
    method: 'PUT', headers: { ...(auth ? { Authorization: auth } : {}), 'Content-Type': manifest.mediaType }, body: manifest.data,
  });
  if (res.status !== 201) throw new Error(`PUT manifest ${repo}:${reference}: ${res.status} ${await res.text()}`);
}

/** The file the registry keeps a blob's bytes in. */
export function registryBlobFile(reg: TestRegistry, digest: string): string {
  const hex = digest.slice(7);
  return path.join(reg.storageDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}

/** A free TCP port on 127.0.0.1 (bound, then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  certPath: string;
  issue(subject: string, repo: string, actions: string[]): string;
  close(): Promise<void>;
}

/**
 * A token server as the registry's `auth: token` expects: GET /token?service=&scope=repository:<name>:<actions>
 * answers {token} with an RS256 JWT whose header carries the signing cert (x5c) and whose claims are iss, sub,
 * aud, exp, nbf, iat, jti and access[]. Anonymous callers get pull on `public/*` repositories; the test user
 * (Basic auth, or POST with the OAuth2 refresh-token grant and its identity token) gets what it asks for;
 * wrong credentials get 401.
 */
async function startTokenServer(dir: string, user: TestUser): Promise<TokenServer> {
  const keyPath = path.join(dir, 'token.key');
  const certPath = path.join(dir, 'token.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=boxlite-test-token'], { stdio: 'ignore' });
  const key = fs.readFileSync(keyPath);
  const certDer = new X509Certificate(fs.readFileSync(certPath)).raw.toString('base64');
  const service = 'boxlite-test-registry';
  const issuer = 'boxlite-test-issuer';
  const b64 = (v: object): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const issue = (sub: string, repo: string, actions: string[]): string => {
    const now = Math.floor(Date.now() / 1000);
    const head = b64({ typ: 'JWT', alg: 'RS256', x5c: [certDer] });
    const claims = b64({ iss: issuer, sub, aud: service, exp: now + 300, nbf: now - 10, iat: now, jti: randomBytes(8).toString('hex'), access: actions.length ? [{ type: 'repository', name: repo, actions }] : [] });
    const sig = createSign('RSA-SHA256').update(`${head}.${claims}`).sign(key).toString('base64url');
    return `${head}.${claims}.${sig}`;
  };
  const server = http.createServer((req, res) => {
    if (req.method === 'POST') {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => { body += c; }).on('end', () => answer(new URLSearchParams(body), true));
      return;
    }
    answer(new URL(req.url ?? '/', 'http://x').searchParams, false);
    function answer(params: URLSearchParams, post: boolean): void {
    const auth = req.headers.authorization;
    let who = '';
    if (post) {
      if (params.get('grant_type') !== 'refresh_token' || params.get('refresh_token') !== user.identityToken) { res.writeHead(401).end('{"details":"bad refresh token"}'); return; }
      who = user.username;
    } else if (auth) {
      const [u, p] = Buffer.from(auth.replace(/^Basic /, ''), 'base64').toString().split(':');
      if (u !== user.username || p !== user.password) { res.writeHead(401).end('{"details":"bad credentials"}'); return; }
      who = u;
    }
    if (params.get('service') !== service) { res.writeHead(400).end('wrong service'); return; }
    const scope = params.get('scope') ?? '';
    const m = /^repository:([^:]+):(.+)$/.exec(scope);
    const repo = m?.[1] ?? '';
    const asked = (m?.[2] ?? '').split(',').filter(Boolean);
    const granted = who ? asked : repo.startsWith('public/') ? asked.filter((a) => a === 'pull') : [];
    const token = issue(who || 'anonymous', repo, granted);
    res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify(post ? { access_token: token, expires_in: 300 } : { token, expires_in: 300 }));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    realm: `http://127.0.0.1:${port}/token`, service, issuer, certPath, issue,
    close: () => new Promise((r) => server.close(() => r())),
  };
}
