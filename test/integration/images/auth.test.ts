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
  const store = new ImageStore({ homeDir: tempHome(), credentials: { [basic.host]: basic.user } });
  assert.ok((await store.pull(`${basic.host}/private/app:v1`)).digest.startsWith('sha256:'));
});

test('Basic auth: credentials from $DOCKER_CONFIG/config.json', { skip }, async () => {
  const dir = tempHome();
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ auths: { [`http://${basic.host}`]: { auth: Buffer.from(`${basic.user.username}:${basic.user.password}`).toString('base64') } } }));
  const saved = process.env.DOCKER_CONFIG;
  process.env.DOCKER_CONFIG = dir;
  try {
    assert.ok((await new ImageStore({ homeDir: tempHome() }).pull(`${basic.host}/private/app:v1`)).digest.startsWith('sha256:'));
  } finally {
    if (saved === undefined) delete process.env.DOCKER_CONFIG; else process.env.DOCKER_CONFIG = saved;
  }
});

test('Bearer token challenge: anonymous pull of a public repository', { skip }, async () => {
  const pulled = await new ImageStore({ homeDir: tempHome() }).pull(`${token.host}/public/app:v1`);
  assert.equal(pulled.reference, `${token.host}/public/app:v1`);
});

test('Bearer token challenge: a private repository needs credentials; with them the token server grants pull', { skip }, async () => {
  await assert.rejects(new ImageStore({ homeDir: tempHome() }).pull(`${token.host}/private/app:v1`), imageError(/returned 401.*access to .*private\/app was denied/));
  const bad = new ImageStore({ homeDir: tempHome(), credentials: { [token.host]: { username: 'tester', password: 'nope' } } });
  await assert.rejects(bad.pull(`${token.host}/private/app:v1`), imageError(/token service for registry .* refused a token as user "tester".*401/));
  const good = new ImageStore({ homeDir: tempHome(), credentials: { [token.host]: token.user } });
  const pulled = await good.pull(`${token.host}/private/app:v1`);
  assert.equal(pulled.layers.length, 1);
});
