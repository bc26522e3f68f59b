// The operators' dashboard: refused without their credentials (401 with a Basic challenge),
// and with them, the live counts of what the test itself opened. Saves the README's screenshot.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWorld, waitForDot } from './lib/harness.mjs';

const screenshots = path.join(path.dirname(fileURLToPath(import.meta.url)), 'screenshots');
const operators = { username: 'ops', password: 'correct horse' };
const basic = (user, password) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('the dashboard', () => {
  let world;
  before(async () => {
    world = await startWorld({
      app: { allowed_origins: ['*'], offline_grace_ms: 500 },
      web: { dashboard_user: operators.username, dashboard_password: operators.password },
    });
  });
  after(async () => assert.equal(await world.stop(), 0));

  test('refuses a visitor without the operators\' credentials', async () => {
    for (const url of ['/dashboard', '/dashboard/dashboard.js', '/dashboard/api/stream', `/dashboard/api/members?app=${world.app.id}&channel=presence-room`]) {
      for (const authorization of [undefined, basic('ops', 'wrong'), basic('someone', operators.password), 'Bearer x']) {
        const response = await fetch(world.gd.url(url), { headers: authorization ? { authorization } : {} });
        assert.equal(response.status, 401, `${url} with ${authorization}`);
        assert.match(response.headers.get('www-authenticate'), /^Basic /);
        assert.ok((await response.json()).error);
      }
    }
  });

  test('shows the apps, channels, members and live counts', async () => {
    // Two people in presence-room over SSE, on pages of the test site.
    const people = [];
    for (const user of ['ada', 'bob']) {
      const context = await world.browser.newContext();
      const page = await context.newPage();
      await page.goto(world.site.page({ user, mode: 'sse', context: 'room', watch: [user] }));
      await waitForDot(page, user, 'online');
      people.push(context);
    }
    const context = await world.browser.newContext({ httpCredentials: operators, viewport: { width: 1100, height: 900 } });
    const page = await context.newPage();
    await page.goto(world.gd.url('/dashboard'));
    const row = `section[data-app="${world.app.id}"] tr[data-channel="presence-room"]`;
    // Each person holds a stream and a heartbeat tab in the channel: two members.
    await page.waitForFunction((sel) => document.querySelector(`${sel} .members`)?.textContent === '2', row);
    await page.click(row);
    await page.waitForFunction(() => document.querySelectorAll('#members-rows tr').length === 2);
    const members = await page.$$eval('#members-rows tr', (rows) => rows.map((r) => [r.dataset.userId, r.querySelector('.status').textContent]));
    assert.deepEqual(members.sort(), [['ada', 'online'], ['bob', 'online']]);
    // Messages out (stream events) and connections are counted as they happen.
    await page.waitForFunction(() => Number(document.getElementById('connections').value.replace(/\D/g, '')) >= 2);
    // Rates need two samples: the charts have a line once they show a number.
    await page.waitForFunction(() => document.getElementById('messages-out').value !== '–');
    await page.screenshot({ path: path.join(screenshots, 'dashboard.png'), fullPage: true });

    // One leaves: the count follows without a reload.
    await people.pop().close();
    await page.waitForFunction((sel) => document.querySelector(`${sel} .members`)?.textContent === '1', row);
    for (const c of [...people, context]) await c.close();
  });
});

describe('without dashboard credentials in the config', () => {
  let world;
  before(async () => {
    world = await startWorld({ playwright: false });
  });
  after(async () => assert.equal(await world.stop(), 0));

  test('there is no dashboard', async () => {
    const response = await fetch(world.gd.url('/dashboard'), { headers: { authorization: basic('', '') } });
    assert.equal(response.status, 404);
    assert.match((await response.json()).error, /dashboard_user/);
  });
});
