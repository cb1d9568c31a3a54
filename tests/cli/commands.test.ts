import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CLIENT_COMMANDS, parseTaskState } from '../../src/cli/client-commands.js';
import { TASK_STATES } from '../../src/model/model.js';
import { A2AClient, userText } from '../../src/peers/client/index.js';
import * as v1 from '../../src/protocol/v1/codec.js';
import { startTestAgent } from '../support/agent.js';
import type { TestAgent } from '../support/agent.js';
import { rpc } from '../support/rpc.js';
import { cli, cliAll, liveCli } from './run.js';

// The client commands as a user meets them, each run as its own process
// against a real agent on loopback: what --json prints, usage errors and exit
// codes, subscribe, --help and --version, the URLs people paste, and a reader
// that stops early.

const PACKAGE_VERSION = (JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
/** Long enough that the task cannot end by itself while a test watches it; the test cancels it. */
const LONG_MS = 300_000;

function wireOf(stdout: string): any {
  return JSON.parse(stdout);
}

describe('kagent-a2a client commands', () => {
  let agent: TestAgent;
  let url: string;
  let client: A2AClient;
  before(async () => {
    agent = await startTestAgent();
    url = `http://127.0.0.1:${agent.port}`;
    client = await A2AClient.connect(url);
  });
  after(() => agent.dispose());

  /** A task that keeps working until canceled, started through the library. */
  async function longTask(text = 'long'): Promise<string> {
    const result = await client.send(userText(text, { metadata: { delayMs: LONG_MS } }), { returnImmediately: true, deadlineMs: 10_000 });
    assert.equal(result.kind, 'task');
    return result.kind === 'task' ? result.task.id : '';
  }

  describe('--json prints the A2A 1.0 wire objects', () => {
    test('send, get, tasks and cancel print what the JSON-RPC binding answers, which the 1.0 codec reads back', async () => {
      const sent = await cli(['send', url, 'on the wire', '--skill', 'echo', '--json']);
      assert.equal(sent.code, 0, sent.stderr);
      const result = wireOf(sent.stdout);
      assert.deepEqual(Object.keys(result), ['task']);
      assert.equal(result.task.status.state, 'TASK_STATE_COMPLETED');
      assert.equal(result.task.history[0].role, 'ROLE_USER');
      assert.deepEqual(result.task.artifacts[0].parts, [{ text: 'on the wire' }]);
      assert.doesNotMatch(sent.stdout, /"kind"/);
      assert.equal(v1.decodeStreamItem(result, 'result').kind, 'task');

      const id = result.task.id as string;
      const got = await cli(['get', url, id, '--json']);
      assert.equal(got.code, 0, got.stderr);
      // Exactly what the quickstart's curl GetTask shows.
      const curl = (await rpc(url, 'GetTask', { id })).body.result;
      assert.deepEqual(wireOf(got.stdout), curl);

      const listed = await cli(['tasks', url, '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      const page = wireOf(listed.stdout);
      assert.ok(page.tasks.length >= 1);
      for (const task of page.tasks) {
        assert.match(task.status.state, /^TASK_STATE_/);
        v1.decodeTask(task, 'task');
      }
      assert.equal(typeof page.totalSize, 'number');

      const running = await longTask();
      const canceled = await cli(['cancel', url, running, '--json']);
      assert.equal(canceled.code, 0, canceled.stderr);
      assert.equal(wireOf(canceled.stdout).status.state, 'TASK_STATE_CANCELED');
    });

    test('send --stream --json prints one StreamResponse per line', async () => {
      const run = await cli(['send', url, 'streamed', '--stream', '--json']);
      assert.equal(run.code, 0, run.stderr);
      const lines = run.stdout.trim().split('\n');
      const items = lines.map((line, i) => v1.decodeStreamItem(JSON.parse(line), `line ${i + 1}`));
      assert.equal(items[0]?.kind, 'task');
      assert.ok('task' in JSON.parse(lines[0]!));
      const last = JSON.parse(lines.at(-1)!);
      assert.equal(last.statusUpdate.status.state, 'TASK_STATE_COMPLETED');
      assert.doesNotMatch(run.stdout, /"kind"/);
    });
  });

  describe('tasks --state', () => {
    test('takes both spellings, in any case', async () => {
      const sent = wireOf((await cli(['send', url, 'to be listed', '--json'])).stdout);
      const id = sent.task.id as string;
      for (const spelling of ['completed', 'TASK_STATE_COMPLETED', 'Completed', 'task_state_completed']) {
        const run = await cli(['tasks', url, '--state', spelling]);
        assert.equal(run.code, 0, `${spelling}: ${run.stderr}`);
        assert.ok(run.stdout.includes(id), `${spelling} did not list ${id}:\n${run.stdout}`);
      }
      const working = await cli(['tasks', url, '--state', 'TASK_STATE_INPUT_REQUIRED']);
      assert.equal(working.code, 0, working.stderr);
      assert.ok(!working.stdout.includes(id));
    });

    test('an unknown state is a usage error (exit 2) whose list of names the option accepts, every one', async () => {
      const run = await cli(['tasks', url, '--state', 'bogus']);
      assert.equal(run.code, 2);
      assert.match(run.stderr, /--state takes one of .*got "bogus"/);
      const listed = /one of ([^(]+)\(/.exec(run.stderr)?.[1]?.split(',').map((s) => s.trim()).filter(Boolean) ?? [];
      assert.deepEqual(listed, [...TASK_STATES]);
      const wire = [...run.stderr.matchAll(/TASK_STATE_[A-Z_]+/g)].map((m) => m[0]);
      assert.ok(wire.length > 0, run.stderr);
      for (const name of [...listed, ...wire]) assert.doesNotThrow(() => parseTaskState(name), name);
      // And the agent takes what the CLI makes of them.
      const runs = await cliAll([listed.at(-1)!, wire.at(-1)!].map((name) => ['tasks', url, '--state', name, '--limit', '1']));
      runs.forEach((r) => assert.equal(r.code, 0, r.stderr));
    });
  });

  test('every usage mistake exits 2 and says what was wrong, before anything is sent', async () => {
    const cases: [string[], RegExp][] = [
      [['get', url], /the TASK id is missing/],
      [['send', url], /the TEXT to send is missing/],
      [['get', url, 'a', 'b'], /unexpected argument "b"/],
      [['tasks', url, '--limit', '0'], /--limit takes a whole number from 1 to 100, got "0"/],
      [['tasks', url, '--limit', 'ten'], /--limit takes a whole number/],
      [['get', url, 'x', '--history', '-1'], /--history|Unknown option/],
      [['get', url, 'x', '--history', 'all'], /--history takes a whole number/],
      [['send', url, 'x', '--metadata', '{nope'], /--metadata takes a JSON object/],
      [['card', url, '--stream'], /card takes no --stream option/],
      [['tasks', url, '--frobnicate'], /Unknown option '--frobnicate'/],
      [['card'], /the agent URL is missing/],
      [[], /Usage:/],
      [['frobnicate'], /unknown command "frobnicate"/],
      [['help', 'frobnicate'], /unknown command "frobnicate"/],
    ];
    const before = (await rpc(url, 'ListTasks', {})).body.result.totalSize as number;
    const runs = await cliAll(cases.map(([args]) => args));
    runs.forEach((run, i) => {
      const [args, message] = cases[i]!;
      assert.equal(run.code, 2, `${args.join(' ')}: exit ${run.code}\n${run.stderr}`);
      assert.match(run.stderr, message, args.join(' '));
      assert.equal(run.stdout, '', `${args.join(' ')} printed on stdout`);
    });
    assert.equal((await rpc(url, 'ListTasks', {})).body.result.totalSize, before, 'a usage mistake sent a message');
  });

  describe('subscribe', () => {
    test('reattaches to a running task and prints its events live until it ends', async () => {
      const id = await longTask('follow me');
      const run = liveCli(['subscribe', url, id]);
      try {
        assert.match(await run.nextLine(), new RegExp(`^task ${id.replace(/\./g, '\\.')}\\s+working`));
        // Progress arrives while the task runs: one line each, the state said once.
        const progress = await run.nextLine(60_000);
        assert.match(progress, /^\s+working: \d+s of 300s$/);
        await client.cancelTask(id, { deadlineMs: 10_000 });
        let line = await run.nextLine();
        while (/working/.test(line)) line = await run.nextLine();
        assert.match(line, /^\s+canceled/);
        assert.equal(await run.exit(), 0, run.stderr());
      } finally {
        run.kill();
      }
    });

    test('--json prints each event as a 1.0 StreamResponse line', async () => {
      const id = await longTask();
      const run = liveCli(['subscribe', url, id, '--json']);
      try {
        const first = JSON.parse(await run.nextLine());
        assert.equal(first.task.id, id);
        assert.equal(first.task.status.state, 'TASK_STATE_WORKING');
        await client.cancelTask(id, { deadlineMs: 10_000 });
        let event = JSON.parse(await run.nextLine());
        while (event.statusUpdate?.status.state === 'TASK_STATE_WORKING') event = JSON.parse(await run.nextLine());
        assert.equal(event.statusUpdate.status.state, 'TASK_STATE_CANCELED');
        assert.equal(v1.decodeStreamItem(event, 'event').kind, 'status-update');
        assert.equal(await run.exit(), 0, run.stderr());
      } finally {
        run.kill();
      }
    });

    test('a task that has already ended is printed as it ended; an unknown one exits 1', async () => {
      const done = wireOf((await cli(['send', url, 'finished', '--json'])).stdout).task.id as string;
      const run = await cli(['subscribe', url, done]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^task \S+\s+completed/);
      const json = await cli(['subscribe', url, done, '--json']);
      assert.equal(JSON.parse(json.stdout.trim()).task.status.state, 'TASK_STATE_COMPLETED');
      const missing = await cli(['subscribe', url, 'no-such-task']);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /not found \(error -32001\)/);
    });
  });

  test('--help on every command prints its usage and exits 0; --version prints the package version', async () => {
    const commands = ['serve', ...CLIENT_COMMANDS];
    assert.ok(CLIENT_COMMANDS.includes('subscribe'));
    const asked = [...commands.map((command) => [command, '--help']), ['help', 'subscribe'], ['help', 'serve'], ['get', '-h']];
    const runs = await cliAll(asked);
    runs.forEach((run, i) => {
      const command = asked[i]![0] === 'help' ? asked[i]![1]! : asked[i]![0]!;
      assert.equal(run.code, 0, `${command}: ${run.stderr}`);
      assert.match(run.stdout, new RegExp(`kagent-a2a ${command}\\b`), command);
      assert.equal(run.stderr, '');
    });
    const send = await cli(['send', '--help']);
    for (const option of ['--skill', '--stream', '--no-wait', '--metadata', '--json']) assert.ok(send.stdout.includes(option), option);
    const version = await cli(['--version']);
    assert.equal(version.code, 0);
    assert.equal(version.stdout.trim(), `kagent-a2a ${PACKAGE_VERSION}`);
  });

  describe('the agent URL', () => {
    test('a URL that is not one is a usage error naming it', async () => {
      const cases: [string, RegExp][] = [
        ['notaurl', /"notaurl" is not a URL/],
        ['localhost:8080', /"localhost:8080" is not an http or https URL; did you mean http:\/\/localhost:8080\?/],
        ['ftp://127.0.0.1/', /"ftp:\/\/127\.0\.0\.1\/" is not an http or https URL/],
        [`${url}/?x=1`, /has a query or fragment/],
        ['http://user:secret@127.0.0.1:1', /carries credentials/],
      ];
      const runs = await cliAll([...cases.map(([bad]) => ['card', bad]), ['peers', cases[0]![0]]]);
      runs.forEach((run, i) => {
        const [bad, message] = cases[i % cases.length]!;
        assert.equal(run.code, 2, `${bad}: ${run.stderr}`);
        assert.match(run.stderr, message);
        assert.doesNotMatch(run.stderr, /secret/, 'a password is never echoed');
      });
    });

    test('a pasted card URL is taken as the base URL it belongs to', async () => {
      for (const path of ['/.well-known/agent-card.json', '/.well-known/agent.json']) {
        const card = await cli(['card', `${url}${path}`]);
        assert.equal(card.code, 0, card.stderr);
        assert.match(card.stdout, new RegExp(`endpoint: ${url.replace(/\./g, '\\.')}/, JSONRPC A2A 1\\.0`));
        const listed = await cli(['tasks', `${url}${path}`]);
        assert.equal(listed.code, 0, listed.stderr);
        const peers = await cli(['peers', `${url}${path}`]);
        assert.equal(peers.code, 0, peers.stderr);
      }
    });

    test('an incomplete or invalid card is a malformed answer (exit 4)', async () => {
      const cards: [string, string][] = [
        ['{"name": "half an agent", "skills": []}', 'declares no interface'],
        ['{"name": "x", "supportedInterfaces": [{"protocolBinding": "JSONRPC", "protocolVersion": "1.0"}]}', 'declares no interface'],
        ['{"name": "x", "supportedInterfaces": [{"url": "http://[broken", "protocolBinding": "JSONRPC", "protocolVersion": "1.0"}]}', 'is not a URL'],
        ['[1, 2]', 'not a JSON object'],
        ['<html>a web page</html>', 'not JSON'],
      ];
      const server = createServer((req, res) => {
        const index = Number(/^\/(\d+)\//.exec(req.url ?? '')?.[1]);
        const body = cards[index]?.[0];
        if (body === undefined) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-type': 'application/json' }).end(body);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      try {
        for (const [i, [, why]] of cards.entries()) {
          const run = await cli(['card', `${base}/${i}`]);
          assert.equal(run.code, 4, `card ${i}: exit ${run.code}: ${run.stderr}`);
          assert.match(run.stderr, /malformed|not JSON/);
          assert.ok(run.stderr.includes(why), `card ${i}: ${run.stderr}`);
        }
      } finally {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    });
  });

  test('a reader that closes after the first line ends the CLI quietly (EPIPE)', async () => {
    const id = await longTask('piped');
    const run = liveCli(['subscribe', url, id, '--json']);
    try {
      JSON.parse(await run.nextLine());
      run.closeStdout();
      // The task reports progress each second and runs for minutes: the CLI ends only
      // because the events it goes on writing meet a closed pipe.
      assert.equal(await run.exit(60_000), 0, run.stderr());
      assert.equal(run.stderr(), '');
    } finally {
      run.kill();
      await client.cancelTask(id, { deadlineMs: 10_000 });
    }
  });

  describe('what get and tasks show', () => {
    test('get --history N shows the last N messages of the task', async () => {
      // delayMs 1: progress messages join the history after the user's (how many depends on the clock, so the test reads them).
      const id = wireOf((await cli(['send', url, 'remember this', '--metadata', '{"delayMs": 1}', '--json'])).stdout).task.id as string;
      const all = await cli(['get', url, id, '--history', '5']);
      assert.equal(all.code, 0, all.stderr);
      const listed = /history \((\d+) messages, oldest first\):\n((?:\s+.+\n?)+)/.exec(all.stdout);
      assert.ok(listed, all.stdout);
      const lines = listed[2]!.trimEnd().split('\n').map((line) => line.trim());
      assert.equal(lines.length, Number(listed[1]));
      assert.ok(lines.length >= 2, all.stdout);
      assert.equal(lines[0], 'user: remember this');
      assert.equal(lines[1], 'agent: echoing in 1 ms');
      const newest = lines.at(-1)!;
      const last = await cli(['get', url, id, '--history', '1']);
      assert.equal(last.stdout.trimEnd().split('\n').slice(-2).map((line) => line.trim()).join('\n'), `history (1 message, oldest first):\n${newest}`);
      assert.doesNotMatch(last.stdout, /user: remember this/);
      const none = await cli(['get', url, id, '--history', '0']);
      assert.match(none.stdout, /history: none/);
      const json = wireOf((await cli(['get', url, id, '--history', '1', '--json'])).stdout);
      assert.deepEqual(json.history.map((m: any) => `agent: ${m.parts[0].text}`), [newest]);
      const plain = await cli(['get', url, id]);
      assert.doesNotMatch(plain.stdout, /history/);
    });

    test("tasks shows each task's skill and the start of its text on one line", async () => {
      const long = `please review ${'this rather long request '.repeat(5)}`;
      const named = wireOf((await cli(['send', url, long, '--skill', 'echo', '--json'])).stdout).task.id as string;
      const routed = wireOf((await cli(['send', url, 'line one\nline two', '--json'])).stdout).task.id as string;
      const run = await cli(['tasks', url, '--limit', '100']);
      assert.equal(run.code, 0, run.stderr);
      const line = (id: string) => run.stdout.split('\n').find((l) => l.startsWith(id)) ?? '';
      const snippet = /\scompleted\s+\S+Z\s+echo\s+(".*")$/.exec(line(named))?.[1] ?? '';
      assert.ok(snippet.startsWith('"please review this rather long request') && snippet.endsWith('…"'), line(named));
      assert.ok(snippet.length < 60, `the snippet is short: ${snippet}`);
      // Without --skill the agent routed it; the task says which skill runs it.
      assert.match(line(routed), /\secho\s+"line one line two"$/);
    });

    test('streamed progress says the state once', async () => {
      const id = await longTask('progress');
      const run = liveCli(['subscribe', url, id]);
      try {
        await run.nextLine();
        const progress = await run.nextLine(60_000);
        assert.doesNotMatch(progress, /working: working/);
        assert.match(progress, /^ {2}working: \d+s of \d+s$/);
      } finally {
        run.kill();
        await client.cancelTask(id, { deadlineMs: 10_000 });
      }
    });
  });
});
