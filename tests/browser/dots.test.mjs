// Two people, their dots, closing, reloading and a second tab, with greendot.js in live (SSE)
// mode on a page of another origin than greendot's.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { signed } from './lib/greendot.mjs';
import { eventsOf, startWorld, waitForDot } from './lib/harness.mjs';

describe('dots in a real browser (SSE mode)', () => {
  let world;
  const people = new Map();
  before(async () => {
    world = await startWorld({ app: { offline_grace_ms: 1500, allowed_origins: ['*'] } });
  });
  after(async () => assert.equal(await world.stop(), 0));

  // Each person has a browser profile of their own; `watch` are the dots on their page.
  async function open(user, watch = ['ada', 'bob', 'mark']) {
    let context = people.get(user);
    if (!context) people.set(user, (context = await world.browser.newContext()));
    const page = await context.newPage();
    await page.goto(world.site.page({ user, mode: 'sse', context: 'room', watch }));
    await waitForDot(page, user, 'online');
    return page;
  }

  // Connections in presence-room (streams and heartbeat tabs), as the application sees them.
  const sessions = async () => (await signed(world.gd, world.app, 'GET', '/channels/presence-room', undefined, { info: 'subscription_count' })).subscription_count ?? 0;

  // A marker leaves after what is under test; had `user` been seen leaving, that would have come
  // first (both wait the same grace). So: no offline for `user` among the events since `since`.
  async function assertNotSeenLeaving(watcher, user, since) {
    const mark = await open('mark');
    await waitForDot(watcher, 'mark', 'online');
    await mark.close();
    await waitForDot(watcher, 'mark', 'offline');
    const seen = (await eventsOf(watcher, user)).slice(since);
    assert.deepEqual(seen.filter((e) => e.type === 'offline'), [], JSON.stringify(seen));
    assert.equal((await waitForDot(watcher, user, 'online')).state, 'online');
  }

  test('two people see each other turn green; closing one turns it grey with "last seen"', async () => {
    const ada = await open('ada');
    const bob = await open('bob');
    await waitForDot(ada, 'bob', 'online');
    await waitForDot(bob, 'ada', 'online');
    assert.equal((await waitForDot(ada, 'bob', 'online')).label, 'Online');
    await bob.close();
    const dot = await waitForDot(ada, 'bob', 'offline');
    assert.match(dot.label, /^Last seen /);
    assert.equal(dot.title, dot.label);
    await ada.close();
  });

  test('a reload does not flicker', async () => {
    const ada = await open('ada');
    const bob = await open('bob');
    await waitForDot(ada, 'bob', 'online');
    const before = (await eventsOf(ada, 'bob')).length;
    await bob.reload();
    await waitForDot(bob, 'bob', 'online');
    await assertNotSeenLeaving(ada, 'bob', before);
    await Promise.all([ada.close(), bob.close()]);
  });

  test('two tabs of one user, one closed, stay green', async () => {
    const ada = await open('ada');
    const bob1 = await open('bob');
    const bob2 = await open('bob');
    await waitForDot(ada, 'bob', 'online');
    const before = (await eventsOf(ada, 'bob')).length;
    const count = await sessions();
    await bob1.close();
    // The server has ended the closed tab's sessions before the marker leaves.
    for (let now = count; now >= count; now = await sessions()) await new Promise((r) => setTimeout(r, 100));
    await assertNotSeenLeaving(ada, 'bob', before);
    await Promise.all([ada.close(), bob2.close()]);
  });
});
