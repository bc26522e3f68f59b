// Presence: Laravel Echo's here/joining/leaving, multi-tab users, the offline grace, exact frames.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeApp } from './lib/server.mjs';
import { startAuthEndpoint } from './lib/auth-endpoint.mjs';
import { Clients, subscribed, waitFor, dataOf, sleep } from './lib/clients.mjs';
import { assertSucceededPresence } from './lib/expect.mjs';

const GRACE_MS = 1000;

describe('presence', () => {
  let server;
  let clients;
  let auth;
  let graceAuth;
  const main = makeApp({ offline_grace_ms: 0 });
  const grace = makeApp({ offline_grace_ms: GRACE_MS });

  before(async () => {
    server = await startServer({ apps: [main, grace] });
    clients = new Clients(server);
    auth = await startAuthEndpoint(main);
    graceAuth = await startAuthEndpoint(grace);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    await clients?.closeAll();
    await auth?.close();
    await graceAuth?.close();
    if (server) assert.equal(await server.stop(), 0, `greendot exit code\n${server.logs()}`);
  });

  const byId = (a, b) => String(a.id).localeCompare(String(b.id));

  /** A pusher-js observer on a presence channel that records member events. */
  async function observe(channel, { app = main, authEndpoint = auth, id = 'observer' } = {}) {
    const p = clients.pusher({ app, auth: authEndpoint, user: { id, info: { id, name: 'Observer' } } });
    const ch = p.subscribe(channel);
    const events = [];
    ch.bind('pusher:member_added', (m) => events.push({ type: 'added', id: m.id, info: m.info, at: Date.now() }));
    ch.bind('pusher:member_removed', (m) => events.push({ type: 'removed', id: m.id, info: m.info, at: Date.now() }));
    await subscribed(ch);
    return { p, ch, events, of: (id) => events.filter((e) => e.id === String(id)).map((e) => e.type) };
  }

  test('Laravel Echo join().here().joining().leaving() with several users', { timeout: 20000 }, async () => {
    const users = [1, 2, 3].map((id) => ({ id, info: { id, name: `User ${id}` } }));
    const logs = [];
    const echos = [];
    const join = (i) => {
      const log = { here: [], joining: [], leaving: [] };
      const echo = clients.echo({ auth, user: users[i] });
      echo
        .join('chat.42')
        .here((members) => log.here.push(members))
        .joining((u) => log.joining.push(u))
        .leaving((u) => log.leaving.push(u));
      logs[i] = log;
      echos[i] = echo;
      return log;
    };

    join(0);
    await waitFor(() => logs[0].here.length === 1, 5000, 'here() of user 1');
    assert.deepEqual(logs[0].here[0], [users[0].info]);

    join(1);
    await waitFor(() => logs[1].here.length === 1, 5000, 'here() of user 2');
    assert.deepEqual([...logs[1].here[0]].sort(byId), [users[0].info, users[1].info]);
    await waitFor(() => logs[0].joining.length === 1, 5000, 'user 1 sees user 2 joining');
    assert.deepEqual(logs[0].joining, [users[1].info]);

    join(2);
    await waitFor(() => logs[2].here.length === 1, 5000, 'here() of user 3');
    assert.deepEqual([...logs[2].here[0]].sort(byId), users.map((u) => u.info));
    await waitFor(() => logs[0].joining.length === 2 && logs[1].joining.length === 1, 5000, 'users 1 and 2 see user 3 joining');
    assert.deepEqual(logs[0].joining, [users[1].info, users[2].info]);
    assert.deepEqual(logs[1].joining, [users[2].info]);
    assert.deepEqual(logs[2].joining, [], 'a joiner is not told about itself');

    // User 3 leaves the channel (Echo.leave unsubscribes), user 2 closes the connection.
    echos[2].leave('chat.42');
    await waitFor(() => logs[0].leaving.length === 1 && logs[1].leaving.length === 1, 5000, 'user 3 leaving');
    assert.deepEqual(logs[0].leaving, [users[2].info]);
    assert.deepEqual(logs[1].leaving, [users[2].info]);

    echos[1].disconnect();
    await waitFor(() => logs[0].leaving.length === 2, 5000, 'user 2 leaving');
    assert.deepEqual(logs[0].leaving, [users[2].info, users[1].info]);
    assert.equal(echos[0].connector.pusher.channel('presence-chat.42').members.count, 1);
  });

  test('several tabs of one user: one member_added, member_removed only when the last tab leaves', { timeout: 20000 }, async () => {
    const channel = 'presence-tabs';
    const obs = await observe(channel);
    const tab = async (id, info) => {
      const c = await clients.raw();
      const m = await c.subscribePresence(main, channel, id, info);
      return { c, presence: assertSucceededPresence(m, channel) };
    };

    const t1 = await tab('5', { name: 'Five' });
    await waitFor(() => obs.of(5).length === 1, 5000, 'member_added 5');
    const t2 = await tab('5', { name: 'Five' });
    assert.deepEqual(t2.presence.ids.sort(), ['5', 'observer']);
    assert.equal(t2.presence.count, 2);
    // Sentinel: when the observer sees user 6, anything about the second tab would have come before.
    const s = await tab('6', { name: 'Six' });
    await waitFor(() => obs.of(6).length === 1, 5000, 'member_added 6');
    assert.deepEqual(obs.of(5), ['added'], 'second tab caused no member_added');
    assert.equal(obs.ch.members.count, 3);

    // First tab closes: the user is still there.
    t1.c.close(1000);
    await t1.c.waitClose();
    s.c.close(1000);
    await s.c.waitClose();
    await waitFor(() => obs.of(6).includes('removed'), 5000, 'member_removed 6');
    assert.deepEqual(obs.of(5), ['added'], 'closing one of two tabs caused no member_removed');
    assert.ok(obs.ch.members.get('5'));

    // Last tab unsubscribes: now the user is gone.
    t2.c.unsubscribe(channel);
    await waitFor(() => obs.of(5).includes('removed'), 5000, 'member_removed 5');
    assert.deepEqual(obs.of(5), ['added', 'removed']);
    assert.equal(obs.ch.members.count, 1);
  });

  test('the first user_info a user joined with is the one others see', { timeout: 15000 }, async () => {
    const channel = 'presence-first-info';
    const a = await clients.raw();
    const b = await clients.raw();
    const o = await clients.raw();
    assertSucceededPresence(await o.subscribePresence(main, channel, 'o', { name: 'O' }), channel);
    assertSucceededPresence(await a.subscribePresence(main, channel, 'f', { name: 'first' }), channel);
    assertSucceededPresence(await b.subscribePresence(main, channel, 'f', { name: 'second' }), channel);
    const late = await clients.raw();
    const p = assertSucceededPresence(await late.subscribePresence(main, channel, 'z', {}), channel);
    assert.deepEqual(p.hash.f, { name: 'first' });
    const added = o.events('pusher_internal:member_added').map(dataOf);
    assert.deepEqual(added.filter((d) => d.user_id === 'f'), [{ user_id: 'f', user_info: { name: 'first' } }]);
  });

  test('exact frames: subscription_succeeded, member_added, member_removed', { timeout: 15000 }, async () => {
    const channel = 'presence-room.7';
    const ann = await clients.raw();
    const bob = await clients.raw();
    const cid = await clients.raw();
    const annInfo = { id: 3, name: 'Ann', avatar: '/a.png' };
    const bobInfo = { id: 7, name: 'Bob', tags: ['x', 'y'], nested: { ok: true, n: null } };

    const first = assertSucceededPresence(await ann.subscribePresence(main, channel, 3, annInfo), channel);
    assert.deepEqual(first, { ids: ['3'], hash: { 3: annInfo }, count: 1 });

    const second = assertSucceededPresence(await bob.subscribePresence(main, channel, '7', bobInfo), channel);
    assert.deepEqual(second.ids.sort(), ['3', '7']);
    assert.deepEqual(second.hash, { 3: annInfo, 7: bobInfo });
    assert.equal(second.count, 2);

    const added = await ann.next('pusher_internal:member_added');
    assert.deepEqual(Object.keys(added).sort(), ['channel', 'data', 'event']);
    assert.equal(added.channel, channel);
    assert.equal(typeof added.data, 'string', 'member_added data is a JSON string');
    assert.deepEqual(JSON.parse(added.data), { user_id: '7', user_info: bobInfo });
    assert.deepEqual(bob.events('pusher_internal:member_added'), [], 'the joiner gets no member_added for itself');

    // Numeric ids come out as strings.
    const third = assertSucceededPresence(await cid.subscribePresence(main, channel, 42, { id: 42 }), channel);
    assert.deepEqual(third.ids.sort(), ['3', '42', '7']);
    assert.equal(third.count, 3);
    const added42 = await ann.next('pusher_internal:member_added');
    assert.deepEqual(JSON.parse(added42.data), { user_id: '42', user_info: { id: 42 } });

    bob.unsubscribe(channel);
    const removed = await ann.next('pusher_internal:member_removed');
    assert.deepEqual(Object.keys(removed).sort(), ['channel', 'data', 'event']);
    assert.equal(removed.channel, channel);
    assert.equal(typeof removed.data, 'string', 'member_removed data is a JSON string');
    assert.deepEqual(JSON.parse(removed.data), { user_id: '7' });
    const removedAtCid = await cid.next('pusher_internal:member_removed');
    assert.deepEqual(JSON.parse(removedAtCid.data), { user_id: '7' });
  });

  describe(`offline grace (offline_grace_ms=${GRACE_MS})`, () => {
    const graceUser = (id) => ({ app: grace, auth: graceAuth, user: { id, info: { id, name: `User ${id}` } } });

    test('a user who reconnects inside the grace causes no member_removed/member_added at others', { timeout: 20000 }, async () => {
      const channel = 'presence-reload';
      const obs = await observe(channel, { app: grace, authEndpoint: graceAuth });
      const first = clients.pusher(graceUser(7));
      await subscribed(first.subscribe(channel));
      await waitFor(() => obs.of(7).length === 1, 5000, 'member_added 7');

      // "Reload": the old connection goes away, a new one joins straight after.
      const leftAt = Date.now();
      first.disconnect();
      const second = clients.pusher(graceUser(7));
      await subscribed(second.subscribe(channel));
      const rejoinMs = Date.now() - leftAt;
      assert.ok(rejoinMs < GRACE_MS, `rejoined ${rejoinMs} ms after leaving: test setup too slow for the grace`);

      // A user who joins and leaves after the reload: once its member_removed has come, the
      // grace of 7's first connection, due earlier, has ended too, and its removal would have
      // come first.
      const sentinel = clients.pusher(graceUser(8));
      await subscribed(sentinel.subscribe(channel));
      await waitFor(() => obs.of(8).length === 1, 5000, 'member_added 8');
      sentinel.disconnect();
      await waitFor(() => obs.of(8).includes('removed'), GRACE_MS + 5000, 'member_removed 8');
      assert.deepEqual(obs.of(7), ['added'], 'the reload was invisible to others');
      assert.ok(obs.ch.members.get('7'));
    });

    test('after the grace, member_removed arrives; a later return is a new member_added', { timeout: 20000 }, async () => {
      const channel = 'presence-gone';
      const obs = await observe(channel, { app: grace, authEndpoint: graceAuth });
      const p = clients.pusher(graceUser(9));
      await subscribed(p.subscribe(channel));
      await waitFor(() => obs.of(9).length === 1, 5000, 'member_added 9');

      const leftAt = Date.now();
      p.disconnect();
      await waitFor(() => obs.of(9).includes('removed'), GRACE_MS + 5000, 'member_removed 9');
      const removedAfter = obs.events.find((e) => e.id === '9' && e.type === 'removed').at - leftAt;
      assert.ok(removedAfter >= GRACE_MS - 100, `member_removed came ${removedAfter} ms after leaving, before the ${GRACE_MS} ms grace`);

      const back = clients.pusher(graceUser(9));
      await subscribed(back.subscribe(channel));
      await waitFor(() => obs.of(9).length === 3, 5000, 'member_added 9 again');
      assert.deepEqual(obs.of(9), ['added', 'removed', 'added']);
    });

    test('a user who unsubscribes and resubscribes inside the grace causes no events either', { timeout: 20000 }, async () => {
      const channel = 'presence-flip';
      const obs = await observe(channel, { app: grace, authEndpoint: graceAuth });
      const c = await clients.raw({ app: grace });
      assertSucceededPresence(await c.subscribePresence(grace, channel, 'flip', {}), channel);
      await waitFor(() => obs.of('flip').length === 1, 5000, 'member_added flip');
      c.unsubscribe(channel);
      assertSucceededPresence(await c.subscribePresence(grace, channel, 'flip', {}), channel);
      // As above: a later user's removal proves the earlier grace has passed.
      const s = await clients.raw({ app: grace });
      assertSucceededPresence(await s.subscribePresence(grace, channel, 'sentinel', {}), channel);
      await waitFor(() => obs.of('sentinel').length === 1, 5000, 'member_added sentinel');
      s.unsubscribe(channel);
      await waitFor(() => obs.of('sentinel').includes('removed'), GRACE_MS + 5000, 'member_removed sentinel');
      assert.deepEqual(obs.of('flip'), ['added']);
    });
  });
});
