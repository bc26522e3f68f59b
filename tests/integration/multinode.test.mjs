// Several greendot nodes sharing presence through real Redis ([engine] kind = "redis"), once
// with one redis-server and once with a 3-primary Redis Cluster: one member list across nodes,
// member events exactly once, the grace across nodes, HTTP heartbeats pinged through any node,
// watchlists, online / away and last seen from every node, a node killed with kill -9 swept by
// the others, Redis restarted without its data, triggered and client events between nodes,
// REST answers from any node, terminate_connections across nodes, and each webhook sent once.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import Pusher from 'pusher';
import { startServer, makeApp } from './lib/server.mjs';
import { startRedis, startRedisCluster } from './lib/redis.mjs';
import { operatorsWeb, operatorsHeader, parseMetrics } from './lib/metrics.mjs';
import { startAuthEndpoint } from './lib/auth-endpoint.mjs';
import { signedRaw } from './lib/signing.mjs';
import { Clients, subscribed, waitFor, withTimeout, connected } from './lib/clients.mjs';

const LEASE_MS = 2000; // the ghost bound under test (the default is 10 s)
const GRACE_MS = 1500;
const BEAT_TTL_MS = 1500;

/** A webhook receiver: every event delivered, in order. */
async function startReceiver() {
  const events = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', () => {
      try {
        for (const e of JSON.parse(Buffer.concat(chunks).toString('utf8')).events) events.push(e);
      } catch {
        events.push({ name: 'unreadable' });
      }
      res.writeHead(200);
      res.end('ok');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}/hooks`,
    events,
    count: (name, channel, user) =>
      events.filter((e) => e.name === name && e.channel === channel && (user === undefined || e.user_id === user)).length,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

for (const mode of ['one Redis server', 'a 3-primary Redis Cluster']) describe(`many nodes, one presence (${mode})`, () => {
  let redis;
  let receiver;
  let nodes = [];
  let clients = [];
  let auth;
  let graceAuth;
  let app;
  let graceApp;
  let beatApp;
  let beatAuth;

  /** A sample of node `n`'s /metrics. */
  const metric = async (n, name) => {
    const text = await (await fetch(nodes[n].httpUrl('/metrics'), { headers: { authorization: operatorsHeader() } })).text();
    const value = parseMetrics(text)[name];
    assert.ok(value !== undefined, `${name} in /metrics of node ${n}`);
    return value;
  };
  const engine = () => ({ kind: 'redis', redis_url: redis.url, node_lease_ms: LEASE_MS });
  const startNode = async () => {
    const node = await startServer({ apps: [app, graceApp, beatApp], engine: engine(), web: operatorsWeb });
    nodes.push(node);
    clients.push(new Clients(node));
    return nodes.length - 1;
  };

  before(async () => {
    redis = mode.includes('Cluster') ? await startRedisCluster() : await startRedis();
    receiver = await startReceiver();
    app = makeApp({ webhooks: [{ url: receiver.url }] });
    graceApp = makeApp({ offline_grace_ms: GRACE_MS });
    beatApp = makeApp({ offline_grace_ms: 0, heartbeat_ttl_ms: BEAT_TTL_MS, webhooks: [{ url: receiver.url }] });
    auth = await startAuthEndpoint(app);
    graceAuth = await startAuthEndpoint(graceApp);
    beatAuth = await startAuthEndpoint(beatApp);
    for (let i = 0; i < 3; i++) await startNode();
  });
  afterEach(async () => {
    for (const c of clients) await c.closeAll();
  });
  after(async () => {
    for (const c of clients) await c.closeAll();
    for (const node of nodes) if (!node.exitInfo) assert.equal(await node.stop(), 0, node.logs());
    await auth?.close();
    await graceAuth?.close();
    await beatAuth?.close();
    await receiver?.close();
    await redis?.stop();
  });

  /** A pusher-js member on node `n` of `channel`, recording member events. */
  async function member(n, channel, id, { onApp = app, withAuth = auth } = {}) {
    const p = clients[n].pusher({ app: onApp, auth: withAuth, user: { id, info: { id, name: `User ${id}` } } });
    const ch = p.subscribe(channel);
    const events = [];
    ch.bind('pusher:member_added', (m) => events.push(`+${m.id}`));
    ch.bind('pusher:member_removed', (m) => events.push(`-${m.id}`));
    await subscribed(ch);
    return { p, ch, events, ids: () => Object.keys(ch.members.members).sort() };
  }

  test('one member list across nodes, each member_added and member_removed once on every node', { timeout: 30000 }, async () => {
    const channel = 'presence-across';
    const a = await member(0, channel, 'a');
    const b = await member(1, channel, 'b');
    assert.deepEqual(b.ids(), ['a', 'b'], 'a joiner on node 1 is given the member of node 0');
    const c = await member(2, channel, 'c');
    assert.deepEqual(c.ids(), ['a', 'b', 'c']);
    await waitFor(() => a.events.length === 2 && b.events.length === 1, 5000, 'member_added on nodes 0 and 1');
    assert.deepEqual(a.events, ['+b', '+c']);
    assert.deepEqual(b.events, ['+c']);

    b.p.disconnect();
    await waitFor(() => a.events.includes('-b') && c.events.includes('-b'), 5000, 'member_removed of b');
    // A sentinel: once everyone sees d, anything more about b would have arrived.
    await member(1, channel, 'd');
    await waitFor(() => a.events.includes('+d') && c.events.includes('+d'), 5000, 'member_added of d');
    assert.deepEqual(a.events, ['+b', '+c', '-b', '+d']);
    assert.deepEqual(c.events, ['-b', '+d']);
    assert.deepEqual(a.ids(), ['a', 'c', 'd']);
  });

  test('a user with tabs on two nodes: closing one changes nothing, closing both removes them once', { timeout: 30000 }, async () => {
    const channel = 'presence-tabs-across';
    const watcher = await member(2, channel, 'w');
    const tab1 = await member(0, channel, 't');
    const tab2 = await member(1, channel, 't');
    assert.deepEqual(tab2.ids(), ['t', 'w']);
    tab1.p.disconnect();
    await member(0, channel, 'sentinel-1');
    await waitFor(() => watcher.events.includes('+sentinel-1'), 5000, 'sentinel');
    assert.deepEqual(watcher.events, ['+t', '+sentinel-1'], 'closing one of two tabs told nobody anything');
    tab2.p.disconnect();
    await waitFor(() => watcher.events.includes('-t'), 5000, 'member_removed of t');
    assert.equal(watcher.events.filter((e) => e === '-t').length, 1);
  });

  test('the grace spans nodes: leaving on one node and coming back on another inside it causes no event', { timeout: 30000 }, async () => {
    const channel = 'presence-grace-across';
    const opts = { onApp: graceApp, withAuth: graceAuth };
    const watcher = await member(2, channel, 'w', opts);
    const first = await member(0, channel, 'g', opts);
    await waitFor(() => watcher.events.includes('+g'), 5000, 'member_added g');
    first.p.disconnect();
    const back = await member(1, channel, 'g', opts);
    assert.deepEqual(back.ids(), ['g', 'w']);
    // Past the grace: had it fired, member_removed would have come by now; the sentinel proves
    // the watcher's stream is current.
    const graceEnds = Date.now() + GRACE_MS + 500;
    await waitFor(() => Date.now() > graceEnds, GRACE_MS + 2000, 'the end of the grace');
    await member(0, channel, 'sentinel-2', opts);
    await waitFor(() => watcher.events.includes('+sentinel-2'), 5000, 'sentinel');
    assert.deepEqual(watcher.events, ['+g', '+sentinel-2']);
    back.p.disconnect();
    await waitFor(() => watcher.events.includes('-g'), GRACE_MS + 5000, 'member_removed after the grace');
  });

  test('triggered events reach every node once, socket_id exclusion and client events work across nodes', { timeout: 30000 }, async () => {
    const channel = 'private-across';
    const subs = [];
    for (let n = 0; n < 3; n++) {
      const p = clients[n].pusher({ auth, user: { id: `s${n}` } });
      const ch = p.subscribe(channel);
      const got = [];
      ch.bind('news', (d) => got.push(d.n));
      ch.bind('client-typing', (d) => got.push(`client:${d.from}`));
      await subscribed(ch);
      subs.push({ p, ch, got });
    }
    const sdk = new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(nodes[1].port), useTLS: false });
    await sdk.trigger(channel, 'news', { n: 1 });
    await waitFor(() => subs.every((s) => s.got.includes(1)), 5000, 'trigger through node 1 on every node');
    await sdk.trigger(channel, 'news', { n: 2 }, { socket_id: subs[2].p.connection.socket_id });
    subs[0].ch.trigger('client-typing', { from: 0 });
    await waitFor(() => subs[1].got.includes('client:0') && subs[2].got.includes('client:0'), 5000, 'client event from node 0');
    await waitFor(() => subs[0].got.includes(2) && subs[1].got.includes(2), 5000, 'second trigger');
    // A last trigger to all as a sentinel: nothing else may have arrived before it.
    await sdk.trigger(channel, 'news', { n: 3 });
    await waitFor(() => subs.every((s) => s.got.includes(3)), 5000, 'sentinel trigger');
    // Each publisher's events arrive in its order; a trigger and a client event from different
    // nodes have no order between them, so only who got what, and how often, is compared.
    const sorted = (list) => list.map(String).sort();
    assert.deepEqual(subs[0].got, [1, 2, 3], 'the sender does not get its own client event');
    assert.deepEqual(sorted(subs[1].got), sorted([1, 2, 3, 'client:0']));
    assert.deepEqual(sorted(subs[2].got), sorted([1, 3, 'client:0']), 'the excluded socket on node 2 did not get event 2');
  });

  /** The signed REST calls of `onApp` through node `n`: {status, json}. */
  async function rest(n, method, path, body, onApp = beatApp) {
    const sdk = new Pusher({ appId: onApp.id, key: onApp.key, secret: onApp.secret, host: '127.0.0.1', port: String(nodes[n].port), useTLS: false });
    let res;
    try {
      res = method === 'POST' ? await sdk.post({ path, body }) : await sdk.get({ path });
    } catch (e) {
      res = e.response ?? { status: e.status, text: async () => e.body ?? '' };
    }
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null, text };
  }
  const beat = async (n, body) => {
    const res = await rest(n, 'POST', '/presence/heartbeat', body);
    assert.equal(res.status, 200, res.text);
    return res.json;
  };
  const presenceOf = async (n, users, onApp) => {
    const res = await rest(n, 'POST', '/users/presence', { users }, onApp);
    assert.equal(res.status, 200, res.text);
    return res.json.users;
  };

  test('HTTP heartbeats across nodes: pings of one tab through any node are one member, its offline through another ends it, and a tab without pings expires once', { timeout: 30000 }, async () => {
    const channel = 'presence-beats';
    const opts = { onApp: beatApp, withAuth: beatAuth };
    const watchers = [await member(0, channel, 'w0', opts), await member(2, channel, 'w2', opts)];
    const user_info = { name: 'Tab user' };
    assert.deepEqual(await beat(0, { user_id: 'hb', contexts: ['beats'], tab: 'tab-1', user_info }), { contexts: { beats: 'present' }, ttl_ms: BEAT_TTL_MS });
    await beat(1, { user_id: 'hb', contexts: ['beats'], tab: 'tab-1', user_info });
    await beat(2, { user_id: 'hb', contexts: ['beats'], tab: 'tab-2', user_info });
    await waitFor(() => watchers.every((w) => w.events.includes('+hb')), 5000, 'member_added of the heartbeat user on nodes 0 and 2');
    const late = await member(1, channel, 'late', opts);
    assert.deepEqual(late.ids(), ['hb', 'late', 'w0', 'w2'], 'a joiner on node 1 is given the heartbeat member');
    for (let n = 0; n < 3; n++) assert.equal((await presenceOf(n, ['hb'], beatApp)).hb.online, true, `online from node ${n}`);
    // One tab says goodbye through node 2; the other still holds the member.
    const off = await rest(2, 'POST', '/presence/offline', { user_id: 'hb', context: 'beats', tab: 'tab-1' });
    assert.equal(off.status, 200, off.text);
    const ended = await beat(0, { user_id: 'hb', contexts: ['beats'], tab: 'tab-1', user_info });
    assert.deepEqual(ended.contexts, { beats: 'ended' }, 'a late ping of the ended tab does not bring it back');
    // tab-2 is no longer pinged: it expires by its TTL, swept by some node, told once everywhere.
    await waitFor(() => watchers.every((w) => w.events.includes('-hb')) && late.events.includes('-hb'), BEAT_TTL_MS + 8000, 'member_removed after the TTL');
    await member(1, channel, 'sentinel-hb', opts);
    await waitFor(() => watchers.every((w) => w.events.includes('+sentinel-hb')), 5000, 'sentinel');
    for (const w of watchers) assert.deepEqual(w.events.filter((e) => e.endsWith('hb')), ['+hb', '-hb', '+sentinel-hb']);
    assert.equal(receiver.count('member_added', channel, 'hb'), 1, 'one member_added webhook');
    await waitFor(() => receiver.count('member_removed', channel, 'hb') === 1, 5000, 'one member_removed webhook');
    const answers = [];
    for (let n = 0; n < 3; n++) answers.push((await presenceOf(n, ['hb'], beatApp)).hb);
    assert.equal(answers[0].online, false, JSON.stringify(answers[0]));
    assert.equal(typeof answers[0].last_seen, 'number', JSON.stringify(answers[0]));
    assert.deepEqual(answers[1], answers[0]);
    assert.deepEqual(answers[2], answers[0]);
  });

  // A user signed in on node 2 watching `watchlist`; what they hear ("online u", "offline u").
  async function watcherOnNode2(id, watchlist) {
    const p = clients[2].pusher({ auth, user: { id, watchlist } });
    const heard = [];
    p.user.watchlist.bind('online', (e) => heard.push(...e.user_ids.map((u) => `online ${u}`)));
    p.user.watchlist.bind('offline', (e) => heard.push(...e.user_ids.map((u) => `offline ${u}`)));
    p.signin();
    await withTimeout(p.user.signinDonePromise, 5000, `signin of ${id} on node 2`);
    return heard;
  }

  test('watchlists, online state and last seen are the same from every node', { timeout: 30000 }, async () => {
    const seen = await watcherOnNode2('watcher', ['watched']);
    // Online on two nodes: one "online" for the watcher, online from every node.
    const tab1 = await member(0, 'presence-watched-1', 'watched');
    const tab2 = await member(1, 'presence-watched-2', 'watched');
    await waitFor(() => seen.includes('online watched'), 5000, 'the watcher hears that watched came online');
    for (let n = 0; n < 3; n++) assert.equal((await presenceOf(n, ['watched'], app)).watched.online, true, `online from node ${n}`);
    tab1.p.disconnect();
    tab2.p.disconnect();
    await waitFor(() => seen.includes('offline watched'), 5000, 'the watcher hears that watched went offline');
    const answers = [];
    for (let n = 0; n < 3; n++) answers.push((await presenceOf(n, ['watched'], app)).watched);
    assert.equal(answers[0].online, false, JSON.stringify(answers[0]));
    assert.ok(Math.abs(answers[0].last_seen - Date.now()) < 10000, JSON.stringify(answers[0]));
    assert.deepEqual(answers[1], answers[0]);
    assert.deepEqual(answers[2], answers[0]);
    assert.deepEqual(seen, ['online watched', 'offline watched']);
    const lastSeen = await signedRaw(nodes[1], app, 'PUT', '/users/watched/privacy', JSON.stringify({ last_seen: 'hidden' }));
    assert.equal(lastSeen.status, 200, lastSeen.body);
    const privacy = await rest(2, 'GET', '/users/watched/privacy', undefined, app);
    assert.deepEqual(privacy.json, { visibility: 'everyone', last_seen: 'hidden' }, 'set through node 1, read through node 2');
  });

  test('invisibility across nodes: set through one node, hidden on every node, shown again through another', { timeout: 30000 }, async () => {
    const channel = 'presence-invisible-across';
    const heard = await watcherOnNode2('w-inv', ['shy']);
    const observers = [await member(1, channel, 'obs-1'), await member(2, channel, 'obs-2')];
    const shy = await member(0, channel, 'shy');
    await waitFor(() => observers.every((o) => o.events.includes('+shy')) && heard.includes('online shy'), 5000, 'shy arrives');
    const hide = await signedRaw(nodes[1], app, 'PUT', '/users/shy/privacy', JSON.stringify({ visibility: 'nobody' }));
    assert.equal(hide.status, 200, hide.body);
    assert.deepEqual(JSON.parse(hide.body), { visibility: 'nobody', last_seen: 'exact' });
    await waitFor(() => observers.every((o) => o.events.includes('-shy')) && heard.includes('offline shy'), 5000, 'shy leaves everyone\'s view');
    assert.ok(!shy.events.includes('-shy'), 'their own page sees no change');
    for (let n = 0; n < 3; n++) {
      const users = await rest(n, 'GET', `/channels/${channel}/users`, undefined, app);
      assert.deepEqual(users.json.users.map((u) => u.id).sort(), ['obs-1', 'obs-2'], `users from node ${n}`);
      const sdk = new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(nodes[n].port), useTLS: false });
      const one = await (await sdk.get({ path: `/channels/${channel}`, params: { info: 'user_count' } })).json();
      assert.equal(one.user_count, 2, `user_count from node ${n}`);
      const seen = (await presenceOf(n, ['shy'], app)).shy;
      assert.equal(seen.online, false, `offline from node ${n}: ${JSON.stringify(seen)}`);
    }
    // A joiner on another node is not given them; a second tab of theirs has them in its own list.
    const late = await member(2, channel, 'late-inv');
    assert.deepEqual(late.ids(), ['late-inv', 'obs-1', 'obs-2']);
    const second = await member(1, channel, 'shy');
    assert.deepEqual(second.ids(), ['late-inv', 'obs-1', 'obs-2', 'shy']);
    const show = await signedRaw(nodes[2], app, 'PUT', '/users/shy/privacy', JSON.stringify({ visibility: 'everyone' }));
    assert.equal(show.status, 200, show.body);
    await waitFor(() => [...observers, late].every((o) => o.events.filter((e) => e === '+shy').length === (o === late ? 1 : 2)) && heard.filter((e) => e === 'online shy').length === 2, 5000, 'shy is back for everyone');
    assert.deepEqual(heard, ['online shy', 'offline shy', 'online shy']);
    assert.deepEqual(observers[0].events.filter((e) => e.endsWith('shy')), ['+shy', '-shy', '+shy']);
  });

  test('away status across nodes: away when the connections on every node are, told once to the others', { timeout: 30000 }, async () => {
    const channel = 'presence-status-across';
    const observer = await member(2, channel, 'obs');
    const updates = [];
    observer.ch.bind('greendot:member_updated', (d) => updates.push(`${d.user_id} ${d.status}`));
    const tab0 = await member(0, channel, 'st');
    const tab1 = await member(1, channel, 'st');
    const own = [];
    for (const tab of [tab0, tab1]) tab.ch.bind('greendot:member_updated', (d) => own.push(d));
    const statusFrom = async (n) => (await presenceOf(n, ['st'], app)).st.status;
    tab0.p.send_event('greendot:status', { status: 'away' });
    await waitFor(async () => (await statusFrom(0)) === 'online', 5000, 'one tab away of two: online');
    tab1.p.send_event('greendot:status', { status: 'away' });
    await waitFor(() => updates.includes('st away'), 5000, 'member_updated away on node 2');
    for (let n = 0; n < 3; n++) assert.equal(await statusFrom(n), 'away', `away from node ${n}`);
    tab0.p.send_event('greendot:status', { status: 'online' });
    await waitFor(() => updates.includes('st online'), 5000, 'member_updated online on node 2');
    for (let n = 0; n < 3; n++) assert.equal(await statusFrom(n), 'online', `online from node ${n}`);
    assert.deepEqual(updates, ['st away', 'st online']);
    assert.deepEqual(own, [], 'the user\'s own connections are not told their own status');
  });

  test('REST answers are the same from every node', { timeout: 30000 }, async () => {
    const channel = 'presence-rest-across';
    await member(0, channel, 'r1');
    await member(1, channel, 'r2');
    await member(1, channel, 'r2');
    const answers = [];
    for (const node of nodes) {
      const sdk = new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(node.port), useTLS: false });
      const one = await (await sdk.get({ path: `/channels/${channel}`, params: { info: 'user_count,subscription_count' } })).json();
      const users = await (await sdk.get({ path: `/channels/${channel}/users` })).json();
      const list = await (await sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-rest', info: 'user_count' } })).json();
      answers.push({ one, users: users.users.map((u) => u.id).sort(), list });
    }
    assert.deepEqual(answers[0].one, { occupied: true, user_count: 2, subscription_count: 3 });
    assert.deepEqual(answers[0].users, ['r1', 'r2']);
    assert.deepEqual(answers[0].list, { channels: { [channel]: { user_count: 2 } } });
    assert.deepEqual(answers[1], answers[0]);
    assert.deepEqual(answers[2], answers[0]);
  });

  test('terminate_connections closes the user on every node', { timeout: 30000 }, async () => {
    const signedIn = async (n, id) => {
      const p = clients[n].pusher({ auth, user: { id } });
      p.signin();
      await withTimeout(p.user.signinDonePromise, 5000, `signin on node ${n}`);
      return p;
    };
    const victims = [await signedIn(0, 'v'), await signedIn(2, 'v')];
    const bystander = await signedIn(1, 'b');
    const closed = victims.map((p) => new Promise((resolve) => p.connection.bind('state_change', ({ current }) => current !== 'connected' && resolve(current))));
    const sdk = new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(nodes[1].port), useTLS: false });
    await sdk.terminateUserConnections('v');
    await withTimeout(Promise.all(closed), 5000, 'both connections of v closed');
    assert.equal(bystander.connection.state, 'connected');
  });

  test('webhooks are sent once in total, by the node that made the change', { timeout: 30000 }, async () => {
    const channel = 'presence-hooks-across';
    const x = await member(0, channel, 'x');
    const y = await member(1, channel, 'y');
    const y2 = await member(2, channel, 'y');
    x.p.disconnect();
    y.p.disconnect();
    y2.p.disconnect();
    await waitFor(() => receiver.count('channel_vacated', channel) === 1, 10000, 'channel_vacated');
    // Each node delivers its webhooks in order: a channel occupied and vacated through every
    // node last proves that everything each node sent before has arrived.
    for (let n = 0; n < 3; n++) {
      const p = clients[n].pusher({ auth, user: { id: `hook-sentinel-${n}` } });
      await subscribed(p.subscribe(`hook-sentinel-${n}`));
      p.disconnect();
      await waitFor(() => receiver.count('channel_vacated', `hook-sentinel-${n}`) === 1, 10000, `sentinel webhook of node ${n}`);
    }
    const seen = receiver.events.filter((e) => e.channel === channel).map((e) => `${e.name}:${e.user_id ?? ''}`);
    assert.equal(receiver.count('channel_occupied', channel), 1, seen.join(', '));
    assert.equal(receiver.count('member_added', channel, 'x'), 1);
    assert.equal(receiver.count('member_added', channel, 'y'), 1);
    assert.equal(receiver.count('member_removed', channel, 'x'), 1);
    assert.equal(receiver.count('member_removed', channel, 'y'), 1);
    assert.equal(receiver.count('channel_vacated', channel), 1);
  });

  test('a node killed with kill -9: the others remove its members once, within the lease', { timeout: 40000 }, async () => {
    const channel = 'presence-kill';
    const victim = await startNode();
    const watchers = [await member(0, channel, 'w0'), await member(1, channel, 'w1')];
    await member(victim, channel, 'k1');
    await member(victim, channel, 'k2');
    await waitFor(() => watchers.every((w) => w.events.includes('+k2')), 5000, 'members of the doomed node seen');
    // Swept by whichever survivor claimed it first.
    const swept = async () => {
      let sum = 0;
      for (let n = 0; n < nodes.length; n++) {
        if (n !== victim && !nodes[n].exitInfo) sum += await metric(n, 'greendot_engine_nodes_swept_total');
      }
      return sum;
    };
    const sweptBefore = await swept();
    const killedAt = Date.now();
    await nodes[victim].kill();
    await waitFor(() => watchers.every((w) => w.events.includes('-k1') && w.events.includes('-k2')), LEASE_MS + 8000, 'member_removed of the dead node');
    const took = Date.now() - killedAt;
    console.log(`# kill -9 to the last member_removed: ${took} ms (lease ${LEASE_MS} ms)`);
    await member(1, channel, 'sentinel-3');
    await waitFor(() => watchers.every((w) => w.events.includes('+sentinel-3')), 5000, 'sentinel seen by every watcher');
    for (const w of watchers) {
      assert.equal(w.events.filter((e) => e === '-k1').length, 1);
      assert.equal(w.events.filter((e) => e === '-k2').length, 1);
    }
    assert.deepEqual(watchers[0].ids(), ['sentinel-3', 'w0', 'w1']);
    await waitFor(() => receiver.count('member_removed', channel, 'k1') === 1, 5000, 'member_removed webhook of k1');
    assert.equal((await swept()) - sweptBefore, 1, 'one survivor swept it, once');
    // Its sessions, graces and channel list are gone from Redis too.
    assert.equal((await redis.command('HLEN', `greendot:{${app.id}:${channel}}:live`)).trim(), '3');
  });

  test('Redis restarted without its data: members stay, nobody is told anything, joins go on', { timeout: 60000 }, async () => {
    const channel = 'presence-redis-restart';
    const m0 = await member(0, channel, 'm0');
    const m1 = await member(1, channel, 'm1');
    const m2 = await member(2, channel, 'm2');
    await waitFor(() => m0.events.length === 2, 5000, 'everyone seen');
    await redis.restart();
    // Every node comes back ready (it re-asserts its sessions under a new lease).
    for (const node of nodes) {
      if (node.exitInfo) continue;
      await waitFor(async () => (await fetch(node.httpUrl('/ready'))).status === 200, 15000, `node ${node.port} ready again`);
    }
    const after = await member(1, channel, 'late');
    assert.deepEqual(after.ids(), ['late', 'm0', 'm1', 'm2'], 'the list is whole again after the restart');
    await waitFor(() => m0.events.includes('+late') && m2.events.includes('+late'), 5000, 'member_added of late');
    assert.deepEqual(m0.events, ['+m1', '+m2', '+late'], 'no spurious leave or join for members who stayed');
    assert.deepEqual(m2.events, ['+late'], nodes.map((n) => n.logs()).join('\n'));
    // Members missing from a rebuilt list are taken as gone only after a lease and the longest
    // reconnect backoff (5 s): past that, with a sentinel, nothing more may have come.
    const settled = Date.now() + LEASE_MS + 5000 + 500;
    await waitFor(() => Date.now() > settled, LEASE_MS + 8000, 'the settling of the rebuilt lists');
    await member(0, channel, 'sentinel-4');
    await waitFor(() => m0.events.includes('+sentinel-4') && m2.events.includes('+sentinel-4'), 5000, 'sentinel seen by both');
    assert.deepEqual(m0.events, ['+m1', '+m2', '+late', '+sentinel-4']);
    assert.deepEqual(m2.events, ['+late', '+sentinel-4']);
  });

  test('Redis out of reach for a while: local delivery goes on, joins and REST are refused as retryable, all comes back', { timeout: 60000 }, async () => {
    const channel = 'presence-outage';
    const stayer = await member(0, channel, 'stayer');
    const other = await member(1, channel, 'other');
    await waitFor(() => stayer.events.includes('+other'), 5000, 'both seen');
    const got = [];
    const p = clients[0].pusher({ auth, user: { id: 'listener' } });
    const plain = p.subscribe('outage-news');
    plain.bind('news', (d) => got.push(d.n));
    await subscribed(plain);

    await redis.kill();
    await waitFor(async () => (await fetch(nodes[0].httpUrl('/ready'))).status === 503, 10000, '/ready says 503');
    const ready = await (await fetch(nodes[0].httpUrl('/ready'))).json();
    assert.equal(ready.status, 'not ready');
    // A join cannot be decided: refused with a status that says to retry.
    const late = clients[1].pusher({ auth, user: { id: 'late', info: { id: 'late' } } });
    const refused = await new Promise((resolve) => late.subscribe(channel).bind('pusher:subscription_error', resolve));
    assert.equal(refused.status, 503);
    late.disconnect();
    // REST reads need Redis: a 503 with a JSON body.
    const sdk = new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(nodes[0].port), useTLS: false });
    const answer = await sdk.get({ path: '/channels' }).catch((e) => e);
    assert.equal(answer.status, 503);
    assert.match(JSON.parse(answer.body).error, /unavailable/);
    // A trigger on a node still reaches that node's subscribers.
    await sdk.trigger('outage-news', 'news', { n: 1 });
    await waitFor(() => got.includes(1), 5000, 'local delivery while Redis is down');
    // Counted for the operators: the outage, and the message the other nodes did not get.
    assert.ok((await metric(0, 'greendot_engine_store_disconnections_total')) >= 1);
    assert.ok((await metric(0, 'greendot_engine_messages_not_shared_total')) >= 1);
    assert.equal(await metric(0, 'greendot_engine_ready'), 0);

    await redis.start();
    for (const node of nodes) {
      if (node.exitInfo) continue;
      await waitFor(async () => (await fetch(node.httpUrl('/ready'))).status === 200, 20000, `node ${node.port} ready again`);
    }
    const back = await member(2, channel, 'back');
    assert.deepEqual(back.ids(), ['back', 'other', 'stayer']);
    await waitFor(() => stayer.events.includes('+back') && other.events.includes('+back'), 5000, 'member_added of back');
    assert.deepEqual(stayer.events, ['+other', '+back'], 'no leave or join for members who stayed');
    await sdk.trigger('outage-news', 'news', { n: 2 });
    await waitFor(() => got.includes(2), 5000, 'delivery after the outage');
    assert.deepEqual(got, [1, 2]);
  });
});
