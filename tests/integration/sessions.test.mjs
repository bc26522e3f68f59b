// Presence per session: every tab of a page (HTTP heartbeats with a tab id), every WebSocket
// connection, every sign-in is a session of its own. A user leaves after the last one (and the
// grace), is away only when all are away, and a restart — clean or not — still records when
// everyone online was last seen. Seen through pusher-js subscribers, the page endpoints as a
// browser calls them, the server SDK and the SQLite file a restart reads.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startServer, makeApp } from './lib/server.mjs';
import { startAuthEndpoint } from './lib/auth-endpoint.mjs';
import { userToken, signedRaw } from './lib/signing.mjs';
import { Clients, subscribed, waitFor, withTimeout, httpRequest, presenceAuth, userAuth } from './lib/clients.mjs';

const json = (res) => {
  try {
    return JSON.parse(res.body);
  } catch {
    return null;
  }
};

/** A page's calls: ping with a JSON body, offline as navigator.sendBeacon sends it. */
function page(server, app, token) {
  const url = (p) => server.httpUrl(`/apps/${app.id}${p}`);
  return {
    ping: (body) =>
      httpRequest(url('/client/ping'), {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }),
    // sendBeacon(url + '?tab=' + tab, token): text/plain, no custom header.
    beacon: (query) =>
      httpRequest(url(`/client/offline${query}`), { method: 'POST', headers: { 'content-type': 'text/plain;charset=UTF-8' }, body: token }),
  };
}

async function presenceOf(server, app, ids) {
  const res = await signedRaw(server, app, 'POST', '/users/presence', JSON.stringify({ users: ids }));
  assert.equal(res.status, 200, res.body);
  return json(res).users;
}

const tempDirs = [];
function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'greendot-sessions-'));
  tempDirs.push(dir);
  return dir;
}
process.on('exit', () => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** One value from the SQLite file a restart would read (read-only, WAL included). */
function stored(dataDir, sql) {
  const file = path.join(dataDir, 'greendot.sqlite3');
  if (!fs.existsSync(file)) return null;
  const out = execFileSync('sqlite3', ['-readonly', file, sql], { encoding: 'utf8' }).trim();
  return out === '' ? null : out;
}

describe('presence per session', () => {
  let server;
  let clients;
  let auth;
  const app = makeApp({ offline_grace_ms: 0, allowed_origins: ['*'] });
  // For reloads: a grace long enough for a page to come back, short enough to wait for.
  const graceful = makeApp({ offline_grace_ms: 1500 });

  before(async () => {
    server = await startServer({ apps: [app, graceful] });
    clients = new Clients(server);
    auth = await startAuthEndpoint(app);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    await clients?.closeAll();
    await auth?.close();
    if (server) assert.equal(await server.stop(), 0, `greendot exit code\n${server.logs()}`);
  });

  /** A pusher-js member of presence-{context} that records who joins and leaves. */
  async function observer(context, id = `obs-${context}`) {
    const p = clients.pusher({ auth, user: { id } });
    const channel = p.subscribe(`presence-${context}`);
    await subscribed(channel);
    const events = [];
    channel.bind('pusher:member_added', (m) => events.push(['added', m.id]));
    channel.bind('pusher:member_removed', (m) => events.push(['removed', m.id]));
    channel.bind('greendot:member_updated', (d) => events.push(['updated', d.user_id, d.status]));
    return { channel, events };
  }

  test('two tabs: one tab\'s offline beacon leaves the user present; the last one removes them', { timeout: 15000 }, async () => {
    const { channel, events } = await observer('tabs');
    const tabs = page(server, app, userToken(app, 'tabby', { contexts: ['tabs'] }));
    for (const tab of ['tab-a', 'tab-b']) {
      const res = await tabs.ping({ contexts: ['tabs'], tab });
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(json(res).contexts, { tabs: 'present' });
    }
    await waitFor(() => channel.members.get('tabby'), 5000, 'tabby in the member list');
    assert.equal((await tabs.beacon('?tab=tab-a')).status, 200);
    // A late ping of tab-a (sent before its beacon) is refused and changes nothing.
    const late = await tabs.ping({ contexts: ['tabs'], tab: 'tab-a' });
    assert.equal(late.status, 200, late.body);
    assert.deepEqual(json(late).contexts, { tabs: 'ended' });
    assert.equal((await presenceOf(server, app, ['tabby'])).tabby.online, true, 'tab-b still holds the user');
    assert.equal((await tabs.beacon('?tab=tab-b')).status, 200);
    await waitFor(() => events.some((e) => e[0] === 'removed' && e[1] === 'tabby'), 5000, 'member_removed after the last tab');
    assert.deepEqual(events, [['added', 'tabby'], ['removed', 'tabby']], 'one arrival, one departure');
  });

  test('pings without a tab keep their meaning: one session for the user', { timeout: 15000 }, async () => {
    const { events } = await observer('notab');
    const p = page(server, app, userToken(app, 'plain', { contexts: ['notab'] }));
    assert.equal((await p.ping({ contexts: ['notab'] })).status, 200);
    assert.equal((await p.ping({ contexts: ['notab'] })).status, 200);
    assert.equal((await p.beacon('')).status, 200);
    await waitFor(() => events.some((e) => e[0] === 'removed' && e[1] === 'plain'), 5000, 'removed at the offline');
  });

  test('a malformed tab id is a 400 that names the rule', { timeout: 10000 }, async () => {
    const p = page(server, app, userToken(app, 'badtab', { contexts: ['*'] }));
    for (const tab of ['', 'x'.repeat(65), 'a b', 'tab/1', 42]) {
      const res = await p.ping({ tab });
      assert.equal(res.status, 400, `tab ${JSON.stringify(tab)}: ${res.body}`);
      assert.match(json(res).error, /tab/);
    }
    const res = await p.beacon('?tab=%3Cscript%3E');
    assert.equal(res.status, 400, res.body);
    assert.match(json(res).error, /tab/);
  });

  test('the signed heartbeat takes a tab too', { timeout: 15000 }, async () => {
    const { events } = await observer('backend');
    const beat = (tab) => signedRaw(server, app, 'POST', '/presence/heartbeat', JSON.stringify({ user_id: 'be', contexts: ['backend'], tab }));
    assert.equal((await beat('one')).status, 200);
    assert.equal((await beat('two')).status, 200);
    const off = await signedRaw(server, app, 'POST', '/presence/offline', JSON.stringify({ user_id: 'be', tab: 'one' }));
    assert.equal(off.status, 200, off.body);
    assert.equal((await presenceOf(server, app, ['be'])).be.online, true);
    assert.deepEqual(json(await beat('one')).contexts, { backend: 'ended' });
    await signedRaw(server, app, 'POST', '/presence/offline', JSON.stringify({ user_id: 'be', tab: 'two' }));
    await waitFor(() => events.some((e) => e[0] === 'removed' && e[1] === 'be'), 5000, 'removed after the last tab');
  });

  test('status per connection: away only when every connection is away, told to the others only', { timeout: 15000 }, async () => {
    const { events } = await observer('status');
    const data = JSON.stringify({ user_id: 'st' });
    const tabs = [];
    for (let i = 0; i < 2; i++) {
      const c = await clients.raw({ app });
      const answer = await c.subscribe('presence-status', { auth: presenceAuth(app, c.socketId, 'presence-status', data), channel_data: data });
      assert.equal(answer.event, 'pusher_internal:subscription_succeeded');
      tabs.push(c);
    }
    const updates = () => events.filter((e) => e[0] === 'updated');
    tabs[0].send({ event: 'greendot:status', data: { status: 'away' } }); // a hidden tab
    tabs[1].send({ event: 'greendot:status', data: { status: 'away' } });
    await waitFor(() => updates().length === 1, 5000, 'away once both tabs are');
    assert.deepEqual(updates(), [['updated', 'st', 'away']], 'the hidden tab alone did not turn the user away');
    tabs[1].send({ event: 'greendot:status', data: { status: 'online' } });
    await waitFor(() => updates().length === 2, 5000, 'online again');
    assert.deepEqual(updates()[1], ['updated', 'st', 'online']);
    // A closing tab reports away on its way out (pagehide): the other tab is still online.
    // Two connections have no order between them, so the second closes only once the server
    // has seen the first go (the channel's subscriptions: the observer and the second tab).
    tabs[0].send({ event: 'greendot:status', data: { status: 'away' } });
    tabs[0].close();
    const subscriptions = async () => {
      const res = await signedRaw(server, app, 'GET', '/channels/presence-status', undefined, { query: { info: 'subscription_count' } });
      return res.status === 200 ? json(res).subscription_count : -1;
    };
    await waitFor(async () => (await subscriptions()) === 2, 5000, 'the first tab gone');
    tabs[1].close();
    await waitFor(() => events.some((e) => e[0] === 'removed' && e[1] === 'st'), 5000, 'removed');
    assert.equal(updates().length, 2, 'no update from the closing tabs');
    for (const c of tabs) {
      assert.equal(c.events('greendot:member_updated').length, 0, 'the user\'s own connections are not told');
    }
  });

  test('a member in the grace is kept by those who saw them, not shown to new joiners, and announced to those on return', { timeout: 20000 }, async () => {
    const graceAuth = await startAuthEndpoint(graceful);
    try {
      const member = (id) => clients.pusher({ app: graceful, auth: graceAuth, user: { id } });
      const record = (channel) => {
        const events = [];
        channel.bind('pusher:member_added', (m) => events.push(`added ${m.id}`));
        channel.bind('pusher:member_removed', (m) => events.push(`removed ${m.id}`));
        return events;
      };
      const early = member('g-early').subscribe('presence-gr');
      await subscribed(early);
      const earlyEvents = record(early);
      const first = member('g-reload');
      await subscribed(first.subscribe('presence-gr'));
      await waitFor(() => earlyEvents.includes('added g-reload'), 5000, 'g-reload announced');
      first.disconnect(); // a reload: the page is gone for a moment
      // Wait until the server has handled that close: the REST view still counts the member
      // (in grace: their member_removed webhook has not been sent), while the connection
      // count drops.
      let counts;
      await waitFor(async () => {
        const res = await signedRaw(server, graceful, 'GET', '/channels/presence-gr', '', { query: { info: 'subscription_count,user_count' } });
        counts = json(res);
        return counts?.subscription_count === 1;
      }, 5000, 'the close handled');
      assert.equal(counts.user_count, 2, 'the member in grace is still counted');
      const late = member('g-late').subscribe('presence-gr');
      await subscribed(late);
      assert.equal(late.members.get('g-reload'), null, 'a joiner is not given a member in grace');
      assert.equal(late.members.count, 2);
      assert.ok(early.members.get('g-reload'), 'those who saw the member keep them');
      const lateEvents = record(late);
      const second = member('g-reload'); // the reloaded page
      await subscribed(second.subscribe('presence-gr'));
      await waitFor(() => lateEvents.includes('added g-reload'), 5000, 'the late joiner is told of the return');
      assert.ok(late.members.get('g-reload'));
      // The early member hears nothing of the reload: a marker joins after it, and its
      // member_added comes after anything the reload would have caused.
      await subscribed(member('g-marker').subscribe('presence-gr'));
      await waitFor(() => earlyEvents.includes('added g-marker'), 5000, 'the marker');
      assert.deepEqual(earlyEvents, ['added g-reload', 'added g-late', 'added g-marker'], 'no leave and come back for the reload');
    } finally {
      await graceAuth.close();
    }
  });

  test('a reload of a signed-in page shows nothing to watchers: sign-ins have the grace', { timeout: 20000 }, async () => {
    const graceAuth = await startAuthEndpoint(graceful);
    try {
      const watcher = clients.pusher({ app: graceful, auth: graceAuth, user: { id: 'rl-watcher', watchlist: ['rl', 'rl-marker'] } });
      const seen = [];
      watcher.user.watchlist.bind('online', (e) => seen.push(...e.user_ids.map((id) => `online ${id}`)));
      watcher.user.watchlist.bind('offline', (e) => seen.push(...e.user_ids.map((id) => `offline ${id}`)));
      watcher.signin();
      await withTimeout(watcher.user.signinDonePromise, 5000, 'watcher signin');
      const signIn = async (id) => {
        const c = await clients.raw({ app: graceful });
        const text = JSON.stringify({ id });
        c.send({ event: 'pusher:signin', data: { auth: userAuth(graceful, c.socketId, text), user_data: text } });
        await c.next('pusher:signin_success');
        return c;
      };
      const first = await signIn('rl');
      await waitFor(() => seen.includes('online rl'), 5000, 'online');
      // The reload: the old page closes (the server has handled it once it answers the close),
      // and the new one signs in a moment later.
      first.close(1000);
      await first.closed;
      const second = await signIn('rl');
      // Events reach the watcher in the order they happen: once the marker's arrives, any
      // offline/online pair for the reload would have arrived before it.
      await signIn('rl-marker');
      await waitFor(() => seen.includes('online rl-marker'), 5000, 'the marker');
      assert.deepEqual(seen, ['online rl', 'online rl-marker'], `nothing for the reload: ${JSON.stringify(seen)}`);
      second.close(1000);
      await waitFor(() => seen.includes('offline rl'), 8000, 'offline once the grace has passed');
    } finally {
      await graceAuth.close();
    }
  });
});

describe('last seen across restarts', () => {
  const cleanups = [];
  afterEach(async () => {
    for (const f of cleanups.splice(0).reverse()) await f();
  });

  async function start(dir, app) {
    const server = await startServer({ server: { data_dir: dir }, apps: [app] });
    const clients = new Clients(server);
    const auth = await startAuthEndpoint(app);
    cleanups.push(() => server.kill());
    cleanups.push(() => auth.close());
    cleanups.push(() => clients.closeAll());
    return { server, clients, auth };
  }

  test('SIGTERM: everyone online was last seen at the shutdown, even inside a grace', { timeout: 30000 }, async () => {
    const dir = tempDir();
    const app = makeApp({ offline_grace_ms: 60000 });
    const { server, clients, auth } = await start(dir, app);
    const member = clients.pusher({ auth, user: { id: 'term-member' } });
    await subscribed(member.subscribe('presence-term'));
    const hb = await signedRaw(server, app, 'POST', '/presence/heartbeat', JSON.stringify({ user_id: 'term-beat' }));
    assert.equal(hb.status, 200, hb.body);
    const stoppedAt = Date.now();
    assert.equal(await server.stop(), 0, server.logs());

    const again = await start(dir, app);
    const users = await presenceOf(again.server, app, ['term-member', 'term-beat']);
    for (const id of ['term-member', 'term-beat']) {
      assert.equal(users[id].online, false, id);
      assert.ok(Number.isInteger(users[id].last_seen), `${id} has a last seen: ${JSON.stringify(users[id])}`);
      assert.ok(Math.abs(users[id].last_seen - stoppedAt) < 5000, `${id} last seen at the shutdown (${users[id].last_seen - stoppedAt} ms off)`);
    }
  });

  test('kill -9: a user online at the crash was last seen at most a few seconds before it', { timeout: 30000 }, async () => {
    const dir = tempDir();
    const app = makeApp({ offline_grace_ms: 0 });
    const first = await start(dir, app);
    const member = first.clients.pusher({ auth: first.auth, user: { id: 'crash-member' } });
    await subscribed(member.subscribe('presence-crash'));
    // The store knows the user is online, and has written that it was alive since.
    await waitFor(() => stored(dir, "SELECT online FROM users WHERE user_id = 'crash-member'") === '1', 5000, 'online in the file');
    const marked = Date.now();
    await waitFor(() => Number(stored(dir, 'SELECT at_ms FROM greendot_alive')) > marked, 5000, 'an alive write after that');
    const killedAt = Date.now();
    await first.server.kill();
    assert.equal(first.server.exitInfo.signal, 'SIGKILL');

    const second = await start(dir, app);
    const { 'crash-member': user } = await presenceOf(second.server, app, ['crash-member']);
    assert.equal(user.online, false);
    assert.ok(Number.isInteger(user.last_seen), JSON.stringify(user));
    assert.ok(user.last_seen <= killedAt, 'not after the crash');
    assert.ok(killedAt - user.last_seen < 3000, `at most a few seconds before the crash (${killedAt - user.last_seen} ms)`);
  });
});
