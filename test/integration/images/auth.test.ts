// Registry authentication against real registries: htpasswd Basic auth, and Bearer tokens from a token server.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { BoxliteError } from '../../../src/errors.js';
import { ImageStore } from '../../../src/images/index.js';
import { busyboxImage } from '../../fixtures/images.js';
import { tempHome } from '../../helpers/image-homes.js';
import { pushImage, registryUnavailable, startRegistry, type TestRegistry } from '../../helpers/registry.js';

const skip = registryUnavailable();
let basic: TestRegistry;
let token: TestRegistry;
before(async () => {
  if (skip) return;
  [basic, token] = await Promise.all([startRegistry('basic'), startRegistry('token')]);
  const img = await busyboxImage();
  await pushImage(basic, 'private/app', 'v1', img);
  await pushImage(token, 'public/app', 'v1', img);
  await pushImage(token, 'private/app', 'v1', img);
});
after(async () => { await Promise.all([basic?.close(), token?.close()]); });

const imageError = (pattern: RegExp) => (e: unknown): boolean => {
  assert.ok(BoxliteError.is(e) && e.code === 'Image', String(e));
  assert.match(e.message, pattern);
  return true;
};

test('Basic auth: without credentials the error says how to add them; with credentials from options it pulls', { skip }, async () => {
  await assert.rejects(new ImageStore({ homeDir: tempHome() }).pull(`${basic.host}/private/app:v1`),
    imageError(new RegExp(`registry ${basic.host} needs a user name and password.*config\\.json`)));
  const wrong = new ImageStore({ homeDir: tempHome(), credentials: { [basic.host]: { username: 'tester', password: 'wrong' } } });
  await assert.rejects(wrong.pull(`${basic.host}/private/app:v1`), imageError(/returned 401.*denied: check the credentials/));
  const store = new ImageStore({ homeDir: tempHome(), credentials: { [basic.host]: { username: basic.user.username, password: basic.user.password } } });
  assert.ok((await store.pull(`${basic.host}/private/app:v1`)).digest.startsWith('sha256:'));
});

/** Runs `fn` with DOCKER_CONFIG set to a dir holding `config` and `helpers` (docker-credential-<name> scripts) first on PATH. */
async function withDockerConfig(config: object, helpers: Record<string, string>, fn: () => Promise<void>): Promise<void> {
  const dir = tempHome();
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(config));
  for (const [name, script] of Object.entries(helpers)) fs.writeFileSync(path.join(dir, `docker-credential-${name}`), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  const saved = { DOCKER_CONFIG: process.env.DOCKER_CONFIG, PATH: process.env.PATH };
  process.env.DOCKER_CONFIG = dir;
  process.env.PATH = `${dir}:${saved.PATH ?? ''}`;
  try {
    await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
}

test('Basic auth: credentials from $DOCKER_CONFIG/config.json', { skip }, async () => {
  await withDockerConfig({ auths: { [`http://${basic.host}`]: { auth: Buffer.from(`${basic.user.username}:${basic.user.password}`).toString('base64') } } }, {}, async () => {
    assert.ok((await new ImageStore({ homeDir: tempHome() }).pull(`${basic.host}/private/app:v1`)).digest.startsWith('sha256:'));
  });
});

test('Basic auth: credentials from the credential helper config.json names for the registry', { skip }, async () => {
  const answer = JSON.stringify({ ServerURL: basic.host, Username: basic.user.username, Secret: basic.user.password });
  await withDockerConfig({ credHelpers: { [basic.host]: 'test' } }, { test: `[ "$(cat)" = "${basic.host}" ] && echo '${answer}'` }, async () => {
    assert.ok((await new ImageStore({ homeDir: tempHome() }).pull(`${basic.host}/private/app:v1`)).digest.startsWith('sha256:'));
  });
});

test('Bearer token challenge: anonymous pull of a public repository', { skip }, async () => {
  const pulled = await new ImageStore({ homeDir: tempHome() }).pull(`${token.host}/public/app:v1`);
  assert.equal(pulled.reference, `${token.host}/public/app:v1`);
});

test('Bearer token challenge: a private repository needs credentials; with them the token server grants pull', { skip }, async () => {
  await assert.rejects(new ImageStore({ homeDir: tempHome() }).pull(`${token.host}/private/app:v1`), imageError(/returned 401.*access to .*private\/app was denied/));
  const bad = new ImageStore({ homeDir: tempHome(), credentials: { [token.host]: { username: 'tester', password: 'nope' } } });
  await assert.rejects(bad.pull(`${token.host}/private/app:v1`), imageError(/token service for registry .* refused a token as user "tester".*401/));
  const good = new ImageStore({ homeDir: tempHome(), credentials: { [token.host]: { username: token.user.username, password: token.user.password } } });
  const pulled = await good.pull(`${token.host}/private/app:v1`);
  assert.equal(pulled.layers.length, 1);
});

test('Bearer token challenge: an identity token from the credsStore helper is traded for a token (OAuth2 refresh grant)', { skip }, async () => {
  const answer = JSON.stringify({ ServerURL: token.host, Username: '<token>', Secret: token.user.identityToken });
  await withDockerConfig({ credsStore: 'test' }, { test: `echo '${answer}'` }, async () => {
    assert.equal((await new ImageStore({ homeDir: tempHome() }).pull(`${token.host}/private/app:v1`)).layers.length, 1);
  });
  await withDockerConfig({ auths: { [token.host]: { identitytoken: 'idt-wrong' } } }, {}, async () => {
    await assert.rejects(new ImageStore({ homeDir: tempHome() }).pull(`${token.host}/private/app:v1`),
      imageError(/refused a token with the identity token from ~\/\.docker\/config\.json: POST .* returned 401/));
  });
});
