import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportSPKI, importJWK } from 'jose';
import { waitFor } from '../support/wait.js';
import { AUDIENCE, bearer, ISSUER, newApiKey, newSigningKey, signToken } from '../support/auth.js';
import type { SigningKey } from '../support/auth.js';
import { ConfigMapDir } from '../support/configmap-dir.js';
import { rpc } from '../support/rpc.js';
import { startService } from '../support/service-process.js';
import type { ServiceProcess } from '../support/service-process.js';

async function pemOf(key: SigningKey): Promise<string> {
  return exportSPKI((await importJWK(key.publicJwk, 'RS256', { extractable: true })) as Parameters<typeof exportSPKI>[0]);
}

describe('AUTH_JWT_PUBLIC_KEY_FILE and METRICS_TOKEN_FILE follow a rotated Secret (a real service process)', () => {
  let root: string;
  let secret: ConfigMapDir;
  let service: ServiceProcess;
  let first: SigningKey;
  let second: SigningKey;
  const firstToken = newApiKey();
  const secondToken = newApiKey();

  const listWith = async (key: SigningKey) => (await rpc(service.url, 'ListTasks', {}, bearer(await signToken(key)))).status;
  const metricsWith = async (token: string) => {
    const res = await fetch(`${service.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    await res.arrayBuffer();
    return res.status;
  };

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-secret-rotation-'));
    [first, second] = await Promise.all([newSigningKey('first', 'RS256'), newSigningKey('second', 'RS256')]);
    // Laid out like a mounted Secret: updates are the kubelet's `..data` symlink swap.
    secret = new ConfigMapDir(join(root, 'secret'));
    secret.update({ 'issuer.pem': await pemOf(first), 'metrics-token': `${firstToken}\n` });
    service = await startService(join(root, 'data'), {
      AUTH_MODE: 'jwt',
      AUTH_JWT_PUBLIC_KEY_FILE: join(secret.path, 'issuer.pem'),
      AUTH_ISSUER: ISSUER,
      AUTH_AUDIENCE: AUDIENCE,
      METRICS_TOKEN_FILE: join(secret.path, 'metrics-token'),
      LOG_LEVEL: 'info',
    });
  });

  after(async () => {
    await service?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test('before the rotation: the first key and token work, the second do not', async () => {
    assert.equal(await listWith(first), 200);
    assert.equal(await listWith(second), 401);
    assert.equal(await metricsWith(firstToken), 200);
    assert.equal(await metricsWith(secondToken), 401);
  });

  test('a rotated key and token are in force without a restart; the old ones are refused', async () => {
    secret.update({ 'issuer.pem': await pemOf(second), 'metrics-token': secondToken });
    await waitFor('tokens signed by the new key to be served', async () => ((await listWith(second)) === 200 ? true : undefined));
    await waitFor('the new metrics token to be accepted', async () => ((await metricsWith(secondToken)) === 200 ? true : undefined));
    assert.equal(await listWith(first), 401);
    assert.equal(await metricsWith(firstToken), 401);
    await waitFor('the log line the token verification key was reloaded', () => /the token verification key was reloaded/.test(service.output()));
    await waitFor('the log line the metrics token was reloaded', () => /the metrics token was reloaded/.test(service.output()));
  });

  test('a malformed file keeps the last good key and token in force, and says so in the log', async () => {
    secret.update({ 'issuer.pem': '-----BEGIN PUBLIC KEY-----\nnot a key\n-----END PUBLIC KEY-----', 'metrics-token': 'short' });
    await waitFor('the bad key file to be reported', async () => (/the token verification key file cannot be used/.test(service.output()) ? true : undefined));
    await waitFor('the bad token file to be reported', async () => (/the metrics token file cannot be used/.test(service.output()) ? true : undefined));
    await waitFor('the log line at least 16 characters', () => /at least 16 characters/.test(service.output()));
    assert.equal(await listWith(second), 200);
    assert.equal(await listWith(first), 401);
    assert.equal(await metricsWith(secondToken), 200);
    assert.equal(await metricsWith('short'), 401);
  });

  test('a file that disappears keeps the last good values; the service keeps serving', async () => {
    const reports = (service.output().match(/cannot be used/g) ?? []).length;
    secret.update({});
    await waitFor('the missing files to be reported', async () => ((service.output().match(/cannot be used/g) ?? []).length >= reports + 2 ? true : undefined));
    await waitFor('the log line ENOENT', () => /ENOENT/.test(service.output()));
    assert.equal(await listWith(second), 200);
    assert.equal(await metricsWith(secondToken), 200);
    // And it comes back: the files return with a fresh rotation.
    secret.update({ 'issuer.pem': await pemOf(first), 'metrics-token': firstToken });
    await waitFor('the returned key to be in force', async () => ((await listWith(first)) === 200 ? true : undefined));
    await waitFor('the returned token to be in force', async () => ((await metricsWith(firstToken)) === 200 ? true : undefined));
    assert.equal(await listWith(second), 401);
    assert.equal(service.output().includes(firstToken), false, 'a token was logged');
    assert.equal(service.output().includes(secondToken), false, 'a token was logged');
    assert.equal(service.child.exitCode, null);
  });
});
