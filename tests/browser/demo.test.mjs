// The demo page at / (with [web] demo_app), in its WebSocket mode: greendot.js over the
// unmodified pusher-js, the demo's own token and channel-auth endpoints. Saves the screenshot
// the README shows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWorld, waitForDot } from './lib/harness.mjs';

const screenshots = path.join(path.dirname(fileURLToPath(import.meta.url)), 'screenshots');

async function join(page, url, name, mode) {
  await page.goto(url);
  await page.fill('#name', name);
  await page.check(`input[name=mode][value=${mode}]`);
  await page.click('button[type=submit]');
  await waitForDot(page, name, 'online');
}

describe('the demo page', () => {
  let world;
  before(async () => {
    world = await startWorld({ app: { id: 'demo-app', offline_grace_ms: 1000 }, web: { demo_app: 'demo-app' } });
  });
  after(async () => assert.equal(await world.stop(), 0));

  test('two people over WebSocket (pusher-js) see each other; leaving shows "last seen"', async () => {
    const adaContext = await world.browser.newContext({ viewport: { width: 900, height: 820 } });
    const bobContext = await world.browser.newContext();
    const ada = await adaContext.newPage();
    const bob = await bobContext.newPage();
    await join(ada, world.gd.url('/'), 'Ada', 'pusher');
    await join(bob, world.gd.url('/'), 'Bob', 'pusher');
    await waitForDot(ada, 'Bob', 'online');
    await waitForDot(bob, 'Ada', 'online');
    // The connection under the dots is pusher-js's WebSocket, not heartbeats.
    assert.equal(await ada.evaluate(() => document.getElementById('connection').textContent), 'WebSocket (pusher-js): connected');

    // A third person who came and went, for the picture's "last seen".
    const carolContext = await world.browser.newContext();
    const carol = await carolContext.newPage();
    await join(carol, world.gd.url('/'), 'Carol', 'sse');
    await waitForDot(ada, 'Carol', 'online');
    await carol.click('#leave');
    const dot = await waitForDot(ada, 'Carol', 'offline');
    assert.match(dot.label, /^Last seen /);
    await ada.waitForFunction(() => document.querySelector('[data-user-id="Carol"] .label').textContent.startsWith('Last seen'));
    await ada.screenshot({ path: path.join(screenshots, 'demo.png') });

    await bob.click('#leave');
    await waitForDot(ada, 'Bob', 'offline');
    for (const context of [adaContext, bobContext, carolContext]) await context.close();
  });
});

describe('without [web] demo_app', () => {
  let world;
  before(async () => {
    world = await startWorld({ playwright: false });
  });
  after(async () => assert.equal(await world.stop(), 0));

  test('there is no demo page and no token endpoint', async () => {
    for (const [method, url] of [['GET', '/'], ['GET', '/demo/demo.js'], ['POST', '/demo/api/token'], ['POST', '/demo/api/auth']]) {
      const response = await fetch(world.gd.url(url), { method, body: method === 'POST' ? '{"name":"x"}' : undefined });
      assert.equal(response.status, 404, url);
      assert.match((await response.json()).error, /demo_app/);
    }
    // The library is served whatever the config.
    const library = await fetch(world.gd.url('/greendot.js'));
    assert.equal(library.status, 200);
    assert.match(library.headers.get('content-type'), /^text\/javascript/);
  });
});
