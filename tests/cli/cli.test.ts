import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';
import { cli } from './run.js';

describe('kagent-a2a serve refuses bad settings at start', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kagent-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a bad environment value exits 2 naming the setting and what was wrong', async () => {
    const run = await cli(['serve'], { PORT: 'eighty', DATA_DIR: dir });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /PORT/);
    assert.match(run.stderr, /"eighty" is not an integer/);
  });

  test('a bad flag value names the flag as the source', async () => {
    const run = await cli(['serve', '--port', '99999', '--data-dir', dir]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /PORT \(from --port\): 99999 is outside 0\.\.65535/);
  });

  test('an unknown key in the config file is refused, not ignored', async () => {
    const file = join(dir, 'settings.yaml');
    writeFileSync(file, 'LOG_LEVLE: debug\n');
    const run = await cli(['serve', '--config', file, '--data-dir', dir]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /LOG_LEVLE.*not a setting this service knows/);
  });

  test('a bad value in a mounted ConfigMap directory is refused at start', async () => {
    const configDir = join(dir, 'configmap');
    rmSync(configDir, { recursive: true, force: true });
    writeFileSync(join(dir, 'placeholder'), '');
    await import('node:fs').then((fs) => fs.mkdirSync(configDir));
    writeFileSync(join(configDir, 'A2A_DISCOVERY_INTERVAL'), 'every so often\n');
    const run = await cli(['serve', '--data-dir', dir], { CONFIG_PATH: configDir });
    assert.equal(run.code, 2);
    assert.match(run.stderr, /A2A_DISCOVERY_INTERVAL/);
  });

  test('an unknown flag exits 2 with the usage', async () => {
    const run = await cli(['serve', '--prot', '8080']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /Unknown option '--prot'/);
    assert.match(run.stderr, /kagent-a2a serve \[--port N\]/);
  });

  test('a data dir that cannot be created stops the service with a non-zero exit', async () => {
    const blocker = join(dir, 'not-a-dir');
    writeFileSync(blocker, 'a file where the data dir should go');
    const run = await cli(['serve', '--port', '0', '--data-dir', join(blocker, 'data')]);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /ENOTDIR|not a directory/i);
  });
});

describe('kagent-a2a client commands against a running agent', () => {
  let agent: TestAgent;
  let url: string;
  before(async () => {
    agent = await startTestAgent();
    url = `http://127.0.0.1:${agent.port}`;
  });
  after(() => agent.dispose());

  test('card shows the agent and its skills', async () => {
    const run = await cli(['card', url]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^kagent 0\.1\.0/);
    assert.match(run.stdout, /echo: Returns the parts/);
    const json = JSON.parse((await cli(['card', url, '--json'])).stdout) as { supportedInterfaces: { protocolBinding: string; protocolVersion: string }[] };
    assert.deepEqual(json.supportedInterfaces.map((i) => `${i.protocolBinding} ${i.protocolVersion}`), ['JSONRPC 1.0', 'JSONRPC 0.3', 'HTTP+JSON 1.0']);
  });

  test('send waits for the task and prints its artifact; get and tasks find it again', async () => {
    const sent = await cli(['send', url, 'hello from the cli']);
    assert.equal(sent.code, 0, sent.stderr);
    const id = /^task (\S+)\s+completed/m.exec(sent.stdout)?.[1];
    assert.ok(id, sent.stdout);
    assert.match(sent.stdout, /artifact echo: hello from the cli/);
    const got = await cli(['get', url, id, '--json']);
    assert.equal(got.code, 0, got.stderr);
    const task = JSON.parse(got.stdout) as { id: string; status: { state: string } };
    assert.equal(task.id, id);
    assert.equal(task.status.state, 'TASK_STATE_COMPLETED');
    const listed = await cli(['tasks', url, '--state', 'completed']);
    assert.match(listed.stdout, new RegExp(id.replace(/\./g, '\\.')));
  });

  test('send --stream prints each event as it arrives', async () => {
    const run = await cli(['send', url, 'streamed', '--stream']);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.match(lines[0]!, /^task \S+\s+submitted/);
    assert.match(lines.at(-1)!, /completed/);
    assert.ok(lines.some((l) => /artifact echo: streamed/.test(l)));
  });

  test('send --no-wait returns at once; cancel stops the running task', async () => {
    // Minutes of work: the task is still running whenever the cancel gets there, however slow the machine.
    const started = await cli(['send', url, 'slow', '--no-wait', '--metadata', '{"delayMs": 300000}', '--json']);
    assert.equal(started.code, 0, started.stderr);
    const { task } = JSON.parse(started.stdout) as { task: { id: string; status: { state: string } } };
    assert.notEqual(task.status.state, 'TASK_STATE_COMPLETED');
    const run = await cli(['cancel', url, task.id]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /canceled/);
    const bad = await cli(['send', url, 'x', '--metadata', '[1]']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--metadata takes a JSON object/);
  });

  test('errors exit with codes that tell them apart', async () => {
    const missing = await cli(['get', url, 'no-such-task']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not found \(error -32001\)/);
    const unreachable = await cli(['card', 'http://127.0.0.1:1']);
    assert.equal(unreachable.code, 3);
    assert.match(unreachable.stderr, /cannot reach/);
    const usage = await cli(['get', url]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /usage: kagent-a2a get URL TASK/);
    const unknown = await cli(['frobnicate']);
    assert.equal(unknown.code, 2);
  });
});

describe('kagent-a2a peers', () => {
  test('shows the discovered peers and their state, and --json the registry', async () => {
    const { startFakePeer } = await import('../support/fake-peer.js');
    const { waitFor } = await import('../support/wait.js');
    const { closedPort } = await import('../peers/client/servers.js');
    const peer = await startFakePeer('vapora');
    const dead = `http://127.0.0.1:${await closedPort()}`;
    const agent = await startTestAgent({ VAPORA_URL: peer.url, A2A_PEERS: dead, A2A_DISCOVERY_INTERVAL: '100ms' });
    const url = `http://127.0.0.1:${agent.port}`;
    try {
      await waitFor('both peers checked', async () => {
        const peers = JSON.parse((await cli(['peers', url, '--json'])).stdout) as { state: string }[];
        return peers.length === 2 && peers.every((p) => p.state !== 'pending');
      });
      const run = await cli(['peers', url]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, new RegExp(`healthy\\s+${peer.url.replace(/\./g, '\\.')}\\s+\\(vapora: vapora\\)`));
      assert.match(run.stdout, new RegExp(`unreachable\\s+${dead.replace(/\./g, '\\.')}\\s+\\(config\\)`));
      assert.match(run.stdout, /last error \(.*\): .*ECONNREFUSED/);
      assert.match(run.stdout, /skills: summarize/);
    } finally {
      await agent.dispose();
      await peer.close();
    }
  });

  test('a URL that is not a kagent-a2a service, or not reachable, exits non-zero saying so', async () => {
    const unreachable = await cli(['peers', 'http://127.0.0.1:1']);
    assert.equal(unreachable.code, 3);
    assert.match(unreachable.stderr, /cannot reach http:\/\/127\.0\.0\.1:1\/peers/);
  });
});
