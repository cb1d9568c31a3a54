import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { startTestAgent } from '../../support/agent.js';
import type { TestAgent } from '../../support/agent.js';
import { bearer, newApiKey } from '../../support/auth.js';
import { assertAccessible, launchBrowser, screenshot } from '../../support/browser.js';
import { PATIENCE_MS } from '../../support/patience.js';
import { needChromium } from '../../support/prerequisites.js';
import { rpc, textMessage } from '../../support/rpc.js';

// With authentication on, the page itself loads (it is static and public like
// the agent card) but shows nothing until the caller signs in; every call it
// then makes carries the key, which lives in the page's memory only.

describe('signing in to the console when authentication is on', needChromium(), () => {
  let root: string;
  let agent: TestAgent;
  let browser: Browser;
  let page: Page;
  const key = newApiKey();
  const otherKey = newApiKey();

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'kagent-console-auth-'));
    const keys = join(root, 'keys');
    mkdirSync(keys);
    writeFileSync(join(keys, 'operator'), key);
    writeFileSync(join(keys, 'someone-else'), otherKey);
    agent = await startTestAgent({ AUTH_MODE: 'apikey', AUTH_API_KEYS_DIR: keys });
    browser = await launchBrowser();
    page = await (await browser.newContext({ colorScheme: 'dark' })).newPage();
    page.setDefaultTimeout(PATIENCE_MS);
  });

  after(async () => {
    await browser?.close();
    await agent?.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  test('the page asks for a credential, refuses a wrong one and shows the tasks after the right one', async () => {
    const mine = await rpc(agent.url, 'SendMessage', { message: textMessage('mine', { metadata: { skill: 'echo' } }) }, bearer(key));
    const theirs = await rpc(agent.url, 'SendMessage', { message: textMessage('theirs', { metadata: { skill: 'echo' } }) }, bearer(otherKey));
    assert.equal(mine.status, 200, JSON.stringify(mine.body));
    assert.equal(theirs.status, 200, JSON.stringify(theirs.body));

    await page.goto(`${agent.url}/console/`);
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assert.equal(await page.locator('table.tasks').count(), 0, 'no data before signing in');
    await screenshot(page, 'sign-in');
    await assertAccessible(page, 'sign-in');

    await page.getByLabel('Your API key').fill('not-a-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'did not accept' }).waitFor();

    await page.getByLabel('Your API key').fill(key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    const rows = page.locator('table.tasks tbody tr');
    await rows.first().waitFor();
    // The caller sees only what it may: its own task, not the other principal's.
    assert.deepEqual(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-task'))), [mine.body.result.task.id]);
    assert.equal(await page.evaluate('localStorage.length + sessionStorage.length + document.cookie.length'), 0, 'the key is kept in memory only');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
  });
});
