// Credentials from Docker's config.json (DOCKER_CONFIG honoured) and from options.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { credentialFor, credentialKeyHost, dockerConfigCredentials } from '../../../src/images/registry/credentials.js';

test('config.json keys name hosts', () => {
  assert.equal(credentialKeyHost('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(credentialKeyHost('http://127.0.0.1:5000/'), '127.0.0.1:5000');
  assert.equal(credentialKeyHost('ghcr.io'), 'ghcr.io');
});

test('reads auths from $DOCKER_CONFIG/config.json; options win', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'boxlite-dockercfg-'));
  try {
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
      auths: {
        '127.0.0.1:5000': { auth: Buffer.from('alice:pa:ss').toString('base64') },
        'https://index.docker.io/v1/': { auth: Buffer.from('bob:hub').toString('base64') },
        'ghcr.io': { username: 'carol', password: 'tok' },
        'empty.io': {},
      },
      credsStore: 'desktop',
    }));
    const env = { DOCKER_CONFIG: dir };
    assert.deepEqual(dockerConfigCredentials(env), {
      '127.0.0.1:5000': { username: 'alice', password: 'pa:ss' },
      'docker.io': { username: 'bob', password: 'hub' },
      'ghcr.io': { username: 'carol', password: 'tok' },
    });
    assert.deepEqual(credentialFor('127.0.0.1:5000', { '127.0.0.1:5000': { username: 'o', password: 'p' } }, env), { username: 'o', password: 'p' });
    assert.deepEqual(credentialFor('docker.io', undefined, env), { username: 'bob', password: 'hub' });
    assert.equal(credentialFor('quay.io', undefined, env), undefined);
    assert.deepEqual(dockerConfigCredentials({ DOCKER_CONFIG: path.join(dir, 'missing') }), {});
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
