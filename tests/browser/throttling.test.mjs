// The heartbeat mode in a tab hidden past Chrome's intensive throttling (after 5 minutes hidden
// its timers wake once a minute): with the default interval (30 s) and TTL (90 s) the user stays
// online for as long as the tab is open. About 7 minutes.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CdpBrowser } from './lib/cdp.mjs';
import { isOnline } from './lib/greendot.mjs';
import { startWorld } from './lib/harness.mjs';

const HIDDEN_FOR_MS = 6.5 * 60_000; // past the 5 minutes after which Chrome throttles harder
const SAMPLE_EVERY_MS = 5_000;

describe('a hidden tab under Chrome timer throttling (heartbeat mode)', () => {
  let world;
  let cdp;
  before(async () => {
    // The app's defaults (heartbeat_ttl_ms 90000) are what is under test.
    world = await startWorld({ app: { allowed_origins: ['*'] }, playwright: false });
    cdp = await CdpBrowser.connect(world.wsEndpoint);
  });
  after(async () => {
    cdp.close();
    assert.equal(await world.stop(), 0);
  });

  test('stays online while hidden for 6.5 minutes', { timeout: HIDDEN_FOR_MS + 120_000 }, async () => {
    const bob = await cdp.open(world.site.page({ user: 'bob', mode: 'heartbeat', context: 'room', watch: ['bob'] }));
    await bob.waitFor(`window.pings.some((p) => p.answered)`, 'the first ping');
    await bob.hide();
    const hiddenAt = Date.now();
    const offline = [];
    // The page is left alone (no CDP calls into it) while hidden; the application's view is sampled.
    while (Date.now() - hiddenAt < HIDDEN_FOR_MS) {
      const state = await isOnline(world.gd, world.app, 'bob');
      if (!state.online) offline.push(Math.round((Date.now() - hiddenAt) / 1000));
      await new Promise((r) => setTimeout(r, SAMPLE_EVERY_MS));
    }
    const pings = await bob.evaluate('window.pings.map((p) => p.at)');
    const gaps = pings.slice(1).map((at, i) => Math.round((at - pings[i]) / 1000));
    const late = pings.filter((at) => at - hiddenAt > 5 * 60_000).length;
    console.log(`pings every ${gaps.join(', ')} s; ${late} after 5 minutes hidden`);
    assert.deepEqual(offline, [], `offline at ${offline.join(', ')} s after hiding (pings every ${gaps.join(', ')} s)`);
    // That Chrome did throttle, or this test proved nothing: a gap longer than the interval.
    assert.ok(Math.max(...gaps) > 30, `no throttling seen: pings every ${gaps.join(', ')} s`);
    assert.ok(late > 0, 'no ping after 5 minutes hidden');
    await bob.close();
  });
});
