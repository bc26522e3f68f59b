// Tabs that Chromium really hides (their window minimized), driven over raw CDP:
// status belongs to each tab, so one hidden tab of two does not make its user away, two do.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CdpBrowser } from './lib/cdp.mjs';
import { startWorld } from './lib/harness.mjs';

const dotIs = (user, state) => `document.querySelector('[data-user-id="${user}"] .presence-dot')?.dataset.presence === '${state}'`;

describe('hidden tabs (SSE mode)', () => {
  let world;
  let cdp;
  before(async () => {
    world = await startWorld({ app: { offline_grace_ms: 1000, allowed_origins: ['*'] }, playwright: false });
    cdp = await CdpBrowser.connect(world.wsEndpoint);
  });
  after(async () => {
    cdp.close();
    assert.equal(await world.stop(), 0);
  });

  const page = (user, watch) => world.site.page({ user, mode: 'sse', context: 'room', watch });

  test('hiding one of two tabs does not make the user away; hiding both does', async () => {
    const ada = await cdp.open(page('ada', ['bob', 'mark']));
    const bob1 = await cdp.open(page('bob', ['bob']));
    const bob2 = await cdp.open(page('bob', ['bob']));
    await ada.waitFor(dotIs('bob', 'online'), 'ada sees bob online');
    await bob2.waitFor(`window.pings.some((p) => p.answered)`, "bob's second tab pinged");
    const since = await ada.evaluate('window.events.length');
    await bob1.hide();
    assert.equal(await bob2.evaluate('document.visibilityState'), 'visible');
    await bob1.waitFor(`window.pings.some((p) => p.answered && p.body.includes('"away"'))`, 'the hidden tab reported away');
    // A marker joins after that report was answered: had bob turned away, ada would know first.
    const mark = await cdp.open(page('mark', []));
    await ada.waitFor(dotIs('mark', 'online'), 'ada sees mark');
    assert.equal(await ada.evaluate(`document.querySelector('[data-user-id="bob"] .presence-dot').dataset.presence`), 'online');
    assert.deepEqual(await ada.evaluate(`window.events.slice(${since}).filter((e) => e.user === 'bob' && e.status === 'away')`), []);

    // The other one hidden too: bob is away.
    await bob2.hide();
    await ada.waitFor(dotIs('bob', 'away'), 'ada sees bob away');
    assert.equal(await ada.evaluate(`document.querySelector('[data-user-id="bob"] .presence-dot').getAttribute('aria-label')`), 'Away');

    // Back to one of them: online again.
    await bob2.show();
    await ada.waitFor(dotIs('bob', 'online'), 'ada sees bob back');
    for (const tab of [ada, bob1, bob2, mark]) await tab.close();
  });
});
