// The Pusher HTTP REST API, driven by the official `pusher` SDK (and by hand-signed requests for
// what the SDK cannot send), checked against what pusher-js and Laravel Echo clients see on the
// WebSocket side at the same moment: trigger to one and many channels, socket_id exclusion
// (Laravel's toOthers), batches, info attributes, channel listings and counts, presence users,
// terminate_connections, and every refusal with its exact status and message.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';
import Pusher from 'pusher';
import { startServer, makeApp } from './lib/server.mjs';
import { startAuthEndpoint } from './lib/auth-endpoint.mjs';
import { Clients, subscribed, waitFor, withTimeout, hmac, httpRequest, sleep } from './lib/clients.mjs';

// ---------------------------------------------------------------------------------------------
// Helpers

const md5 = (text) => crypto.createHash('md5').update(text, 'utf8').digest('hex');
const nowSeconds = () => Math.floor(Date.now() / 1000);

/** The official server SDK pointed at the test server. */
function sdkFor(server, app) {
  return new Pusher({
    appId: app.id,
    key: app.key,
    secret: app.secret,
    host: '127.0.0.1',
    port: String(server.port),
    useTLS: false,
  });
}

/** Resolves with {status, body} of the RequestError an SDK call rejects with; fails if it resolves. */
async function sdkRefusal(promiseOrFn) {
  try {
    const res = await (typeof promiseOrFn === 'function' ? promiseOrFn() : promiseOrFn);
    const text = await res.text();
    assert.fail(`expected the request to be refused, got ${res.status} ${text}`);
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.equal(typeof err.status, 'number', `expected a RequestError with a status, got ${err && err.stack}`);
    return { status: err.status, body: err.body };
  }
}

/** Status 200 and the parsed JSON body of an SDK response. */
async function okJson(res) {
  const text = await res.text();
  assert.equal(res.status, 200, `status 200, got ${res.status} ${text}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/, 'content-type is application/json');
  return JSON.parse(text);
}

/** An error answer: exactly this status, a JSON body {"error": message} with message matching `pattern`. */
function assertError(res, status, pattern, label = '') {
  const where = `${label ? `${label}: ` : ''}${status} expected, got ${res.status} ${res.body}`;
  assert.equal(res.status, status, where);
  if (res.headers) assert.match(res.headers['content-type'] ?? '', /^application\/json/, `content-type (${where})`);
  let body;
  try {
    body = JSON.parse(res.body);
  } catch {
    assert.fail(`body is JSON (${where})`);
  }
  assert.deepEqual(Object.keys(body), ['error'], `body is {"error": ...} (${where})`);
  assert.equal(typeof body.error, 'string', where);
  assert.match(body.error, pattern, where);
  return body.error;
}

/**
 * A request signed by hand as the REST API documents it:
 * auth_key, auth_timestamp, auth_version=1.0, body_md5 (non-empty body), and
 * auth_signature = HMAC-SHA256(secret, `${METHOD}\n${path}\n${sorted query}`).
 *
 * `tweak` options: key, secret, timestamp, version, bodyMd5 (a value, or null to leave it out),
 * omit (names of parameters to leave out after signing), signMethod/signPath (sign something else).
 */
function signedTarget(app, { method, path, query = {}, body, key, secret, timestamp, version, bodyMd5, omit = [], signMethod, signPath }) {
  const params = {
    auth_key: key ?? app.key,
    auth_timestamp: String(timestamp ?? nowSeconds()),
    auth_version: version ?? '1.0',
    ...query,
  };
  if (bodyMd5 !== undefined) {
    if (bodyMd5 !== null) params.body_md5 = bodyMd5;
  } else if (body !== undefined && body !== '') {
    params.body_md5 = md5(body);
  }
  const sorted = Object.keys(params)
    .map((k) => [k.toLowerCase(), params[k]])
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  params.auth_signature = hmac(secret ?? app.secret, `${signMethod ?? method}\n${signPath ?? path}\n${sorted}`);
  for (const name of omit) delete params[name];
  const qs = Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  return `${path}?${qs}`;
}

/** Sends a hand-signed request; resolves with {status, headers, body}. */
function signedRequest(server, app, opts) {
  const { method, body } = opts;
  const headers = body !== undefined ? { 'content-type': 'application/json' } : {};
  return httpRequest(server.httpUrl(signedTarget(app, opts)), { method, headers, body });
}

/** A pusher-js client subscribed to `channel`, recording every event of it (pusher internals excluded). */
async function listener(clients, channel, opts = {}) {
  const p = opts.pusher ?? (await clients.connectedPusher(opts));
  const ch = p.subscribe(channel);
  const events = [];
  ch.bind_global((event, data) => {
    if (!event.startsWith('pusher:')) events.push({ event, data });
  });
  await subscribed(ch);
  return { p, ch, events, socketId: p.connection.socket_id, names: () => events.map((e) => e.event) };
}

/** Records the WebSocket close frames a pusher-js client receives (code and reason). */
function recordCloses(p) {
  const closes = [];
  const transport = p.connection.connection?.transport;
  assert.ok(transport, 'pusher-js has a transport (connected)');
  transport.bind('closed', (e) => closes.push(e ? { code: e.code, reason: e.reason } : { code: undefined }));
  return closes;
}

const sortIds = (users) => users.map((u) => u.id).sort();

// ---------------------------------------------------------------------------------------------

describe('REST API', () => {
  let server;
  let clients;
  let auth;
  let listingAuth;
  let rest;
  const main = makeApp({ offline_grace_ms: 0 });
  const listing = makeApp({ offline_grace_ms: 0 }); // its own app, so that GET /channels sees only this test's channels
  const other = makeApp();
  const disabled = makeApp({ enabled: false });

  before(async () => {
    server = await startServer({ apps: [main, listing, other, disabled] });
    clients = new Clients(server);
    auth = await startAuthEndpoint(main);
    listingAuth = await startAuthEndpoint(listing);
    rest = sdkFor(server, main);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    await clients?.closeAll();
    await auth?.close();
    await listingAuth?.close();
    if (server) assert.equal(await server.stop(), 0, `greendot exit code\n${server.logs()}`);
  });

  // -------------------------------------------------------------------------------------------
  describe('trigger', () => {
    test('to one channel: {} and the subscribers receive the event with its data', { timeout: 15000 }, async () => {
      const a = await listener(clients, 'rest-one');
      const b = await listener(clients, 'rest-one');
      const res = await rest.trigger('rest-one', 'greeting', { hello: 'world', n: 1 });
      assert.deepEqual(await okJson(res), {});
      await waitFor(() => a.events.length === 1 && b.events.length === 1, 5000, 'both subscribers receive greeting');
      assert.deepEqual(a.events, [{ event: 'greeting', data: { hello: 'world', n: 1 } }]);
      assert.deepEqual(b.events, [{ event: 'greeting', data: { hello: 'world', n: 1 } }]);
    });

    test('data is delivered as the exact string the SDK sent (string data stays a string)', { timeout: 15000 }, async () => {
      const c = await clients.raw();
      await c.subscribe('rest-raw');
      await okJson(await rest.trigger('rest-raw', 'plain', 'just text'));
      const frame = await c.next('plain');
      assert.deepEqual(frame, { event: 'plain', channel: 'rest-raw', data: 'just text' });
      await okJson(await rest.trigger('rest-raw', 'object', { a: [1, 2] }));
      const frame2 = await c.next('object');
      assert.deepEqual(frame2, { event: 'object', channel: 'rest-raw', data: '{"a":[1,2]}' });
    });

    test('to many channels (public, private-, presence-): each subscriber receives it once, on its channel', { timeout: 20000 }, async () => {
      const channels = ['rest-many-a', 'private-rest-many-b', 'presence-rest-many-c'];
      const subs = [];
      for (const [i, ch] of channels.entries()) {
        subs.push(await listener(clients, ch, { auth, user: { id: `u${i}` } }));
      }
      // One client on two of the channels gets one copy per channel.
      const both = await clients.connectedPusher({ auth, user: { id: 'both' } });
      const bothEvents = [];
      for (const ch of [channels[0], channels[2]]) {
        const channel = both.subscribe(ch);
        channel.bind('fanout', (data) => bothEvents.push({ channel: ch, data }));
        await subscribed(channel);
      }
      // And one on none of them gets nothing.
      const outsider = await listener(clients, 'rest-many-outside');

      assert.deepEqual(await okJson(await rest.trigger(channels, 'fanout', { x: 1 })), {});
      await waitFor(() => subs.every((s) => s.events.length === 1) && bothEvents.length === 2, 5000, 'fan-out');
      for (const s of subs) assert.deepEqual(s.events, [{ event: 'fanout', data: { x: 1 } }]);
      assert.deepEqual(bothEvents.map((e) => e.channel).sort(), [channels[0], channels[2]].sort());
      // Sentinel on the outsider's channel: anything for it would have come first.
      await okJson(await rest.trigger('rest-many-outside', 'sentinel', {}));
      await waitFor(() => outsider.events.length === 1, 5000, 'sentinel');
      assert.deepEqual(outsider.names(), ['sentinel']);
      // A second event on every channel: a duplicate of the first would have come before it.
      const bothAfter = [];
      for (const ch of [channels[0], channels[2]]) both.channel(ch).bind('after', () => bothAfter.push(ch));
      await okJson(await rest.trigger(channels, 'after', {}));
      await waitFor(() => subs.every((s) => s.names().includes('after')) && bothAfter.length === 2, 5000, 'the second event');
      for (const s of subs) assert.deepEqual(s.names(), ['fanout', 'after'], 'no duplicates');
      assert.equal(bothEvents.length, 2, 'no duplicates');
    });

    test('socket_id: the connection with that id does not receive the event, the others do', { timeout: 15000 }, async () => {
      const sender = await listener(clients, 'rest-others');
      const other1 = await listener(clients, 'rest-others');
      const other2 = await listener(clients, 'rest-others');
      assert.match(sender.socketId, /^\d+\.\d+$/);
      assert.deepEqual(await okJson(await rest.trigger('rest-others', 'excluded', { n: 1 }, { socket_id: sender.socketId })), {});
      await okJson(await rest.trigger('rest-others', 'for-all', { n: 2 }));
      await waitFor(() => sender.events.length === 1 && other1.events.length === 2 && other2.events.length === 2, 5000, 'deliveries');
      assert.deepEqual(sender.names(), ['for-all'], 'the excluded socket only sees the second event');
      assert.deepEqual(other1.names(), ['excluded', 'for-all']);
      assert.deepEqual(other2.names(), ['excluded', 'for-all']);
    });

    test("socket_id on a multi-channel trigger excludes that connection on every channel (Laravel toOthers with Echo's socketId())", { timeout: 20000 }, async () => {
      // The browser that made the change, through Laravel Echo.
      const echo = clients.echo({ auth, user: { id: 'me' } });
      const mine = [];
      await new Promise((resolve) => {
        echo.channel('orders').listen('.OrderShipped', (e) => mine.push({ channel: 'orders', e })).subscribed(resolve);
      });
      await new Promise((resolve) => {
        echo.private('orders.7').listen('.OrderShipped', (e) => mine.push({ channel: 'private-orders.7', e })).subscribed(resolve);
      });
      const socketId = echo.socketId();
      assert.match(socketId, /^\d+\.\d+$/);
      // Someone else watching both channels.
      const peerP = await clients.connectedPusher({ auth, user: { id: 'peer' } });
      const peerA = await listener(clients, 'orders', { pusher: peerP });
      const peerB = await listener(clients, 'private-orders.7', { pusher: peerP });

      // What Laravel's PusherBroadcaster does for broadcast(...)->toOthers().
      await okJson(await rest.trigger(['orders', 'private-orders.7'], 'OrderShipped', { id: 7 }, { socket_id: socketId }));
      await waitFor(() => peerA.events.length === 1 && peerB.events.length === 1, 5000, 'the peer receives on both channels');
      assert.deepEqual(peerA.events, [{ event: 'OrderShipped', data: { id: 7 } }]);
      assert.deepEqual(peerB.events, [{ event: 'OrderShipped', data: { id: 7 } }]);
      // Sentinel without socket_id: the excluded browser sees only it.
      await okJson(await rest.trigger(['orders', 'private-orders.7'], 'OrderShipped', { id: 8 }));
      await waitFor(() => mine.length === 2, 5000, 'sentinel on both channels');
      assert.deepEqual(mine.map((m) => m.e).sort((a, b) => a.id - b.id), [{ id: 8 }, { id: 8 }]);
      assert.deepEqual(mine.map((m) => m.channel).sort(), ['orders', 'private-orders.7']);
    });

    test('triggerBatch: every event delivered, in order, socket_id per entry respected', { timeout: 15000 }, async () => {
      const a = await listener(clients, 'rest-batch-a');
      const b = await listener(clients, 'rest-batch-b');
      const excluded = await listener(clients, 'rest-batch-a');
      const batch = [
        { channel: 'rest-batch-a', name: 'e1', data: { i: 1 } },
        { channel: 'rest-batch-b', name: 'e2', data: { i: 2 } },
        { channel: 'rest-batch-a', name: 'e3', data: { i: 3 }, socket_id: excluded.socketId },
        { channel: 'rest-batch-a', name: 'e4', data: 'four' },
        { channel: 'rest-batch-b', name: 'e5', data: { i: 5 } },
        { channel: 'rest-batch-a', name: 'e6', data: { i: 6 } },
      ];
      assert.deepEqual(await okJson(await rest.triggerBatch(batch)), {});
      await waitFor(() => a.events.length === 4 && b.events.length === 2 && excluded.events.length === 3, 5000, 'batch delivered');
      assert.deepEqual(a.events, [
        { event: 'e1', data: { i: 1 } },
        { event: 'e3', data: { i: 3 } },
        { event: 'e4', data: 'four' },
        { event: 'e6', data: { i: 6 } },
      ]);
      assert.deepEqual(b.events, [
        { event: 'e2', data: { i: 2 } },
        { event: 'e5', data: { i: 5 } },
      ]);
      assert.deepEqual(excluded.names(), ['e1', 'e4', 'e6']);
    });

    test('many triggers in a row arrive in the order they were answered', { timeout: 15000 }, async () => {
      const a = await listener(clients, 'rest-order');
      for (let i = 0; i < 20; i++) await okJson(await rest.trigger('rest-order', 'n', { i }));
      await waitFor(() => a.events.length === 20, 5000, '20 events');
      assert.deepEqual(
        a.events.map((e) => e.data.i),
        [...Array(20).keys()],
      );
    });

    test('info=subscription_count,user_count: {"channels":{...}} per channel, user_count only for presence', { timeout: 20000 }, async () => {
      // presence-rest-info: user 1 with two tabs, user 2 with one: 2 users, 3 subscriptions.
      await listener(clients, 'presence-rest-info', { auth, user: { id: 1 } });
      await listener(clients, 'presence-rest-info', { auth, user: { id: 1 } });
      await listener(clients, 'presence-rest-info', { auth, user: { id: 2 } });
      // rest-info-public: 2 subscriptions; private-rest-info: 1.
      const pub = await listener(clients, 'rest-info-public');
      await listener(clients, 'rest-info-public');
      await listener(clients, 'private-rest-info', { auth });

      const res = await rest.trigger(
        ['presence-rest-info', 'rest-info-public', 'private-rest-info', 'rest-info-empty'],
        'with-info',
        { x: 1 },
        { info: 'subscription_count,user_count' },
      );
      assert.deepEqual(await okJson(res), {
        channels: {
          'presence-rest-info': { user_count: 2, subscription_count: 3 },
          'rest-info-public': { subscription_count: 2 },
          'private-rest-info': { subscription_count: 1 },
          'rest-info-empty': { subscription_count: 0 },
        },
      });
      await waitFor(() => pub.events.length === 1, 5000, 'the event with info is delivered too');

      const onlyUsers = await rest.trigger('presence-rest-info', 'with-info', {}, { info: 'user_count' });
      assert.deepEqual(await okJson(onlyUsers), { channels: { 'presence-rest-info': { user_count: 2 } } });
      const onlySubs = await rest.trigger('rest-info-public', 'with-info', {}, { info: 'subscription_count' });
      assert.deepEqual(await okJson(onlySubs), { channels: { 'rest-info-public': { subscription_count: 2 } } });
    });

    test('triggerBatch with info: {"batch":[...]} index-aligned, {} for entries without info', { timeout: 20000 }, async () => {
      await listener(clients, 'presence-rest-binfo', { auth, user: { id: 'a' } });
      await listener(clients, 'presence-rest-binfo', { auth, user: { id: 'b' } });
      await listener(clients, 'rest-binfo');
      const res = await rest.triggerBatch([
        { channel: 'presence-rest-binfo', name: 'x', data: {}, info: 'user_count,subscription_count' },
        { channel: 'rest-binfo', name: 'x', data: {} },
        { channel: 'rest-binfo', name: 'x', data: {}, info: 'subscription_count' },
      ]);
      assert.deepEqual(await okJson(res), {
        batch: [{ user_count: 2, subscription_count: 2 }, {}, { subscription_count: 1 }],
      });
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('channel information', () => {
    test('GET /channels: occupied channels, filter_by_prefix, info=user_count with a presence- prefix', { timeout: 20000 }, async () => {
      const lrest = sdkFor(server, listing);
      const get = async (params) => okJson(await lrest.get({ path: '/channels', params }));
      assert.deepEqual(await get(), { channels: {} }, 'nothing occupied yet');

      await listener(clients, 'presence-room-a', { app: listing, auth: listingAuth, user: { id: 1 } });
      await listener(clients, 'presence-room-a', { app: listing, auth: listingAuth, user: { id: 1 } });
      await listener(clients, 'presence-room-a', { app: listing, auth: listingAuth, user: { id: 2 } });
      await listener(clients, 'presence-room-b', { app: listing, auth: listingAuth, user: { id: 3 } });
      await listener(clients, 'private-list-x', { app: listing, auth: listingAuth });
      await listener(clients, 'list-y', { app: listing });
      await listener(clients, 'list-y', { app: listing });
      // A channel of another app with the same name is not listed for this one.
      await listener(clients, 'list-other-app');

      assert.deepEqual(await get(), {
        channels: { 'presence-room-a': {}, 'presence-room-b': {}, 'private-list-x': {}, 'list-y': {} },
      });
      assert.deepEqual(await get({ filter_by_prefix: 'presence-' }), {
        channels: { 'presence-room-a': {}, 'presence-room-b': {} },
      });
      assert.deepEqual(await get({ filter_by_prefix: 'presence-', info: 'user_count' }), {
        channels: { 'presence-room-a': { user_count: 2 }, 'presence-room-b': { user_count: 1 } },
      });
      assert.deepEqual(await get({ filter_by_prefix: 'presence-room-b', info: 'user_count' }), {
        channels: { 'presence-room-b': { user_count: 1 } },
      });
      assert.deepEqual(await get({ filter_by_prefix: 'private-' }), { channels: { 'private-list-x': {} } });
      assert.deepEqual(await get({ filter_by_prefix: 'list-' }), { channels: { 'list-y': {} } });
      assert.deepEqual(await get({ filter_by_prefix: 'nothing-' }), { channels: {} });

      // user_count is only for presence channels: without a presence- prefix it is a 400.
      assertError(await sdkRefusal(lrest.get({ path: '/channels', params: { info: 'user_count' } })), 400, /filter_by_prefix=presence-/);
      assertError(
        await sdkRefusal(lrest.get({ path: '/channels', params: { filter_by_prefix: 'private-', info: 'user_count' } })),
        400,
        /filter_by_prefix=presence-/,
      );

      // Presence channels are no longer listed once their members are gone (public and
      // private channels: see the next test).
      await clients.closeAll();
      let last;
      await waitFor(async () => {
        last = await get({ filter_by_prefix: 'presence-' });
        return Object.keys(last.channels).length === 0;
      }, 5000, 'no presence channel occupied after everyone left').catch((err) => {
        throw new Error(`${err.message}: still listed ${JSON.stringify(last)}`);
      });
    });

    test('public and private channels: subscription_count and occupied follow unsubscribes and disconnects', { timeout: 20000 }, async () => {
      const channel = 'rest-vacate';
      const get = async (name, params) => okJson(await rest.get({ path: `/channels/${name}`, params }));
      const listed = async (prefix) => Object.keys((await okJson(await rest.get({ path: '/channels', params: { filter_by_prefix: prefix } }))).channels);
      const subs = [];
      for (let i = 0; i < 3; i++) subs.push(await listener(clients, channel));
      const priv = await listener(clients, 'private-rest-vacate', { auth });
      assert.deepEqual(await get(channel, { info: 'subscription_count' }), { occupied: true, subscription_count: 3 });
      assert.deepEqual(await listed('rest-vacate'), ['rest-vacate']);

      // Unsubscribe; the answer to a later subscription on the same connection proves it was handled.
      subs[0].p.unsubscribe(channel);
      await subscribed(subs[0].p.subscribe('rest-vacate-sync'));
      assert.deepEqual(await get(channel, { info: 'subscription_count' }), { occupied: true, subscription_count: 2 }, 'after one unsubscribe');

      // A closed connection leaves its channels.
      subs[1].p.disconnect();
      let seen;
      await waitFor(async () => (seen = await get(channel, { info: 'subscription_count' })).subscription_count === 1, 3000, 'subscription_count 1 after a disconnect').catch((err) => {
        throw new Error(`${err.message}: got ${JSON.stringify(seen)}`);
      });

      subs[2].p.unsubscribe(channel);
      await subscribed(subs[2].p.subscribe('rest-vacate-sync'));
      assert.deepEqual(await get(channel), { occupied: false }, 'vacated after the last unsubscribe');
      assert.deepEqual(await listed('rest-vacate'), ['rest-vacate-sync'], 'a vacated channel is not listed');

      priv.p.disconnect();
      await waitFor(async () => (seen = await get('private-rest-vacate')).occupied === false, 3000, 'private channel vacated after a disconnect').catch((err) => {
        throw new Error(`${err.message}: got ${JSON.stringify(seen)}`);
      });
    });

    test('GET /channels/{name}: occupied, subscription_count, user_count', { timeout: 20000 }, async () => {
      const get = async (name, params) => okJson(await rest.get({ path: `/channels/${name}`, params }));
      assert.deepEqual(await get('presence-rest-ch'), { occupied: false });
      assert.deepEqual(await get('rest-ch'), { occupied: false });

      await listener(clients, 'presence-rest-ch', { auth, user: { id: 10 } });
      await listener(clients, 'presence-rest-ch', { auth, user: { id: '10' } }); // the same user
      await listener(clients, 'presence-rest-ch', { auth, user: { id: 11 } });
      await listener(clients, 'rest-ch');
      await listener(clients, 'rest-ch');
      await listener(clients, 'private-rest-ch', { auth });

      assert.deepEqual(await get('presence-rest-ch'), { occupied: true });
      assert.deepEqual(await get('presence-rest-ch', { info: 'user_count' }), { occupied: true, user_count: 2 });
      assert.deepEqual(await get('presence-rest-ch', { info: 'user_count,subscription_count' }), {
        occupied: true,
        user_count: 2,
        subscription_count: 3,
      });
      assert.deepEqual(await get('rest-ch'), { occupied: true });
      assert.deepEqual(await get('rest-ch', { info: 'subscription_count' }), { occupied: true, subscription_count: 2 });
      assert.deepEqual(await get('private-rest-ch', { info: 'subscription_count' }), { occupied: true, subscription_count: 1 });

      // user_count of a non-presence channel is an unavailable attribute.
      assertError(await sdkRefusal(rest.get({ path: '/channels/rest-ch', params: { info: 'user_count' } })), 400, /presence/);
      assertError(await sdkRefusal(rest.get({ path: '/channels/rest-ch', params: { info: 'members' } })), 400, /Unknown info attribute "members"/);
    });

    test('GET /channels/{name}/users and counts follow Echo here/joining/leaving exactly', { timeout: 30000 }, async () => {
      const channel = 'presence-rest-users';
      const users = [1, 2, 3].map((id) => ({ id, info: { id, name: `User ${id}` } }));
      const logs = [];
      const echos = [];
      const users_ = async () => (await okJson(await rest.get({ path: `/channels/${channel}/users` }))).users;
      const info = async () => okJson(await rest.get({ path: `/channels/${channel}`, params: { info: 'user_count,subscription_count' } }));

      assert.deepEqual(await users_(), [], 'nobody yet');
      for (let i = 0; i < users.length; i++) {
        const log = { here: [], joining: [], leaving: [] };
        const echo = clients.echo({ auth, user: users[i] });
        echo
          .join('rest-users')
          .here((m) => log.here.push(m))
          .joining((u) => log.joining.push(u))
          .leaving((u) => log.leaving.push(u));
        logs.push(log);
        echos.push(echo);
        await waitFor(() => log.here.length === 1, 5000, `here() of user ${i + 1}`);
        assert.equal(log.here[0].length, i + 1, `here() lists ${i + 1} users`);
        // At this instant the REST side agrees with what the newcomer was told.
        const listed = await users_();
        for (const u of listed) assert.deepEqual(Object.keys(u), ['id'], 'users are {"id": "..."}');
        assert.deepEqual(sortIds(listed), log.here[0].map((u) => String(u.id)).sort());
        assert.deepEqual(await info(), { occupied: true, user_count: i + 1, subscription_count: i + 1 });
        await waitFor(() => logs.slice(0, i).every((l, j) => l.joining.length === i - j), 5000, 'the others see the joiner');
      }

      // A second tab of user 1: no new user, one more subscription.
      const tab = await listener(clients, channel, { auth, user: users[0] });
      assert.deepEqual(sortIds(await users_()), ['1', '2', '3']);
      assert.deepEqual(await info(), { occupied: true, user_count: 3, subscription_count: 4 });
      await tab.p.disconnect();
      await waitFor(async () => (await info()).subscription_count === 3, 5000, 'the second tab is gone');
      assert.deepEqual(sortIds(await users_()), ['1', '2', '3'], 'user 1 still has a tab');

      // User 2 closes the connection: once the others saw it leave, REST agrees.
      echos[1].disconnect();
      await waitFor(() => logs[0].leaving.length === 1 && logs[2].leaving.length === 1, 5000, 'user 2 leaving');
      assert.deepEqual(sortIds(await users_()), ['1', '3']);
      assert.deepEqual(await info(), { occupied: true, user_count: 2, subscription_count: 2 });

      // User 3 leaves the channel (unsubscribe) but stays connected.
      echos[2].leave('rest-users');
      await waitFor(() => logs[0].leaving.length === 2, 5000, 'user 3 leaving');
      assert.deepEqual(sortIds(await users_()), ['1']);
      assert.deepEqual(await info(), { occupied: true, user_count: 1, subscription_count: 1 });

      // The last one leaves; its next subscription being answered proves the unsubscribe was handled.
      const last = echos[0].connector.pusher;
      echos[0].leave('rest-users');
      await subscribed(last.subscribe('rest-users-sync'));
      assert.deepEqual(await users_(), []);
      assert.deepEqual(await okJson(await rest.get({ path: `/channels/${channel}` })), { occupied: false });
      const vacant = await info();
      assert.equal(vacant.occupied, false, JSON.stringify(vacant));
      for (const k of ['user_count', 'subscription_count']) {
        if (k in vacant) assert.equal(vacant[k], 0, `${k} of a vacated channel: ${JSON.stringify(vacant)}`);
      }
    });

    test('GET /channels/{name}/users of a non-presence channel: 400', { timeout: 15000 }, async () => {
      await listener(clients, 'rest-not-presence');
      for (const name of ['rest-not-presence', 'private-rest-np', 'private-encrypted-rest-np']) {
        assertError(await sdkRefusal(rest.get({ path: `/channels/${name}/users` })), 400, /only available for presence- channels/, name);
      }
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('signed-in users: terminate_connections, sendToUser', () => {
    test("closes the user's signed-in connections with 4009, and no one else's", { timeout: 30000 }, async () => {
      const observer = await listener(clients, 'presence-rest-term', { auth, user: { id: 'observer' } });
      const members = [];
      observer.ch.bind('pusher:member_removed', (m) => members.push(m.id));

      // User 77: two signed-in tabs, both on the presence channel.
      const signedIn = async (user) => {
        const p = clients.pusher({ auth, user });
        p.signin();
        await withTimeout(p.user.signinDonePromise, 5000, `signin of ${user.id}`);
        assert.equal(p.user.user_data?.id, String(user.id));
        const l = await listener(clients, 'presence-rest-term', { pusher: p });
        const errors = [];
        p.connection.bind('error', (e) => errors.push(e));
        return { p, l, errors, closes: recordCloses(p) };
      };
      const tab1 = await signedIn({ id: '77' });
      const tab2 = await signedIn({ id: '77' });
      // User 78, signed in too.
      const user78 = await signedIn({ id: '78' });
      // A connection of user 77 that never signed in (a channel auth only): not terminated.
      const unsigned77 = await listener(clients, 'rest-term-public', { auth, user: { id: '77' } });
      const user78Public = await listener(clients, 'rest-term-public', { pusher: user78.p });

      const res = await rest.terminateUserConnections('77');
      assert.deepEqual(await okJson(res), {});

      for (const [name, tab] of [['tab 1', tab1], ['tab 2', tab2]]) {
        await waitFor(() => tab.closes.length > 0, 5000, `${name} closed`);
        assert.equal(tab.closes[0].code, 4009, `${name} close code: ${JSON.stringify(tab.closes)}`);
        assert.ok(tab.errors.some((e) => (e?.data?.code ?? e?.error?.data?.code) === 4009), `${name} got pusher:error 4009`);
        // 4000-4099 means "do not reconnect" to pusher-js.
        await waitFor(() => tab.p.connection.state === 'disconnected', 5000, `${name} disconnected`);
      }
      await waitFor(() => members.includes('77'), 5000, 'member_removed for 77 once both tabs are gone');

      // Everyone else is still connected and receives a later event.
      await okJson(await rest.trigger(['rest-term-public', 'presence-rest-term'], 'after', {}));
      await waitFor(
        () => unsigned77.events.length === 1 && user78Public.events.length === 1 && user78.l.events.length === 1 && observer.events.length === 1,
        5000,
        'the others receive the next event',
      );
      assert.equal(unsigned77.p.connection.state, 'connected');
      assert.equal(user78.p.connection.state, 'connected');
      assert.equal(observer.p.connection.state, 'connected');
      assert.deepEqual(user78.closes, []);
      assert.deepEqual(members, ['77']);
      assert.deepEqual(sortIds((await okJson(await rest.get({ path: '/channels/presence-rest-term/users' }))).users), ['78', 'observer']);
      // A reconnection that does not happen makes no event: pusher-js would retry on a timer,
      // so only a window can show that it does not.
      await sleep(300);
      assert.equal(tab1.p.connection.state, 'disconnected', 'a terminated client does not come back');
    });

    test("sendToUser reaches the user's signed-in connections only (#server-to-user-{id})", { timeout: 15000 }, async () => {
      const signedIn = async (id) => {
        const p = clients.pusher({ auth, user: { id } });
        const got = [];
        p.user.bind('notice', (data) => got.push(data));
        p.signin();
        await withTimeout(p.user.signinDonePromise, 5000, `signin of ${id}`);
        await waitFor(() => p.user.serverToUserChannel?.subscribed, 5000, `#server-to-user-${id} subscribed`);
        return got;
      };
      const a1 = await signedIn('501');
      const a2 = await signedIn('501');
      const b = await signedIn('502');
      assert.deepEqual(await okJson(await rest.sendToUser('501', 'notice', { n: 1 })), {});
      await okJson(await rest.sendToUser('502', 'notice', { n: 2 }));
      await waitFor(() => a1.length === 1 && a2.length === 1 && b.length === 1, 5000, 'deliveries');
      assert.deepEqual(a1, [{ n: 1 }]);
      assert.deepEqual(a2, [{ n: 1 }]);
      assert.deepEqual(b, [{ n: 2 }]);
    });

    test('a user with no connection: {} and nothing happens', { timeout: 15000 }, async () => {
      const a = await listener(clients, 'rest-term-nobody');
      assert.deepEqual(await okJson(await rest.terminateUserConnections('nobody-here')), {});
      await okJson(await rest.trigger('rest-term-nobody', 'still-here', {}));
      await waitFor(() => a.events.length === 1, 5000, 'still connected');
      assert.equal(a.p.connection.state, 'connected');
    });
  });

  test('HTTP keep-alive: several requests over one connection', { timeout: 15000 }, async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    let sockets = 0;
    const create = agent.createConnection.bind(agent);
    agent.createConnection = (...args) => {
      sockets += 1;
      return create(...args);
    };
    try {
      const kept = new Pusher({ appId: main.id, key: main.key, secret: main.secret, host: '127.0.0.1', port: String(server.port), useTLS: false, agent });
      const l = await listener(clients, 'rest-keepalive');
      for (let i = 0; i < 5; i++) {
        assert.deepEqual(await okJson(await kept.trigger('rest-keepalive', 'k', { i })), {});
        assert.deepEqual(await okJson(await kept.get({ path: '/channels/rest-keepalive' })), { occupied: true });
      }
      // A refusal does not cost the connection either.
      assertError(await sdkRefusal(kept.get({ path: '/channels/rest-keepalive/users' })), 400, /presence/);
      assert.deepEqual(await okJson(await kept.get({ path: '/channels/rest-keepalive' })), { occupied: true });
      await waitFor(() => l.events.length === 5, 5000, '5 events');
      assert.equal(sockets, 1, 'one TCP connection for all requests');
    } finally {
      agent.destroy();
    }
  });

  // -------------------------------------------------------------------------------------------
  describe('refusals', () => {
    // A subscriber on the channel every refused trigger aims at; at the end it must have seen
    // nothing but the sentinel.
    let watcherClients;
    let watcher;
    const refusedChannel = 'rest-refused';
    const event = (overrides = {}) => JSON.stringify({ name: 'must-not-arrive', data: '{"x":1}', channels: [refusedChannel], ...overrides });
    const post = (path, body, opts = {}) => signedRequest(server, main, { method: 'POST', path: `/apps/${main.id}${path}`, body, ...opts });
    const get = (path, query, opts = {}) => signedRequest(server, main, { method: 'GET', path: `/apps/${main.id}${path}`, query, ...opts });

    before(async () => {
      watcherClients = new Clients(server);
      watcher = await listener(watcherClients, refusedChannel);
    });
    after(() => watcherClients?.closeAll());

    test('a hand-signed request is accepted (the signer below is right)', { timeout: 15000 }, async () => {
      const res = await post('/events', JSON.stringify({ name: 'accepted', data: '{}', channel: 'rest-signer-ok' }));
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(JSON.parse(res.body), {});
      // Within the 600 s window on either side.
      const early = await post('/events', JSON.stringify({ name: 'accepted', data: '{}', channel: 'rest-signer-ok' }), { timestamp: nowSeconds() - 590 });
      assert.equal(early.status, 200, early.body);
      const late = await post('/events', JSON.stringify({ name: 'accepted', data: '{}', channel: 'rest-signer-ok' }), { timestamp: nowSeconds() + 590 });
      assert.equal(late.status, 200, late.body);
      // GET with query parameters that need escaping on the wire (signed unescaped).
      const listed = await get('/channels', { filter_by_prefix: 'presence-', info: 'user_count' });
      assert.equal(listed.status, 200, listed.body);
    });

    test('signature made with the wrong secret: 401', { timeout: 15000 }, async () => {
      const wrong = new Pusher({ appId: main.id, key: main.key, secret: other.secret, host: '127.0.0.1', port: String(server.port), useTLS: false });
      assertError(await sdkRefusal(wrong.trigger(refusedChannel, 'must-not-arrive', {})), 401, /auth_signature/);
      assertError(await post('/events', event(), { secret: 'not-the-secret' }), 401, /Invalid auth_signature/);
      assertError(await get('/channels', {}, { secret: 'not-the-secret' }), 401, /Invalid auth_signature/);
    });

    test('signature of another method or path: 401', { timeout: 15000 }, async () => {
      assertError(await post('/events', event(), { signMethod: 'GET' }), 401, /Invalid auth_signature/);
      assertError(await post('/events', event(), { signPath: `/apps/${main.id}/batch_events` }), 401, /Invalid auth_signature/);
    });

    test('auth_key of another app (even signed with that app\'s secret): 401', { timeout: 15000 }, async () => {
      const foreign = new Pusher({ appId: main.id, key: other.key, secret: other.secret, host: '127.0.0.1', port: String(server.port), useTLS: false });
      assertError(await sdkRefusal(foreign.trigger(refusedChannel, 'must-not-arrive', {})), 401, /auth_key/);
      assertError(await post('/events', event(), { key: 'unknown-key' }), 401, /auth_key/);
    });

    test('auth_timestamp more than 600 s away: 401', { timeout: 15000 }, async () => {
      for (const offset of [-601, -3600, 601, 86400]) {
        assertError(await post('/events', event(), { timestamp: nowSeconds() + offset }), 401, /auth_timestamp/, `offset ${offset}`);
      }
      assertError(await post('/events', event(), { timestamp: 'yesterday' }), 401, /auth_timestamp/);
    });

    test('missing auth_signature, auth_key, auth_timestamp or auth_version; wrong auth_version: 401', { timeout: 15000 }, async () => {
      for (const name of ['auth_signature', 'auth_key', 'auth_timestamp', 'auth_version']) {
        assertError(await post('/events', event(), { omit: [name] }), 401, new RegExp(name), `without ${name}`);
        assertError(await get('/channels', {}, { omit: [name] }), 401, new RegExp(name), `GET without ${name}`);
      }
      assertError(await post('/events', event(), { version: '2.0' }), 401, /auth_version/);
      // No query string at all.
      const bare = await httpRequest(server.httpUrl(`/apps/${main.id}/channels`));
      assertError(bare, 401, /auth_/);
    });

    test('body_md5 that does not match the body, or missing with a body: 401', { timeout: 15000 }, async () => {
      assertError(await post('/events', event(), { bodyMd5: md5('something else') }), 401, /body_md5/);
      assertError(await post('/events', event(), { bodyMd5: null }), 401, /body_md5/);
      // The body changed after signing (same query, same signature).
      const body = event();
      const target = signedTarget(main, { method: 'POST', path: `/apps/${main.id}/events`, body });
      const tampered = event({ name: 'tampered' });
      const res = await httpRequest(server.httpUrl(target), { method: 'POST', headers: { 'content-type': 'application/json' }, body: tampered });
      assertError(res, 401, /body_md5/);
    });

    test('data larger than 10240 bytes: 413 (exactly 10240 is accepted)', { timeout: 15000 }, async () => {
      const big = 'x'.repeat(10241);
      assertError(await sdkRefusal(rest.trigger(refusedChannel, 'must-not-arrive', big)), 413, /10241 bytes.*10240/);
      assertError(await post('/events', event({ data: big })), 413, /10240/);
      // Multi-byte characters count as bytes: 5121 two-byte characters are 10242 bytes.
      assertError(await post('/events', event({ data: 'é'.repeat(5121) })), 413, /10242 bytes/);
      assertError(
        await post('/batch_events', JSON.stringify({ batch: [{ name: 'must-not-arrive', channel: refusedChannel, data: big }] })),
        413,
        /^batch\[0\]: .*10240/,
      );
      const edge = await listener(clients, 'rest-edge');
      assert.deepEqual(await okJson(await rest.trigger('rest-edge', 'edge', 'y'.repeat(10240))), {});
      await waitFor(() => edge.events.length === 1, 5000, 'the 10240-byte event');
      assert.equal(edge.events[0].data.length, 10240);
    });

    test('a request body over max_http_request_bytes: 413', { timeout: 15000 }, async () => {
      const huge = event({ padding: 'z'.repeat(70000) });
      const res = await post('/events', huge);
      assertError(res, 413, /larger than 65536 bytes/);
    });

    test('malformed JSON body, or a body that is not an object: 400', { timeout: 15000 }, async () => {
      assertError(await post('/events', '{"name":"must-not-arrive",'), 400, /Invalid JSON/);
      assertError(await post('/batch_events', 'not json'), 400, /Invalid JSON/);
      for (const body of ['[]', '"text"', '42', 'null', '[{"name":"x","data":"{}","channel":"rest-refused"}]']) {
        assertError(await post('/events', body), 400, /must be a JSON object/, body);
        assertError(await post('/batch_events', body), 400, /must be a JSON object/, body);
      }
      // An empty body is not an event either.
      assertError(await post('/events', ''), 400, /JSON/);
    });

    test('unknown app id: 404; disabled app: 403', { timeout: 15000 }, async () => {
      const ghost = new Pusher({ appId: 'no-such-app', key: main.key, secret: main.secret, host: '127.0.0.1', port: String(server.port), useTLS: false });
      assertError(await sdkRefusal(ghost.trigger(refusedChannel, 'must-not-arrive', {})), 404, /Unknown app id "no-such-app"/);
      assertError(await sdkRefusal(ghost.get({ path: '/channels' })), 404, /Unknown app id/);
      const off = sdkFor(server, disabled);
      assertError(await sdkRefusal(off.trigger('rest-refused', 'must-not-arrive', {})), 403, /disabled/);
    });

    test('more than 100 channels: 400 (100 are accepted)', { timeout: 15000 }, async () => {
      const channels = [refusedChannel, ...Array.from({ length: 100 }, (_, i) => `rest-c${i}`)];
      assertError(await post('/events', event({ channels })), 400, /At most 100 channels per event, got 101/);
      const hundred = await listener(clients, 'rest-c99');
      const ok = await rest.trigger(Array.from({ length: 100 }, (_, i) => `rest-c${i}`), 'hundred', {});
      assert.deepEqual(await okJson(ok), {});
      await waitFor(() => hundred.events.length === 1, 5000, 'the last of 100 channels');
    });

    test('more than 10 batch events: 400 (10 are accepted)', { timeout: 15000 }, async () => {
      const entry = { name: 'must-not-arrive', channel: refusedChannel, data: '{}' };
      assertError(
        await post('/batch_events', JSON.stringify({ batch: Array.from({ length: 11 }, () => entry) })),
        400,
        /At most 10 events per batch, got 11/,
      );
      const ten = await listener(clients, 'rest-ten');
      const ok = await rest.triggerBatch(Array.from({ length: 10 }, (_, i) => ({ name: `t${i}`, channel: 'rest-ten', data: {} })));
      assert.deepEqual(await okJson(ok), {});
      await waitFor(() => ten.events.length === 10, 5000, '10 batch events');
      assert.deepEqual(ten.names(), Array.from({ length: 10 }, (_, i) => `t${i}`));
    });

    test('a batch with one bad entry is refused as a whole, naming the entry: 400', { timeout: 15000 }, async () => {
      const good = { name: 'must-not-arrive', channel: refusedChannel, data: '{}' };
      assertError(
        await post('/batch_events', JSON.stringify({ batch: [good, { ...good, channel: 'bad channel' }] })),
        400,
        /^batch\[1\]: Invalid channel name "bad channel"/,
      );
      assertError(await post('/batch_events', JSON.stringify({ batch: [good, { channel: refusedChannel, data: '{}' }] })), 400, /^batch\[1\]: "name"/);
      assertError(await post('/batch_events', JSON.stringify({ batch: [good, { name: 'x', channel: refusedChannel }] })), 400, /^batch\[1\]: "data" is required/);
      assertError(await post('/batch_events', JSON.stringify({ batch: [good, { name: 'x', data: '{}' }] })), 400, /^batch\[1\]: "channel" is required/);
      assertError(await post('/batch_events', JSON.stringify({ batch: [good, 'entry'] })), 400, /batch entries must be objects/);
      assertError(await post('/batch_events', JSON.stringify({ batch: [good, { ...good, socket_id: 'x' }] })), 400, /^batch\[1\]: "socket_id"/);
      assertError(await post('/batch_events', JSON.stringify({ batch: [good, { ...good, info: 'nope' }] })), 400, /^batch\[1\]: Unknown info attribute "nope"/);
      assertError(await post('/batch_events', JSON.stringify({ events: [good] })), 400, /"batch" must be an array/);
      assertError(await post('/batch_events', JSON.stringify({ batch: good })), 400, /"batch" must be an array/);
    });

    test('invalid channel names: 400', { timeout: 15000 }, async () => {
      for (const name of ['bad channel', 'bad!', 'x'.repeat(165), '', 'caf\u00e9']) {
        assertError(await post('/events', event({ channels: [refusedChannel, name] })), 400, /Invalid channel name/, JSON.stringify(name));
        assertError(await post('/events', event({ channels: undefined, channel: name })), 400, /Invalid channel name/, JSON.stringify(name));
      }
      // The longest valid name is fine.
      assert.equal((await post('/events', event({ channels: ['x'.repeat(164)] }))).status, 200);
      assertError(await post('/events', event({ channels: 'rest-refused' })), 400, /"channels" must be an array/);
      assertError(await post('/events', event({ channels: [refusedChannel, 7] })), 400, /"channels" must hold strings/);
      assertError(await post('/events', event({ channels: [] })), 400, /"channels" or "channel" is required/);
      assertError(await post('/events', event({ channels: undefined })), 400, /"channels" or "channel" is required/);
      // Encrypted channels must be alone (their data is encrypted per channel).
      assertError(await post('/events', event({ channels: [refusedChannel, 'private-encrypted-x'] })), 400, /encrypted/);
      // In a path.
      assertError(await get('/channels/bad!'), 400, /Invalid channel name "bad!"/);
      assertError(await get(`/channels/${'x'.repeat(165)}/users`), 400, /Invalid channel name/);
    });

    test('missing or bad name and data: 400', { timeout: 15000 }, async () => {
      assertError(await post('/events', event({ name: undefined })), 400, /"name" must be a non-empty string/);
      assertError(await post('/events', event({ name: '' })), 400, /"name" must be a non-empty string/);
      assertError(await post('/events', event({ name: 5 })), 400, /"name" must be a non-empty string/);
      assertError(await post('/events', event({ name: 'n'.repeat(201) })), 400, /"name" is longer than 200 characters/);
      assertError(await post('/events', event({ data: undefined })), 400, /"data" is required/);
      const res = await post('/events', event({ name: 'n'.repeat(200), channels: ['rest-long-name'] }));
      assert.equal(res.status, 200, `a 200-character name is accepted: ${res.body}`);
    });

    test('bad socket_id: 400', { timeout: 15000 }, async () => {
      for (const socketId of ['abc', '1.2.3', '1', '.1', '1.', '-1.2', ' 1.2', 12.5, {}]) {
        assertError(await post('/events', event({ socket_id: socketId })), 400, /"socket_id" must look like "123\.456"/, JSON.stringify(socketId));
      }
    });

    test('unknown info attribute: 400', { timeout: 15000 }, async () => {
      assertError(await post('/events', event({ info: 'user_count,members' })), 400, /Unknown info attribute "members"/);
      assertError(await post('/events', event({ info: 7 })), 400, /"info" must be a string/);
      assertError(await get('/channels', { info: 'occupied' }), 400, /Unknown info attribute "occupied"/);
      assertError(await get('/channels/presence-x', { info: 'user_count,cache_size' }), 400, /Unknown info attribute "cache_size"/);
    });

    test('wrong method: 405', { timeout: 15000 }, async () => {
      assertError(await get('/events'), 405, /Use POST/);
      assertError(await get('/batch_events'), 405, /Use POST/);
      assertError(await get('/users/77/terminate_connections'), 405, /Use POST/);
      assertError(await post('/channels', '{}'), 405, /Use GET/);
      assertError(await post('/channels/presence-x', '{}'), 405, /Use GET/);
      assertError(await post('/channels/presence-x/users', '{}'), 405, /Use GET/);
      const del = await signedRequest(server, main, { method: 'DELETE', path: `/apps/${main.id}/channels/presence-x` });
      assertError(del, 405, /Use GET/);
      const put = await signedRequest(server, main, { method: 'PUT', path: `/apps/${main.id}/events`, body: event() });
      assertError(put, 405, /Use POST/);
    });

    test('unknown endpoint: 404', { timeout: 15000 }, async () => {
      assertError(await get('/nothing'), 404, /No such endpoint: GET \/apps\/.*\/nothing/);
      assertError(await post('/event', event()), 404, /No such endpoint/);
      assertError(await get('/channels/presence-x/members'), 404, /No such endpoint/);
      assertError(await get('/users/77'), 404, /No such endpoint/);
      assertError(await get(''), 404, /No such endpoint/);
      assertError(await post('/events/extra', event()), 404, /No such endpoint/);
    });

    test('terminate_connections with an invalid user id: 400', { timeout: 15000 }, async () => {
      assertError(await post(`/users/${'u'.repeat(129)}/terminate_connections`, '{}'), 400, /Invalid user id/);
    });

    test('none of the refused requests delivered anything', { timeout: 15000 }, async () => {
      await okJson(await rest.trigger(refusedChannel, 'sentinel', {}));
      await waitFor(() => watcher.events.length >= 1, 5000, 'sentinel');
      assert.deepEqual(watcher.names(), ['sentinel'], `only the sentinel arrived: ${JSON.stringify(watcher.events)}`);
      assert.equal(watcher.p.connection.state, 'connected');
    });
  });
});
