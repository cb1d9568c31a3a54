import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { Authenticator } from '../../src/auth/authenticator.js';
import { CALLER_ASSERTION_HEADER, ClusterAssertion, clusterAssertionVerifier } from '../../src/auth/cluster-assertion.js';
import { Metrics } from '../../src/observability/metrics.js';
import { AuthGate } from '../../src/transport/auth-gate.js';

// A credential that cannot be checked right now (503) has more than one cause;
// the log line must name the one at hand, not guess.
describe('AuthGate: a credential that cannot be checked now', () => {
  let root: string;
  let server: Server;
  let url: string;
  let assertion: ClusterAssertion;
  const lines: Record<string, unknown>[] = [];

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-auth-gate-'));
    writeFileSync(join(root, 'cluster-secret'), 'a-cluster-secret-of-at-least-32-bytes!!');
    // Room for one relayed assertion at a time: the second one in its lifetime cannot be remembered.
    assertion = ClusterAssertion.fromFile(join(root, 'cluster-secret'), 'AUTH_CLUSTER_SECRET_FILE', 1);
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
          done();
        },
      }),
    );
    const gate = new AuthGate({
      authenticator: new Authenticator('apikey', [clusterAssertionVerifier(assertion, 'kagent-1')], []),
      maxBodyBytes: 1024,
      metrics: new Metrics(),
      logger,
    });
    server = createServer((req, res) => {
      void Promise.resolve(gate.admit(req, res)).then((caller) => {
        if (caller !== undefined) res.end(caller.principal);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    rmSync(root, { recursive: true, force: true });
  });

  test('a replica with no room for another relayed assertion answers 503 and logs that reason, not the signing keys', async () => {
    const relayed = () => ({ [CALLER_ASSERTION_HEADER]: assertion.sign({ tenant: 'default', principal: 'alice' }, 'kagent-1') });
    const first = await fetch(url, { method: 'POST', headers: relayed() });
    assert.equal(first.status, 200);
    assert.equal(await first.text(), 'alice');
    const second = await fetch(url, { method: 'POST', headers: relayed() });
    assert.equal(second.status, 503);
    assert.ok(Number(second.headers.get('retry-after')) >= 1);
    const line = lines.find((l) => l.msg !== undefined && String(l.msg).includes('could not be checked'));
    assert.ok(line !== undefined, JSON.stringify(lines));
    assert.match(String(line.reason), /too many relayed requests/);
    assert.doesNotMatch(String(line.msg), /signing keys/);
  });
});
