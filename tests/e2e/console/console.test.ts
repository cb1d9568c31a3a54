import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startChatServer, textReply, toolCallReply } from '../../skills/assistant/chat-server.js';
import type { ChatServer } from '../../skills/assistant/chat-server.js';
import { assertAccessible, launchBrowser, screenshot } from '../../support/browser.js';
import { Gate, GATED_SERVICE_ENV } from '../../support/gate.js';
import { FLAWED_DEPLOYMENT } from '../../support/manifests.js';
import { PATIENCE_MS } from '../../support/patience.js';
import { needChromium } from '../../support/prerequisites.js';
import { rpc } from '../../support/rpc.js';
import { freePortDecade, startService } from '../../support/service-process.js';
import type { ServiceProcess } from '../../support/service-process.js';
import { waitFor } from '../../support/wait.js';

// The console in a real headless Chromium against two replicas as real
// processes (per-pod stores, owner routing), the console opened on pod 0.
// The assistant talks to a scripted chat-completions server on loopback (no
// model may be called from a test).

let counter = 0;
function message(text: string, metadata: Record<string, unknown>): Record<string, unknown> {
  return { role: 'ROLE_USER', messageId: `console-${process.pid}-${counter++}`, parts: [{ text }], metadata };
}

describe('the console in a browser, against two replicas', needChromium(), () => {
  const dirs: string[] = [];
  const pods: ServiceProcess[] = [];
  let gate: Gate;
  let chat: ChatServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Every URL the page asked for, to hold it to its own origin. */
  const requested: string[] = [];

  before(async () => {
    gate = await Gate.start();
    chat = await startChatServer();
    const ports = await freePortDecade();
    for (let i = 0; i < 2; i++) dirs.push(mkdtempSync(join(tmpdir(), `kagent-console-${i}-`)));
    for (let i = 0; i < 2; i++) {
      pods.push(
        await startService(dirs[i]!, {
          ...GATED_SERVICE_ENV,
          POD_NAME: `kagent-${i}`,
          PORT: String(ports.port(i)),
          A2A_REPLICAS: '2',
          A2A_POD_URL_TEMPLATE: `http://127.0.0.1:${ports.prefix}{ordinal}`,
          A2A_DISCOVERY_INTERVAL: '300ms',
          LLM_URL: chat.baseUrl,
          LLM_MODEL: 'scripted-model',
        }),
      );
    }
    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    context.on('request', (request) => requested.push(request.url()));
    page = await context.newPage();
    page.setDefaultTimeout(PATIENCE_MS);
  });

  after(async () => {
    await browser?.close();
    await Promise.all(pods.map((p) => p.dispose()));
    await gate?.close();
    await chat?.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const open = async (hash: string) => {
    await page.goto(`${pods[0]!.url}/console/${hash}`);
    await page.locator('main').waitFor();
  };

  test('loads at /console and lists tasks of both replicas, newest first', async () => {
    const here = await rpc(pods[0]!.url, 'SendMessage', { message: message('on pod 0', { skill: 'echo' }) });
    const there = await rpc(pods[1]!.url, 'SendMessage', { message: message('on pod 1', { skill: 'echo' }) });
    await open('#/tasks');
    await page.getByRole('heading', { name: 'Tasks' }).waitFor();
    const rows = page.locator('table.tasks tbody tr');
    await waitFor('both tasks in the table', async () => (await rows.count()) >= 2);
    const ids = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-task')));
    assert.deepEqual(ids.slice(0, 2), [there.body.result.task.id, here.body.result.task.id]);
    assert.equal(await rows.first().locator('.state').textContent(), 'completed');
    await screenshot(page, 'tasks');
    await assertAccessible(page, 'tasks');

    // Live: a task sent meanwhile shows up at the top without a reload.
    const later = await rpc(pods[1]!.url, 'SendMessage', { message: message('later', { skill: 'echo' }) });
    await waitFor('the new task at the top of the table', async () => (await rows.first().getAttribute('data-task')) === later.body.result.task.id);
  });

  test('keyboard only: reach the chat from the navigation, send a message and open its task', async () => {
    await open('#/tasks');
    await page.getByRole('heading', { name: 'Tasks' }).waitFor();
    const focused = () => page.evaluate('document.activeElement?.textContent?.trim() ?? ""');
    // The page starts at the skip link, then the views in order.
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Skip to content');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Chat');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Chat' }).waitFor();
    // The view moves the focus to its content once it has rendered: a Tab before that starts from the navigation.
    await waitFor('the focus on the view’s content', async () => (await page.evaluate('document.activeElement?.id')) === 'main');
    // The skills come from the agent card, after the view: typing picks one only once it is listed.
    await page.locator('main select option[value="echo"]').waitFor({ state: 'attached' });
    // Past the "new conversation" line: the skill, then the message.
    await page.keyboard.press('Tab');
    // One key: a select's type-ahead forgets what was typed after a second, and "echo" typed that slowly (a busy
    // machine) ends on help, whose direct reply has no state to wait for. Echo is the only skill that starts with "e".
    await page.keyboard.press('e');
    assert.equal(await page.locator('main select').inputValue(), 'echo');
    await page.keyboard.press('Tab');
    await page.keyboard.type('typed, not clicked');
    for (let i = 0; i < 5 && (await focused()) !== 'Send'; i++) await page.keyboard.press('Tab');
    assert.equal(await focused(), 'Send');
    await page.keyboard.press('Enter');
    const turn = page.locator('.turn').last();
    await turn.locator('.turn-end .state', { hasText: 'completed' }).waitFor();
    assert.equal(await turn.locator('.artifact pre').textContent(), 'typed, not clicked');
    await turn.getByRole('link', { name: 'open task' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /^Task / }).waitFor();
  });

  test('chat: a message to the assistant streams its tool call and its answer to completion', async () => {
    chat.enqueue(
      toolCallReply([{ id: 'call-1', name: 'manifest-review', args: ['{"text": ', JSON.stringify(FLAWED_DEPLOYMENT), '}'] }]),
      textReply(['The deployment ', 'runs a mutable image ', 'tag and has no limits.'], { delayMs: 50 }),
    );
    await open('#/chat');
    await page.getByLabel('Skill').selectOption('assistant');
    await page.getByLabel('Message').fill('Review this deployment please');
    await page.getByRole('button', { name: 'Send' }).click();
    const turn = page.locator('.turn').last();
    await turn.locator('.tool-call', { hasText: 'manifest-review' }).waitFor();
    await turn.getByText('The deployment runs a mutable image tag and has no limits.').waitFor();
    await turn.locator('.turn-end .state', { hasText: 'completed' }).waitFor();
    await page.getByRole('button', { name: 'Send' }).waitFor();
    await screenshot(page, 'chat');
    await assertAccessible(page, 'chat');

    // The next message continues the same context.
    const contextId = await page.locator('section[aria-labelledby="chat-title"] > p code').textContent();
    await page.getByLabel('Skill').selectOption('echo');
    await page.getByLabel('Message').fill('and once more');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.locator('.turn').nth(1).locator('.turn-end .state', { hasText: 'completed' }).waitFor();
    const tasks = await rpc(pods[0]!.url, 'ListTasks', { contextId });
    const skills = (tasks.body.result.tasks as { metadata: { skill: string } }[]).map((t) => t.metadata.skill).sort();
    // The assistant's turn, the review it ran as a tool (a sub-task in the same context), and the echo.
    assert.deepEqual(skills, ['assistant', 'echo', 'manifest-review'], JSON.stringify(tasks.body));

    // A file: the manifests as an attachment, reviewed by the skill chosen.
    await page.getByLabel('Skill').selectOption('manifest-review');
    await page.getByLabel('Attach a file').setInputFiles({ name: 'web.yaml', mimeType: 'application/yaml', buffer: Buffer.from(FLAWED_DEPLOYMENT) });
    await page.getByRole('button', { name: 'Send' }).click();
    const third = page.locator('.turn').nth(2);
    await third.getByText('file web.yaml').waitFor();
    await third.locator('table.findings tbody tr').first().waitFor();
    await third.locator('.turn-end .state', { hasText: 'completed' }).waitFor();
  });

  test('a manifest-review task shows its findings as a table, sortable by severity, with the fix', async () => {
    const sent = await rpc(pods[1]!.url, 'SendMessage', { message: message(FLAWED_DEPLOYMENT, { skill: 'manifest-review' }) });
    const id = sent.body.result.task.id as string;
    assert.equal(sent.body.result.task.status.state, 'TASK_STATE_COMPLETED', JSON.stringify(sent.body));
    await open(`#/tasks/${encodeURIComponent(id)}`);
    const table = page.locator('table.findings');
    await table.waitFor();
    const severities = () => table.locator('tbody tr td:first-child').allTextContents();
    const rank = (s: string) => ['error', 'warning', 'info'].indexOf(s);
    const ascending = await severities();
    assert.ok(ascending.length > 0);
    assert.deepEqual(ascending, [...ascending].sort((a, b) => rank(a) - rank(b)));
    assert.ok((await table.locator('tbody tr td:last-child').first().textContent())!.length > 0, 'each finding has its fix');
    await table.getByRole('button', { name: /Severity/ }).click();
    assert.deepEqual(await severities(), [...ascending].sort((a, b) => rank(b) - rank(a)));
    await screenshot(page, 'task-manifest-review');
    await assertAccessible(page, 'task');
  });

  test('a data artifact is a collapsible JSON tree', async () => {
    const data = { deployment: { name: 'web', replicas: [1, 2] }, ready: false };
    const sent = await rpc(pods[1]!.url, 'SendMessage', {
      message: { role: 'ROLE_USER', messageId: `console-${process.pid}-${counter++}`, parts: [{ data }], metadata: { skill: 'echo' } },
    });
    await open(`#/tasks/${encodeURIComponent(sent.body.result.task.id as string)}`);
    const tree = page.locator('.artifact .json-node').first();
    await tree.waitFor();
    const deployment = tree.locator('details', { hasText: 'deployment' }).first();
    assert.equal(await deployment.getAttribute('open'), null, 'inner nodes start closed');
    await deployment.locator('summary').first().click();
    await deployment.getByText('"web"').waitFor();
    assert.equal(await tree.locator('.json-leaf', { hasText: 'ready' }).locator('.json-boolean').textContent(), 'false');
  });

  test('cancel a running task owned by the other replica', async () => {
    const run = gate.run();
    const sent = await rpc(pods[1]!.url, 'SendMessage', { message: message('hold', run.metadata), configuration: { returnImmediately: true } });
    const id = sent.body.result.task.id as string;
    await run.started();
    await open(`#/tasks/${encodeURIComponent(id)}`);
    await page.getByText('following the task as it runs').waitFor();
    run.say('half way');
    await page.locator('.timeline').getByText('half way').waitFor();
    await page.getByRole('button', { name: 'Cancel task' }).click();
    await page.locator('#task-title .state', { hasText: 'canceled' }).waitFor();
    await run.aborted();
  });

  test('answer an input-required task from the reply box', async () => {
    const sent = await rpc(pods[1]!.url, 'SendMessage', { message: message('please review my manifests', { skill: 'manifest-review' }) });
    const id = sent.body.result.task.id as string;
    assert.equal(sent.body.result.task.status.state, 'TASK_STATE_INPUT_REQUIRED', JSON.stringify(sent.body));
    await open(`#/tasks/${encodeURIComponent(id)}`);
    await page.locator('#task-title .state', { hasText: 'input-required' }).waitFor();
    await page.getByLabel('Your reply').fill(FLAWED_DEPLOYMENT);
    await page.getByRole('button', { name: 'Send reply' }).click();
    await page.locator('#task-title .state', { hasText: 'completed' }).waitFor();
    await page.locator('table.findings').waitFor();
  });

  test('filter the task table by state, skill and context', async () => {
    await open('#/tasks');
    const rows = page.locator('table.tasks tbody tr');
    await page.getByLabel('State').selectOption({ label: 'canceled' });
    await waitFor('only the canceled task', async () => (await rows.count()) === 1 && (await rows.locator('.state').textContent()) === 'canceled');

    await page.getByLabel('State').selectOption({ label: 'any' });
    await page.getByLabel('Skill').selectOption('manifest-review');
    await waitFor('only manifest-review tasks', async () => {
      const skills = await rows.locator('td:nth-child(3)').allTextContents();
      return skills.length >= 2 && skills.every((s) => s === 'manifest-review');
    });

    await page.getByLabel('Skill').selectOption('');
    const contextId = (await rpc(pods[0]!.url, 'ListTasks', { pageSize: 1 })).body.result.tasks[0].contextId as string;
    await page.getByLabel('Context').fill(contextId);
    const inContext = (await rpc(pods[0]!.url, 'ListTasks', { contextId })).body.result.tasks.map((t: { id: string }) => t.id);
    await waitFor('only the tasks of that context', async () => {
      const shown = await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-task')));
      return JSON.stringify(shown) === JSON.stringify(inContext);
    });
    await page.getByLabel('Context').fill('');
    await waitFor('every task again', async () => (await rows.count()) > inContext.length);
    await screenshot(page, 'tasks-all');
  });

  test('pages of the task table follow the page token', async () => {
    // More tasks than one page (25) holds.
    for (let i = 0; i < 26; i++) await rpc(pods[i % 2]!.url, 'SendMessage', { message: message(`page filler ${i}`, { skill: 'echo' }) });
    const total = (await rpc(pods[0]!.url, 'ListTasks', { pageSize: 100 })).body.result.tasks.length as number;
    await open('#/tasks');
    const rows = page.locator('table.tasks tbody tr');
    const ids = () => rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-task')!));
    await waitFor('a full first page', async () => (await rows.count()) === 25);
    const first = await ids();
    await page.getByRole('button', { name: 'Next page' }).click();
    await page.getByText('page 2').waitFor();
    await waitFor('the second page', async () => (await rows.count()) === total - 25);
    const second = await ids();
    assert.deepEqual(first.filter((id) => second.includes(id)), [], 'no task on both pages');
    assert.ok(await page.getByRole('button', { name: 'Next page' }).isDisabled(), 'the last page has no next');
    await page.getByRole('button', { name: 'Previous page' }).click();
    await waitFor('the first page again', async () => JSON.stringify(await ids()) === JSON.stringify(first));
  });

  test('the health view charts this pod\'s metrics', async () => {
    await open('#/health');
    const requests = page.locator('.chart figcaption', { hasText: 'Requests per second' }).locator('strong');
    const latency = page.locator('.chart figcaption', { hasText: 'p99 latency' }).locator('strong');
    // Requests made meanwhile show on the next reading: a rate above zero and a latency.
    await waitFor(
      'the charts to show the requests made',
      async () => {
        await rpc(pods[0]!.url, 'ListTasks', { pageSize: 1 });
        const rate = Number.parseFloat((await requests.textContent()) ?? '');
        const line = (await page.locator('.chart polyline').first().getAttribute('points')) ?? '';
        return rate > 0 && /^\d+ ms$/.test((await latency.textContent()) ?? '') && line.includes(' ');
      },
      PATIENCE_MS,
      200,
    );
    await screenshot(page, 'health');
    await assertAccessible(page, 'health');
  });

  test('the agent view shows the skills, and a peer going from healthy to unreachable when its process stops', async () => {
    await open('#/agent');
    await page.getByRole('heading', { name: 'Skills' }).waitFor();
    // This pod, and the settings in force (from GET /settings).
    await page.locator('.facts dd code', { hasText: 'kagent-0' }).waitFor();
    await page.getByText(/^Settings in force/).click();
    assert.equal(await page.locator('tr[data-setting="A2A_REPLICAS"] td:nth-child(2)').textContent(), '2');
    const peer = page.locator(`tr[data-peer="${pods[1]!.url}"] .state`);
    await peer.filter({ hasText: 'healthy' }).waitFor();
    await screenshot(page, 'agent');
    await assertAccessible(page, 'agent');
    await pods[1]!.dispose();
    await peer.filter({ hasText: 'unreachable' }).waitFor();
  });

  test('the page fetched nothing outside the service', () => {
    const origin = new URL(pods[0]!.url).origin;
    const outside = requested.filter((url) => !url.startsWith('data:') && new URL(url).origin !== origin);
    assert.ok(requested.length > 10, `the page made requests (${requested.length})`);
    assert.deepEqual(outside, []);
  });
});
