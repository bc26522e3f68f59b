// What a page is told when greendot refuses it, and how the SSE mode gets over an expired or
// refused token: it asks the page's token callback for a fresh one and connects again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startWorld, waitForDot } from './lib/harness.mjs';

describe('tokens in SSE mode', () => {
  let world;
  before(async () => {
    world = await startWorld({ app: { allowed_origins: ['*'] } });
  });
  after(async () => assert.equal(await world.stop(), 0));

  test('a refused token is replaced and the stream connects', async () => {
    const context = await world.browser.newContext();
    const page = await context.newPage();
    await page.goto(world.site.page({ user: 'ada', mode: 'sse', context: 'room', watch: ['ada'], badFirst: '1' }));
    await waitForDot(page, 'ada', 'online');
    const events = await page.evaluate(() => window.events);
    assert.ok(events.some((e) => e.type === 'token' && e.n >= 2), JSON.stringify(events));
    await context.close();
  });

  test('after a restart the stream reconnects with a fresh token once the old one expired', { timeout: 60_000 }, async () => {
    const context = await world.browser.newContext();
    const page = await context.newPage();
    await page.goto(world.site.page({ user: 'bob', mode: 'sse', context: 'room', watch: ['bob'], ttl: '3' }));
    await waitForDot(page, 'bob', 'online');
    await page.waitForFunction(() => window.events.some((e) => e.type === 'connection' && e.connected));
    // Waits until the token the stream was opened with has expired.
    const exp = await page.evaluate(() => JSON.parse(atob(window.presence.tokens.current.split('.')[1].replace(/-/g, '+').replace(/_/g, '/'))).exp);
    await page.waitForFunction((at) => Date.now() / 1000 > at + 1, exp, { polling: 200 });
    const before = await page.evaluate(() => window.events.length);
    await world.gd.restart();
    await page.waitForFunction((n) => window.events.slice(n).some((e) => e.type === 'connection' && e.connected), before, { timeout: 30_000 });
    const since = await page.evaluate((n) => window.events.slice(n), before);
    assert.ok(since.some((e) => e.type === 'token'), `a fresh token was asked for: ${JSON.stringify(since)}`);
    await waitForDot(page, 'bob', 'online');
    await context.close();
  });
});

describe('a page on an origin the app does not allow', () => {
  let world;
  before(async () => {
    world = await startWorld({ app: { allowed_origins: ['https://app.example'] } });
  });
  after(async () => assert.equal(await world.stop(), 0));

  test('gets a readable error, not a silent failure', async () => {
    const context = await world.browser.newContext();
    const page = await context.newPage();
    await page.goto(world.site.page({ user: 'eve', mode: 'heartbeat', context: 'room', watch: ['eve'] }));
    await page.waitForFunction(() => window.events.some((e) => e.type === 'error'));
    const error = await page.evaluate(() => window.events.find((e) => e.type === 'error'));
    assert.equal(error.code, 403);
    assert.match(error.error, /allowed_origins/);
    assert.match(await page.textContent('#error'), /allowed_origins/);
    await context.close();
  });
});
