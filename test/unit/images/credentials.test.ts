// Credentials from options and Docker's config.json (DOCKER_CONFIG honoured): inline auths and real credential helper programs.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { credentialKeyHost, dockerCredentialConfig, resolveCredential } from '../../../src/images/registry/credentials.js';

const dirs: string[] = [];
after(() => { for (const d of dirs) fs.rmSync(d, { recursive: true, force: true }); });

/** A DOCKER_CONFIG dir holding `config`, with a bin/ dir of helper scripts put first on PATH. */
function dockerConfig(config: object, helpers: Record<string, string> = {}): NodeJS.ProcessEnv {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-dockercfg-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  fs.mkdirSync(path.join(dir, 'bin'));
  for (const [name, script] of Object.entries(helpers)) {
    fs.writeFileSync(path.join(dir, 'bin', `docker-credential-${name}`), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  }
  return { DOCKER_CONFIG: dir, PATH: `${path.join(dir, 'bin')}:${process.env.PATH ?? ''}`, HELPER_LOG: path.join(dir, 'asked') };
}

/** A helper that records its argument and stdin, then answers `answer` as JSON. */
const answering = (answer: object): string => `echo "$1 $(cat)" >> "$HELPER_LOG"\necho '${JSON.stringify(answer)}'`;

const imageError = (pattern: RegExp) => (e: unknown): boolean => {
  assert.ok(BoxliteError.is(e) && e.code === 'Image', String(e));
  assert.match(e.message, pattern);
  return true;
};

test('config.json keys name hosts', () => {
  assert.equal(credentialKeyHost('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(credentialKeyHost('http://127.0.0.1:5000/'), '127.0.0.1:5000');
  assert.equal(credentialKeyHost('ghcr.io'), 'ghcr.io');
});

test('reads auths from $DOCKER_CONFIG/config.json; options win', async () => {
  const env = dockerConfig({
    auths: {
      '127.0.0.1:5000': { auth: Buffer.from('alice:pa:ss').toString('base64') },
      'https://index.docker.io/v1/': { auth: Buffer.from('bob:hub').toString('base64') },
      'ghcr.io': { username: 'carol', password: 'tok' },
      'quay.io': { identitytoken: 'refresh-me' },
      'empty.io': {},
    },
  });
  assert.deepEqual(dockerCredentialConfig(env).auths, {
    '127.0.0.1:5000': { username: 'alice', password: 'pa:ss' },
    'docker.io': { username: 'bob', password: 'hub' },
    'ghcr.io': { username: 'carol', password: 'tok' },
    'quay.io': { username: '', password: '', identityToken: 'refresh-me' },
  });
  assert.deepEqual(await resolveCredential('127.0.0.1:5000', { '127.0.0.1:5000': { username: 'o', password: 'p' } }, env), { username: 'o', password: 'p' });
  assert.deepEqual(await resolveCredential('docker.io', undefined, env), { username: 'bob', password: 'hub' });
  assert.equal(await resolveCredential('example.com', undefined, env), undefined);
  assert.deepEqual(dockerCredentialConfig({ DOCKER_CONFIG: path.join(env.DOCKER_CONFIG!, 'missing') }).auths, {});
});

test('credHelpers: the host\'s helper gets the server URL on stdin (never as an argument) and its answer is used', async () => {
  const env = dockerConfig({ credHelpers: { 'ghcr.io': 'gh', 'https://index.docker.io/v1/': 'gh' }, auths: { 'ghcr.io': { auth: Buffer.from('inline:x').toString('base64') } } },
    { gh: answering({ ServerURL: 'ghcr.io', Username: 'helper-user', Secret: 's3cret' }) });
  assert.deepEqual(await resolveCredential('ghcr.io', undefined, env), { username: 'helper-user', password: 's3cret' });
  assert.deepEqual(await resolveCredential('docker.io', undefined, env), { username: 'helper-user', password: 's3cret' });
  assert.deepEqual(fs.readFileSync(env.HELPER_LOG!, 'utf8').trim().split('\n'), ['get ghcr.io', 'get https://index.docker.io/v1/']);
});

test('credsStore: used when no helper or inline entry names the registry; inline auths win over it', async () => {
  const env = dockerConfig({ credsStore: 'store', auths: { 'a.io': { auth: Buffer.from('inline:pw').toString('base64') }, 'b.io': {} } },
    { store: answering({ Username: '<token>', Secret: 'identity' }) });
  assert.deepEqual(await resolveCredential('a.io', undefined, env), { username: 'inline', password: 'pw' });
  assert.deepEqual(await resolveCredential('b.io', undefined, env), { username: '', password: '', identityToken: 'identity' });
  assert.equal(fs.readFileSync(env.HELPER_LOG!, 'utf8').trim(), 'get b.io');
});

test('a helper with no credential for the registry means anonymous', async () => {
  const env = dockerConfig({ credsStore: 'empty' }, { empty: 'echo "credentials not found in native keychain"; exit 1' });
  assert.equal(await resolveCredential('b.io', undefined, env), undefined);
});

test('a missing, failing or garbling helper is an Image error naming the helper and what to do', async () => {
  await assert.rejects(resolveCredential('b.io', undefined, dockerConfig({ credsStore: 'nowhere' })),
    imageError(/docker-credential-nowhere \(config\.json credsStore\) is not on PATH.*install it or remove "nowhere"/));
  await assert.rejects(resolveCredential('b.io', undefined, dockerConfig({ credHelpers: { 'b.io': 'broken' } }, { broken: 'echo "keychain locked" >&2; exit 3' })),
    imageError(/docker-credential-broken \(config\.json credHelpers\) failed for b\.io with exit code 3: keychain locked/));
  await assert.rejects(resolveCredential('b.io', undefined, dockerConfig({ credsStore: 'noise' }, { noise: 'echo "not json"' })),
    imageError(/answered for b\.io with output that is not JSON/));
  await assert.rejects(resolveCredential('b.io', undefined, dockerConfig({ credsStore: 'half' }, { half: `echo '{"Username":"u"}'` })),
    imageError(/without a Username and Secret/));
  await assert.rejects(resolveCredential('b.io', undefined, dockerConfig({ credsStore: '../../bin/sh' })), imageError(/not a valid helper name/));
});
