// greendot's own presence endpoints (src/server/presence_api.hpp): signed HTTP heartbeats and
// offline for the app backend, token-authenticated ping/offline/users for pages (with CORS),
// users' presence with last seen and privacy, persisted in data_dir. Checked against what
// pusher-js and Laravel Echo subscribers of the presence channels see at the same time.
//
//   signed:  POST /apps/{id}/presence/heartbeat  {"user_id", "contexts"?, "user_info"?}
//            POST /apps/{id}/presence/offline    {"user_id", "context"?}
//            POST /apps/{id}/users/presence      {"users": [...], "unfiltered"?}
//            GET|PUT /apps/{id}/users/{user}/privacy
//   token:   POST /apps/{id}/client/ping         Authorization: Bearer <jwt>, {"contexts"?}
//            POST /apps/{id}/client/offline      <jwt> as text/plain, or {"token", "context"?}
//            GET  /apps/{id}/client/users?ids=a,b
//
// A context `c` is the presence channel `presence-c`.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Pusher from 'pusher';
import { startServer, makeApp } from './lib/server.mjs';
import { startAuthEndpoint } from './lib/auth-endpoint.mjs';
import { userToken, signedRaw } from './lib/signing.mjs';
import { Clients, subscribed, waitFor, withTimeout, hmac, httpRequest, sleep } from './lib/clients.mjs';

// ---------------------------------------------------------------------------------------------
// Helpers

const nowSeconds = () => Math.floor(Date.now() / 1000);
const b64url = (data) => Buffer.from(data).toString('base64url');

const GOOD_ORIGIN = 'https://good.example';
const OTHER_ORIGIN = 'https://evil.example';

/** The official server SDK pointed at the test server. */
function sdkFor(server, app) {
  return new Pusher({ appId: app.id, key: app.key, secret: app.secret, host: '127.0.0.1', port: String(server.port), useTLS: false });
}

/** {status, headers, body, json} of an SDK call, whether it resolved or was refused. */
async function sdkCall(promise) {
  try {
    const res = await promise;
    const body = await res.text();
    return { status: res.status, headers: Object.fromEntries(res.headers.entries()), body, json: parseOrNull(body) };
  } catch (err) {
    if (typeof err.status !== 'number') throw err;
    return { status: err.status, headers: null, body: err.body, json: parseOrNull(err.body) };
  }
}

function parseOrNull(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** A plain (unsigned) HTTP request to a path under /apps/{id}. */
async function plain(server, app, method, subPath, { headers = {}, body } = {}) {
  const res = await httpRequest(server.httpUrl(`/apps/${app.id}${subPath}`), { method, headers, body });
  return { ...res, json: parseOrNull(res.body) };
}

/** Token endpoints as a page calls them. */
const client = {
  ping: (server, app, token, body, headers = {}) =>
    plain(server, app, 'POST', '/client/ping', {
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    }),
  // navigator.sendBeacon(url, token): a text/plain body, no custom headers.
  beacon: (server, app, token, headers = {}) =>
    plain(server, app, 'POST', '/client/offline', { headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers }, body: token }),
  offlineJson: (server, app, body, headers = {}) =>
    plain(server, app, 'POST', '/client/offline', { headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) }),
  users: (server, app, token, ids, headers = {}) =>
    plain(server, app, 'GET', `/client/users${ids === undefined ? '' : `?ids=${ids}`}`, {
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    }),
};

/** Status 200 with a JSON body; returns the parsed body. */
function okJson(res, label = '') {
  assert.equal(res.status, 200, `${label} status 200, got ${res.status} ${res.body}`);
  if (res.headers) assert.match(res.headers['content-type'] ?? '', /^application\/json/, `${label} content-type`);
  assert.notEqual(res.json, null, `${label} body is JSON: ${res.body}`);
  return res.json;
}

/** Exactly `status` with a JSON body {"error": non-empty string}. */
function assertError(res, status, label = '') {
  const where = `${label}: ${status} expected, got ${res.status} ${res.body}`;
  assert.equal(res.status, status, where);
  if (res.headers) assert.match(res.headers['content-type'] ?? '', /^application\/json/, `content-type (${where})`);
  assert.notEqual(res.json, null, `body is JSON (${where})`);
  assert.deepEqual(Object.keys(res.json), ['error'], `body is {"error": ...} (${where})`);
  assert.equal(typeof res.json.error, 'string', where);
  assert.ok(res.json.error.length > 0, `error message is not empty (${where})`);
  return res.json.error;
}

/**
 * A users' presence answer {"users": {id: entry}}, checked to be one, with the optional "status"
 * of online users ("online" unless a heartbeat said "away", which these tests never do) taken out
 * so that the entries compare exactly.
 */
function usersJson(res, label = '') {
  const body = okJson(res, label);
  assert.deepEqual(Object.keys(body), ['users'], `${label} {"users": ...}: ${res.body}`);
  for (const [id, entry] of Object.entries(body.users)) {
    if ('status' in entry) {
      assert.equal(entry.online, true, `${label} only online users have a status: ${id} ${JSON.stringify(entry)}`);
      assert.equal(entry.status, 'online', `${label} status of ${id}`);
      delete entry.status;
    }
  }
  return body;
}

/** `t` is a unix-ms time within `slackMs` of `around`. */
function assertNear(t, around, slackMs, label) {
  assert.equal(typeof t, 'number', `${label}: a number, got ${JSON.stringify(t)}`);
  assert.ok(Math.abs(t - around) <= slackMs, `${label}: ${t} is ${t - around} ms from ${around} (allowed ±${slackMs})`);
}

/** The signed calls of one app. */
function backend(server, app) {
  const sdk = sdkFor(server, app);
  return {
    sdk,
    heartbeat: (body) => sdkCall(sdk.post({ path: '/presence/heartbeat', body })),
    offline: (body) => sdkCall(sdk.post({ path: '/presence/offline', body })),
    presence: (body) => sdkCall(sdk.post({ path: '/users/presence', body })),
    getPrivacy: (user) => sdkCall(sdk.get({ path: `/users/${user}/privacy` })),
    putPrivacy: (user, body) => signedRaw(server, app, 'PUT', `/users/${user}/privacy`, JSON.stringify(body)),
    users: (channel) => sdkCall(sdk.get({ path: `/channels/${channel}/users` })),
    channel: (channel, info) => sdkCall(sdk.get({ path: `/channels/${channel}`, params: info ? { info } : {} })),
    /** The sorted ids of the members of a presence channel, by REST. */
    async memberIds(channel) {
      const body = okJson(await this.users(channel), `GET /channels/${channel}/users`);
      return body.users.map((u) => u.id).sort();
    },
    /** A heartbeat that must be accepted; returns the body. */
    async beat(userId, contexts, userInfo) {
      const body = { user_id: userId };
      if (contexts !== undefined) body.contexts = contexts;
      if (userInfo !== undefined) body.user_info = userInfo;
      return okJson(await this.heartbeat(body), `heartbeat ${userId}`);
    },
    async goOffline(userId, context) {
      const body = { user_id: userId };
      if (context !== undefined) body.context = context;
      const answer = okJson(await this.offline(body), `offline ${userId}`);
      assert.deepEqual(answer, {});
    },
    /** users/presence for one user: its entry. */
    async one(userId, extra = {}) {
      const body = usersJson(await this.presence({ users: [userId], ...extra }), `users/presence ${userId}`);
      assert.deepEqual(Object.keys(body.users), [String(userId)]);
      return body.users[String(userId)];
    },
  };
}

/** A pusher-js observer on a presence channel that records member events. */
async function observe(clients, app, auth, channel, id = 'observer') {
  const p = clients.pusher({ app, auth, user: { id, info: { name: `Observer ${id}` } } });
  const ch = p.subscribe(channel);
  const events = [];
  ch.bind('pusher:member_added', (m) => events.push({ type: 'added', id: m.id, info: m.info, at: Date.now() }));
  ch.bind('pusher:member_removed', (m) => events.push({ type: 'removed', id: m.id, info: m.info, at: Date.now() }));
  await subscribed(ch);
  const find = (type, id) => events.find((e) => e.type === type && e.id === String(id));
  return {
    p,
    ch,
    events,
    of: (uid) => events.filter((e) => e.id === String(uid)).map((e) => e.type),
    added: (uid, ms = 5000) => waitFor(() => find('added', uid), ms, `member_added ${uid} on ${channel}`),
    removed: (uid, ms = 5000) => waitFor(() => find('removed', uid), ms, `member_removed ${uid} on ${channel}`),
  };
}

let sentinelCounter = 0;
/**
 * Heartbeats a fresh user into `context` and waits until `obs` sees it: every event about the
 * channel published before that heartbeat has been delivered by then.
 */
async function sentinel(hb, obs, context) {
  sentinelCounter += 1;
  const id = `sentinel-${sentinelCounter}`;
  await hb.beat(id, [context]);
  await obs.added(id);
  await hb.goOffline(id, context);
  return id;
}

const tempDirs = [];
function tempDir() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'greendot-hb-data-'));
  tempDirs.push(dir);
  return dir;
}
process.on('exit', () => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * A user's row in the SQLite file of `dataDir`, as a restart would read it (the committed state,
 * write-ahead log included), or null while there is none. Read with the sqlite3 tool, read-only.
 */
function storedUser(dataDir, appId, userId) {
  const file = path.join(dataDir, 'greendot.sqlite3');
  if (!fs.existsSync(file)) return null;
  const quote = (text) => `'${text.replaceAll("'", "''")}'`;
  const query =
    'SELECT last_seen_ms, visibility, last_seen_privacy FROM users ' +
    `WHERE app_id = ${quote(appId)} AND user_id = ${quote(userId)}`;
  const out = execFileSync('sqlite3', ['-readonly', '-json', file, query], { encoding: 'utf8' });
  return out.trim() === '' ? null : JSON.parse(out)[0];
}

// ---------------------------------------------------------------------------------------------

describe('HTTP heartbeats and presence endpoints', () => {
  let server;
  let clients;
  // Grace 0, default TTL (90 s), one allowed origin.
  const main = makeApp({ offline_grace_ms: 0, allowed_origins: [GOOD_ORIGIN] });
  // Heartbeats live 2 s.
  const shortTtl = makeApp({ offline_grace_ms: 0, heartbeat_ttl_ms: 2000 });
  // A 1 s offline grace.
  const graceful = makeApp({ offline_grace_ms: 1000 });
  // Any origin; room for 2 members per channel.
  const anyOrigin = makeApp({ offline_grace_ms: 0, allowed_origins: ['*'], max_presence_members: 2 });
  // No allowed origins at all.
  const noOrigins = makeApp({ offline_grace_ms: 0 });
  const auths = new Map();
  let hb; // backend(main)

  before(async () => {
    server = await startServer({ apps: [main, shortTtl, graceful, anyOrigin, noOrigins] });
    clients = new Clients(server);
    for (const app of [main, shortTtl, graceful]) auths.set(app, await startAuthEndpoint(app));
    hb = backend(server, main);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    await clients?.closeAll();
    for (const auth of auths.values()) await auth.close();
    if (server) assert.equal(await server.stop(), 0, `greendot exit code\n${server.logs()}`);
  });

  // -------------------------------------------------------------------------------------------
  describe('signed heartbeats make presence members', () => {
    test('member_added with the user_info, here() of a later joiner, REST users and user_count, offline → member_removed', { timeout: 20000 }, async () => {
      const auth = auths.get(main);
      const obs = await observe(clients, main, auth, 'presence-room.1');

      const info = { name: 'Alice', avatar: 'a.png' };
      const answer = await hb.beat('hb-alice', ['room.1'], info);
      assert.deepEqual(answer, { contexts: { 'room.1': 'present' }, ttl_ms: 90000 });
      const added = await obs.added('hb-alice');
      assert.deepEqual(added.info, info, 'member_added carries the user_info of the heartbeat');
      assert.deepEqual(obs.ch.members.get('hb-alice')?.info, info, 'pusher-js members hold the heartbeat user');
      assert.equal(obs.ch.members.count, 2);

      // A heartbeat that refreshes the member is no new member_added.
      assert.deepEqual(await hb.beat('hb-alice', ['room.1'], info), { contexts: { 'room.1': 'present' }, ttl_ms: 90000 });

      // A later joiner with Laravel Echo: here() lists the heartbeat user.
      const joinerInfo = { id: 'joiner', name: 'Joiner' };
      const echo = clients.echo({ auth, user: { id: 'joiner', info: joinerInfo } });
      const here = [];
      echo.join('room.1').here((members) => here.push(members));
      await waitFor(() => here.length === 1, 5000, 'here() of the joiner');
      const byName = (a, b) => a.name.localeCompare(b.name);
      assert.deepEqual([...here[0]].sort(byName), [info, joinerInfo, { name: 'Observer observer' }].sort(byName));
      await obs.added('joiner');

      assert.deepEqual(await hb.memberIds('presence-room.1'), ['hb-alice', 'joiner', 'observer']);
      assert.deepEqual(okJson(await hb.channel('presence-room.1', 'user_count')), { occupied: true, user_count: 3 });

      await hb.goOffline('hb-alice');
      const removed = await obs.removed('hb-alice');
      assert.equal(removed.id, 'hb-alice');
      assert.equal(obs.ch.members.get('hb-alice'), null);
      assert.deepEqual(await hb.memberIds('presence-room.1'), ['joiner', 'observer']);
      assert.deepEqual(okJson(await hb.channel('presence-room.1', 'user_count')), { occupied: true, user_count: 2 });
      assert.deepEqual(obs.of('hb-alice'), ['added', 'removed'], 'exactly one member_added and one member_removed');
    });

    test('several contexts in one heartbeat; "global" by default; a channel held by heartbeats alone is listed', { timeout: 15000 }, async () => {
      const answer = await hb.beat(7, ['ctx.a', 'ctx.b']);
      assert.deepEqual(answer, { contexts: { 'ctx.a': 'present', 'ctx.b': 'present' }, ttl_ms: 90000 });
      assert.deepEqual(await hb.memberIds('presence-ctx.a'), ['7'], 'an integer user_id is the string id');
      assert.deepEqual(await hb.memberIds('presence-ctx.b'), ['7']);
      assert.deepEqual(okJson(await hb.channel('presence-ctx.a', 'user_count')), { occupied: true, user_count: 1 });
      const listing = okJson(await sdkCall(hb.sdk.get({ path: '/channels', params: { filter_by_prefix: 'presence-ctx.', info: 'user_count' } })));
      assert.deepEqual(listing, { channels: { 'presence-ctx.a': { user_count: 1 }, 'presence-ctx.b': { user_count: 1 } } });

      assert.deepEqual(await hb.beat('nowhere-in-particular'), { contexts: { global: 'present' }, ttl_ms: 90000 });
      assert.ok((await hb.memberIds('presence-global')).includes('nowhere-in-particular'));

      // Offline from one context only, then from all.
      await hb.goOffline(7, 'ctx.a');
      assert.deepEqual(await hb.memberIds('presence-ctx.a'), []);
      assert.deepEqual(await hb.memberIds('presence-ctx.b'), ['7']);
      assert.deepEqual(okJson(await hb.channel('presence-ctx.a', 'user_count')), { occupied: false, user_count: 0 });
      await hb.goOffline(7);
      assert.deepEqual(await hb.memberIds('presence-ctx.b'), []);
      await hb.goOffline('nowhere-in-particular');
      assert.ok(!(await hb.memberIds('presence-global')).includes('nowhere-in-particular'));
    });

    test('a full channel answers "full" for that context (max_presence_members 2)', { timeout: 10000 }, async () => {
      const b = backend(server, anyOrigin);
      assert.deepEqual(okJson(await b.heartbeat({ user_id: 'f1', contexts: ['small'] })), { contexts: { small: 'present' }, ttl_ms: 90000 });
      assert.deepEqual(okJson(await b.heartbeat({ user_id: 'f2', contexts: ['small'] })), { contexts: { small: 'present' }, ttl_ms: 90000 });
      assert.deepEqual(okJson(await b.heartbeat({ user_id: 'f3', contexts: ['small', 'roomy'] })), { contexts: { small: 'full', roomy: 'present' }, ttl_ms: 90000 });
      assert.deepEqual(await b.memberIds('presence-small'), ['f1', 'f2']);
      assert.deepEqual(await b.memberIds('presence-roomy'), ['f3']);
      // A member already in refreshes fine.
      assert.deepEqual(okJson(await b.heartbeat({ user_id: 'f1', contexts: ['small'] })), { contexts: { small: 'present' }, ttl_ms: 90000 });
      for (const u of ['f1', 'f2', 'f3']) okJson(await b.offline({ user_id: u }));
      assert.deepEqual(await b.memberIds('presence-small'), []);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('expiry (heartbeat_ttl_ms 2000, grace 0)', () => {
    test('a user who stops pinging is removed after ~2 s; one who pings every 500 ms stays', { timeout: 20000 }, async () => {
      const b = backend(server, shortTtl);
      const obs = await observe(clients, shortTtl, auths.get(shortTtl), 'presence-expiry');

      assert.deepEqual(okJson(await b.heartbeat({ user_id: 'keeper', contexts: ['expiry'] })), { contexts: { expiry: 'present' }, ttl_ms: 2000 });
      await obs.added('keeper');
      let pinging = true;
      const pinger = (async () => {
        while (pinging) {
          await sleep(500);
          if (!pinging) break;
          okJson(await b.heartbeat({ user_id: 'keeper', contexts: ['expiry'] }), 'keeper ping');
        }
      })();

      const sentAt = Date.now();
      assert.deepEqual(okJson(await b.heartbeat({ user_id: 'quitter', contexts: ['expiry'] })), { contexts: { expiry: 'present' }, ttl_ms: 2000 });
      const answeredAt = Date.now();
      await obs.added('quitter');
      try {
        const removed = await obs.removed('quitter', 2000 + 1500 + 1000);
        const afterSend = removed.at - sentAt;
        const afterAnswer = removed.at - answeredAt;
        assert.ok(afterSend >= 1500, `member_removed came ${afterSend} ms after the last heartbeat was sent, before 1.5 s`);
        assert.ok(afterAnswer <= 2000 + 1500, `member_removed came ${afterAnswer} ms after the last heartbeat was answered (TTL 2 s)`);
        // Keep the keeper pinging for longer than a TTL: until another user who pings once, after
        // the keeper's latest ping, has expired. Had the keeper's pings not counted, its removal
        // (an earlier deadline) would have come first.
        okJson(await b.heartbeat({ user_id: 'quitter-2', contexts: ['expiry'] }), 'quitter-2 ping');
        await obs.removed('quitter-2', 2000 + 1500 + 1000);
        assert.deepEqual(obs.of('keeper'), ['added'], 'the user who keeps pinging stays');
        assert.deepEqual(await b.memberIds('presence-expiry'), ['keeper', 'observer']);
      } finally {
        pinging = false;
        await pinger;
      }
      // Once the keeper stops, it expires too.
      await obs.removed('keeper', 2000 + 1500 + 1000);
      assert.deepEqual(await b.memberIds('presence-expiry'), ['observer']);
    });

    test('a token ping answers with the app TTL and expires the same way', { timeout: 15000 }, async () => {
      const obs = await observe(clients, shortTtl, auths.get(shortTtl), 'presence-expiry.page');
      const res = await client.ping(server, shortTtl, userToken(shortTtl, 'page-user'), { contexts: ['expiry.page'] });
      const answeredAt = Date.now();
      assert.deepEqual(okJson(res), { contexts: { 'expiry.page': 'present' }, ttl_ms: 2000 });
      await obs.added('page-user');
      const removed = await obs.removed('page-user', 2000 + 1500 + 1000);
      assert.ok(removed.at - answeredAt <= 3500, `expired ${removed.at - answeredAt} ms after the ping`);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('browser endpoints with a user token', () => {
    test('ping with Authorization: Bearer, offline by sendBeacon (text/plain token) → member_removed', { timeout: 15000 }, async () => {
      const obs = await observe(clients, main, auths.get(main), 'presence-page.1');
      const info = { name: 'Bea' };
      const token = userToken(main, 'bea', { userInfo: info });
      const res = await client.ping(server, main, token, { contexts: ['page.1'] });
      assert.deepEqual(okJson(res), { contexts: { 'page.1': 'present' }, ttl_ms: 90000 });
      const added = await obs.added('bea');
      assert.deepEqual(added.info, info, 'member_added carries the token user_info');

      const beacon = await client.beacon(server, main, token);
      assert.deepEqual(okJson(beacon, 'beacon'), {});
      await obs.removed('bea');
      assert.deepEqual(await hb.memberIds('presence-page.1'), ['observer']);
    });

    test('a token without user_info; a ping without a body is in "global"; offline by {"token"} JSON', { timeout: 15000 }, async () => {
      const obs = await observe(clients, main, auths.get(main), 'presence-global', 'observer-global');
      const token = userToken(main, 'plainjane');
      assert.deepEqual(okJson(await client.ping(server, main, token)), { contexts: { global: 'present' }, ttl_ms: 90000 });
      const added = await obs.added('plainjane');
      assert.equal(added.info, null, 'no user_info: null');
      assert.deepEqual(okJson(await client.offlineJson(server, main, { token })), {});
      await obs.removed('plainjane');
    });

    test('{"token", "context"} ends only that context', { timeout: 15000 }, async () => {
      const obsA = await observe(clients, main, auths.get(main), 'presence-page.a');
      const obsB = await observe(clients, main, auths.get(main), 'presence-page.b');
      const token = userToken(main, 'two-tabs');
      assert.deepEqual(okJson(await client.ping(server, main, token, { contexts: ['page.a', 'page.b'] })), {
        contexts: { 'page.a': 'present', 'page.b': 'present' },
        ttl_ms: 90000,
      });
      await obsA.added('two-tabs');
      await obsB.added('two-tabs');

      assert.deepEqual(okJson(await client.offlineJson(server, main, { token, context: 'page.a' })), {});
      await obsA.removed('two-tabs');
      await sentinel(hb, obsB, 'page.b');
      assert.deepEqual(obsB.of('two-tabs'), ['added'], 'still present in the other context');
      assert.deepEqual(await hb.memberIds('presence-page.b'), ['observer', 'two-tabs']);

      // A token in the URL would end up in access logs: only the SSE stream takes one there.
      const res = await plain(server, main, 'POST', `/client/offline?token=${token}`, { headers: { 'content-type': 'application/json' }, body: '{"context":"page.b"}' });
      assertError(res, 400, 'offline with ?token=');
      assert.match(res.json.error, /Authorization/);
      // In the Authorization header it works.
      const withHeader = await plain(server, main, 'POST', '/client/offline', { headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"context":"page.b"}' });
      assert.deepEqual(okJson(withHeader), {});
      await obsB.removed('two-tabs');
    });

    test('GET client/users?ids= answers for several users; a token in the URL is refused', { timeout: 10000 }, async () => {
      await hb.beat('cu-1', ['cu']);
      const token = userToken(main, 'cu-viewer');
      const body = usersJson(await client.users(server, main, token, 'cu-1,cu-never'));
      assert.equal(body.users['cu-1'].online, true);
      assertNear(body.users['cu-1'].last_seen, Date.now(), 3000, 'last_seen of an online user');
      assert.deepEqual(body, { users: { 'cu-1': { online: true, last_seen: body.users['cu-1'].last_seen }, 'cu-never': { online: false, last_seen: null } } });

      assertError(await plain(server, main, 'GET', `/client/users?ids=cu-never&token=${token}`), 400, 'users with ?token=');
      await hb.goOffline('cu-1');
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('sockets and heartbeats of one user are one member', () => {
    test('heartbeat then socket: one member_added; heartbeat offline with the socket open keeps them; closing the socket removes them', { timeout: 20000 }, async () => {
      const auth = auths.get(main);
      const obs = await observe(clients, main, auth, 'presence-mixed.1');
      const info = { name: 'Mix' };

      await hb.beat('mix', ['mixed.1'], info);
      await obs.added('mix');
      const mix = clients.pusher({ app: main, auth, user: { id: 'mix', info } });
      const ch = mix.subscribe('presence-mixed.1');
      await subscribed(ch);
      assert.deepEqual(ch.members.me, { id: 'mix', info });
      assert.equal(ch.members.count, 2, 'the socket sees itself and the observer');
      await hb.beat('mix', ['mixed.1'], info);
      await sentinel(hb, obs, 'mixed.1');
      assert.deepEqual(obs.of('mix'), ['added'], 'one member_added for the heartbeat and the socket together');

      await hb.goOffline('mix');
      await sentinel(hb, obs, 'mixed.1');
      assert.deepEqual(obs.of('mix'), ['added'], 'heartbeat offline while the socket is open does not remove them');
      assert.deepEqual(await hb.memberIds('presence-mixed.1'), ['mix', 'observer']);
      assert.equal((await hb.one('mix')).online, true);

      mix.disconnect();
      await obs.removed('mix');
      assert.deepEqual(obs.of('mix'), ['added', 'removed']);
      assert.deepEqual(await hb.memberIds('presence-mixed.1'), ['observer']);
    });

    test('socket then heartbeat: closing the socket keeps them while heartbeats live; heartbeat offline removes them', { timeout: 20000 }, async () => {
      const auth = auths.get(main);
      const obs = await observe(clients, main, auth, 'presence-mixed.2');
      const info = { name: 'Mox' };
      const mox = clients.pusher({ app: main, auth, user: { id: 'mox', info } });
      await subscribed(mox.subscribe('presence-mixed.2'));
      await obs.added('mox');
      await hb.beat('mox', ['mixed.2'], info);

      mox.disconnect();
      // Until greendot has seen the socket go: the observer's is the only subscription left.
      await waitFor(async () => okJson(await hb.channel('presence-mixed.2', 'subscription_count')).subscription_count === 1, 5000, 'the socket gone');
      await sentinel(hb, obs, 'mixed.2');
      assert.deepEqual(obs.of('mox'), ['added'], 'the heartbeat keeps them present after the socket closed');
      assert.deepEqual(await hb.memberIds('presence-mixed.2'), ['mox', 'observer']);

      await hb.goOffline('mox');
      await obs.removed('mox');
      assert.deepEqual(obs.of('mox'), ['added', 'removed']);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('offline grace (offline_grace_ms 1000)', () => {
    test('offline and a new ping within 500 ms: no member_removed nor member_added at others', { timeout: 20000 }, async () => {
      const b = backend(server, graceful);
      const obs = await observe(clients, graceful, auths.get(graceful), 'presence-reload');
      await b.beat('reloader', ['reload'], { name: 'R' });
      await obs.added('reloader');

      const offlineAt = Date.now();
      await b.goOffline('reloader');
      await b.beat('reloader', ['reload'], { name: 'R' });
      const backAt = Date.now();
      assert.ok(backAt - offlineAt < 500, `came back ${backAt - offlineAt} ms after going offline: test setup too slow for the grace`);

      // Until a user who went offline after it has been removed: the reloader's removal, had
      // the return not cancelled it, was due earlier and would have come first.
      await obs.removed(await sentinel(b, obs, 'reload'), 1000 + 1500 + 1000);
      assert.deepEqual(obs.of('reloader'), ['added'], 'a return within the grace makes no event');
      const members = (await b.memberIds('presence-reload')).filter((id) => !id.startsWith('sentinel-')); // sentinels linger in grace
      assert.deepEqual(members, ['observer', 'reloader']);

      // Without a return, member_removed comes after the grace.
      await b.goOffline('reloader');
      await obs.removed('reloader', 1000 + 1500 + 1000);
      assert.deepEqual(obs.of('reloader'), ['added', 'removed']);
    });

    test('a token beacon and a ping straight after (page reload): no events', { timeout: 20000 }, async () => {
      const obs = await observe(clients, graceful, auths.get(graceful), 'presence-reload.page');
      const token = userToken(graceful, 'reloading-page', { userInfo: { name: 'P' } });
      okJson(await client.ping(server, graceful, token, { contexts: ['reload.page'] }));
      await obs.added('reloading-page');
      const t0 = Date.now();
      okJson(await client.beacon(server, graceful, token));
      okJson(await client.ping(server, graceful, token, { contexts: ['reload.page'] }));
      assert.ok(Date.now() - t0 < 500, 'test setup too slow for the grace');
      // As above: a user who left later has been removed, so this one's removal would have come.
      await obs.removed(await sentinel(backend(server, graceful), obs, 'reload.page'), 1000 + 1500 + 1000);
      assert.deepEqual(obs.of('reloading-page'), ['added']);
      okJson(await client.beacon(server, graceful, token));
      await obs.removed('reloading-page', 1000 + 1500 + 1000);
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('last seen', () => {
    test('never seen: offline, last_seen null; online: last_seen ≈ now; offline: the moment they left', { timeout: 15000 }, async () => {
      assert.deepEqual(await hb.one('ls-1'), { online: false, last_seen: null });

      await hb.beat('ls-1', ['ls']);
      const online = await hb.one('ls-1');
      assert.deepEqual(Object.keys(online).sort(), ['last_seen', 'online']);
      assert.equal(online.online, true);
      assertNear(online.last_seen, Date.now(), 2000, 'last_seen while online');

      const offlineAt = Date.now();
      await hb.goOffline('ls-1');
      const offline = await hb.one('ls-1');
      assert.deepEqual(Object.keys(offline).sort(), ['last_seen', 'online']);
      assert.equal(offline.online, false);
      assertNear(offline.last_seen, offlineAt, 2000, 'last_seen after going offline');

      // It stays put while they are away. What is checked is that time passing (past a store
      // flush, every second) does not move it, so here the wait itself is the condition.
      await sleep(1200);
      assert.deepEqual(await hb.one('ls-1'), offline);

      // Several users at once, integer ids included.
      await hb.beat(4242, ['ls']);
      const many = usersJson(await hb.presence({ users: ['ls-1', 4242, 'ls-never'] }));
      assert.deepEqual(Object.keys(many.users).sort(), ['4242', 'ls-1', 'ls-never']);
      assert.deepEqual(many.users['ls-1'], offline);
      assert.equal(many.users['4242'].online, true);
      assert.deepEqual(many.users['ls-never'], { online: false, last_seen: null });
      await hb.goOffline(4242);
    });

    test('a presence socket counts too: last_seen is when the socket left', { timeout: 15000 }, async () => {
      const p = clients.pusher({ app: main, auth: auths.get(main), user: { id: 'ls-socket', info: null } });
      await subscribed(p.subscribe('presence-ls.socket'));
      assert.equal((await hb.one('ls-socket')).online, true);
      const leftAt = Date.now();
      p.disconnect();
      const after = await waitFor(async () => {
        const u = await hb.one('ls-socket');
        return u.online === false ? u : null;
      }, 5000, 'ls-socket offline');
      assertNear(after.last_seen, leftAt, 2000, 'last_seen of a socket user');
    });

    test('last_seen survives kill -9 with data_dir', { timeout: 30000 }, async () => {
      const dir = tempDir();
      const app = makeApp({ offline_grace_ms: 0 });
      let s1 = await startServer({ server: { data_dir: dir }, apps: [app] });
      let s2;
      try {
        const b1 = backend(s1, app);
        await b1.beat('durable', ['d']);
        const offlineAt = Date.now();
        await b1.goOffline('durable');
        const before = await b1.one('durable');
        assert.equal(before.online, false);
        assertNear(before.last_seen, offlineAt, 2000, 'last_seen before the kill');
        // The store writes every second: wait until the file has it, as the next start reads it.
        await waitFor(() => storedUser(dir, app.id, 'durable')?.last_seen_ms === before.last_seen, 5000, 'last_seen in the SQLite file');
        await s1.kill();
        assert.equal(s1.exitInfo.signal, 'SIGKILL');
        s1 = null;

        s2 = await startServer({ server: { data_dir: dir }, apps: [app] });
        const b2 = backend(s2, app);
        assert.deepEqual(await b2.one('durable'), before, 'the same last_seen after kill -9 and a restart');
        assert.deepEqual(await b2.one('never-here'), { online: false, last_seen: null });
      } finally {
        if (s1) await s1.kill();
        if (s2) assert.equal(await s2.stop(), 0, `greendot exit code\n${s2.logs()}`);
      }
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('CORS', () => {
    const preflight = (app, origin, p = '/client/ping') =>
      plain(server, app, 'OPTIONS', p, {
        headers: {
          ...(origin ? { origin } : {}),
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type',
        },
      });

    function assertPreflightOk(res, origin, method = 'POST') {
      assert.equal(res.status, 204, `preflight from ${origin}: ${res.status} ${res.body}`);
      assert.equal(res.headers['access-control-allow-origin'], origin, 'Access-Control-Allow-Origin echoes the origin');
      const methods = (res.headers['access-control-allow-methods'] ?? '').split(',').map((m) => m.trim());
      for (const m of [method, 'OPTIONS']) assert.ok(methods.includes(m), `Allow-Methods has ${m}: ${methods}`);
      const allowed = (res.headers['access-control-allow-headers'] ?? '').split(',').map((h) => h.trim().toLowerCase());
      for (const h of ['authorization', 'content-type']) assert.ok(allowed.includes(h), `Allow-Headers has ${h}: ${allowed}`);
      assert.match(res.headers.vary ?? '', /Origin/i, 'Vary: Origin');
    }

    test('preflights are answered with the route\'s methods; a disallowed origin\'s real request gets a readable 403', { timeout: 10000 }, async () => {
      assertPreflightOk(await preflight(main, GOOD_ORIGIN), GOOD_ORIGIN);
      assertPreflightOk(await preflight(main, GOOD_ORIGIN, '/client/offline'), GOOD_ORIGIN);
      assertPreflightOk(await preflight(main, GOOD_ORIGIN, '/client/users'), GOOD_ORIGIN, 'GET');
      assertPreflightOk(await preflight(main, GOOD_ORIGIN, '/client/stream'), GOOD_ORIGIN, 'GET');

      // The preflight of a refused origin passes, so that the browser lets the page read the
      // refusal of the real request instead of reporting "Failed to fetch".
      const token = userToken(main, 'cors-refused');
      for (const origin of [OTHER_ORIGIN, `${GOOD_ORIGIN}:8443`]) {
        assertPreflightOk(await preflight(main, origin), origin);
        const refused = await client.ping(server, main, token, { contexts: ['cors'] }, { origin });
        assertError(refused, 403, `ping from ${origin}`);
        assert.match(refused.json.error, /allowed_origins/, 'the error names the setting');
        assert.equal(refused.headers['access-control-allow-origin'], origin, 'the page can read the refusal');
      }
      // No allowed_origins: every cross-origin call is refused.
      assertError(await client.ping(server, noOrigins, userToken(noOrigins, 'u'), { contexts: ['x'] }, { origin: GOOD_ORIGIN }), 403, 'app without allowed_origins');
    });

    test('refused origins are logged, once per origin per minute', { timeout: 10000 }, async () => {
      const origin = 'https://logged-refusal.example';
      const token = userToken(main, 'cors-logged');
      for (let i = 0; i < 5; i += 1) assertError(await client.ping(server, main, token, { contexts: ['cors'] }, { origin }), 403, `refusal ${i}`);
      const lines = () => server.stderr().split('\n').concat(server.stdout().split('\n')).filter((l) => l.includes(origin));
      await waitFor(() => lines().length >= 1, 5000, 'a log line for the refused origin');
      // A later request that is logged proves the earlier log lines were written already.
      assertError(await client.ping(server, main, token, { contexts: ['cors'] }, { origin: 'https://second-refusal.example' }), 403, 'another origin');
      await waitFor(() => (server.stderr() + server.stdout()).includes('https://second-refusal.example'), 5000, 'the second origin logged');
      assert.equal(lines().length, 1, `one line for five refusals: ${lines().join('\n')}`);
      assert.match(lines()[0], /allowed_origins/);
    });

    test('allowed_origins ["*"] allows any origin (echoed)', { timeout: 10000 }, async () => {
      assertPreflightOk(await preflight(anyOrigin, OTHER_ORIGIN), OTHER_ORIGIN);
      assertPreflightOk(await preflight(anyOrigin, 'http://localhost:3000'), 'http://localhost:3000');
      const res = await client.ping(server, anyOrigin, userToken(anyOrigin, 'star-user'), { contexts: ['star'] }, { origin: 'http://localhost:3000' });
      assert.deepEqual(okJson(res), { contexts: { star: 'present' }, ttl_ms: 90000 });
      assert.equal(res.headers['access-control-allow-origin'], 'http://localhost:3000');
      okJson(await client.beacon(server, anyOrigin, userToken(anyOrigin, 'star-user'), { origin: 'http://localhost:3000' }));
    });

    test('answers to an allowed origin carry Access-Control-Allow-Origin, errors included; other origins get 403', { timeout: 10000 }, async () => {
      const token = userToken(main, 'cors-user');
      const h = { origin: GOOD_ORIGIN };
      const ping = await client.ping(server, main, token, { contexts: ['cors'] }, h);
      assert.deepEqual(okJson(ping), { contexts: { cors: 'present' }, ttl_ms: 90000 });
      assert.equal(ping.headers['access-control-allow-origin'], GOOD_ORIGIN);
      assert.match(ping.headers.vary ?? '', /Origin/i);

      const users = await client.users(server, main, token, 'cors-user', h);
      assert.equal(okJson(users).users['cors-user'].online, true);
      assert.equal(users.headers['access-control-allow-origin'], GOOD_ORIGIN);

      const noToken = await client.ping(server, main, null, undefined, h);
      assertError(noToken, 401, 'no token from an allowed origin');
      assert.equal(noToken.headers['access-control-allow-origin'], GOOD_ORIGIN, 'errors carry the CORS header');

      const beacon = await client.beacon(server, main, token, h);
      assert.deepEqual(okJson(beacon), {});
      assert.equal(beacon.headers['access-control-allow-origin'], GOOD_ORIGIN);

      // Without an Origin header (not a browser): no CORS headers, no refusal.
      const server2server = await client.ping(server, main, token, { contexts: ['cors'] });
      okJson(server2server);
      assert.equal(server2server.headers['access-control-allow-origin'], undefined);

      // A disallowed origin is refused, whatever the token, readably.
      const refused = await client.ping(server, main, token, { contexts: ['cors'] }, { origin: OTHER_ORIGIN });
      assertError(refused, 403, 'ping from a disallowed origin');
      assert.equal(refused.headers['access-control-allow-origin'], OTHER_ORIGIN);
      assertError(await client.users(server, main, token, 'x', { origin: OTHER_ORIGIN }), 403, 'users from a disallowed origin');
      await hb.goOffline('cors-user');
    });
  });

  // -------------------------------------------------------------------------------------------
  describe('bad input: exact status and {"error"}', () => {
    test('user tokens: none, expired, wrong signature, alg none, not a JWT, bad sub, bad user_info', { timeout: 15000 }, async () => {
      assertError(await client.ping(server, main, null), 401, 'no token');
      assertError(await client.ping(server, main, null, { contexts: ['x'] }), 401, 'no token, a JSON body');
      assertError(await client.users(server, main, null, 'a'), 401, 'users without a token');
      assertError(await plain(server, main, 'POST', '/client/offline'), 401, 'offline without a body');
      assertError(await client.ping(server, main, userToken(main, 'u', { exp: nowSeconds() - 10 })), 401, 'expired token');
      assertError(await client.ping(server, main, userToken(main, 'u', { secret: 'not-the-secret' })), 401, 'wrong signature');
      assertError(await client.ping(server, main, userToken(anyOrigin, 'u')), 401, "another app's token");
      const none = `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify({ sub: 'u', exp: nowSeconds() + 3600 }))}.`;
      assertError(await client.ping(server, main, none), 401, 'alg none');
      assertError(await client.ping(server, main, userToken(main, 'u', { header: { alg: 'HS512', typ: 'JWT' } })), 401, 'alg HS512');
      assertError(await client.ping(server, main, 'not-a-jwt'), 401, 'not a JWT');
      assertError(await client.beacon(server, main, 'garbage'), 401, 'beacon with garbage');
      assertError(await client.ping(server, main, userToken(main, 'u', { exp: null })), 401, 'exp not a number');
      assertError(await client.ping(server, main, userToken(main, 'a b')), 401, 'bad sub');
      assertError(await client.ping(server, main, userToken(main, 'u', { extra: { nbf: nowSeconds() + 600 } })), 401, 'not valid yet');
      assertError(await client.ping(server, main, userToken(main, 'u', { userInfo: 'a string' })), 401, 'token user_info not an object');
      assertError(await client.ping(server, main, userToken(main, 'u', { userInfo: { blob: 'x'.repeat(1100) } })), 413, 'token user_info too large');
      assertError(await client.offlineJson(server, main, { token: 42 }), 400, 'token not a string');
    });

    test('contexts: bad names, not an array, empty, more than 100', { timeout: 15000 }, async () => {
      const token = userToken(main, 'ctx-user');
      const cases = [
        [{ user_id: 'u', contexts: ['a b'] }, 400, 'space'],
        [{ user_id: 'u', contexts: ['x:y'] }, 400, 'colon'],
        [{ user_id: 'u', contexts: [''] }, 400, 'empty name'],
        [{ user_id: 'u', contexts: ['c'.repeat(200)] }, 400, 'too long'],
        [{ user_id: 'u', contexts: [5] }, 400, 'not a string'],
        [{ user_id: 'u', contexts: ['ok', 'a b'] }, 400, 'one bad among good'],
        [{ user_id: 'u', contexts: 'room.1' }, 400, 'not an array'],
        [{ user_id: 'u', contexts: {} }, 400, 'an object'],
        [{ user_id: 'u', contexts: [] }, 400, 'empty array'],
        [{ user_id: 'u', contexts: Array.from({ length: 101 }, (_, i) => `c${i}`) }, 400, '101 contexts'],
        [{ user_id: 'u', context: 'a b' }, 400, 'single bad context'],
        // Not silently presence-presence-chat.42.
        [{ user_id: 'u', contexts: ['presence-chat.42'] }, 400, 'a context with its channel prefix'],
        [{ user_id: 'u', context: 'presence-chat.42' }, 400, 'a single context with its channel prefix'],
      ];
      for (const [body, status, label] of cases) {
        assertError(await hb.heartbeat(body), status, `heartbeat: ${label}`);
        const { user_id: _ignored, ...pageBody } = body;
        assertError(await client.ping(server, main, token, pageBody), status, `client/ping: ${label}`);
      }
      // 100 contexts are fine.
      const hundred = Array.from({ length: 100 }, (_, i) => `hundred.${i}`);
      const answer = okJson(await hb.heartbeat({ user_id: 'u100', contexts: hundred }));
      assert.equal(Object.keys(answer.contexts).length, 100);
      await hb.goOffline('u100');
      assertError(await hb.offline({ user_id: 'u', context: 'x:y' }), 400, 'offline with a bad context');
      assertError(await client.offlineJson(server, main, { token, context: 'a b' }), 400, 'client offline with a bad context');
      assert.deepEqual(await hb.memberIds('presence-ok'), [], 'nothing was joined by refused heartbeats');
    });

    test('user_id and user_info of signed heartbeats', { timeout: 15000 }, async () => {
      const cases = [
        [{ contexts: ['x'] }, 400, 'no user_id'],
        [{ user_id: '' }, 400, 'empty user_id'],
        [{ user_id: 'a b' }, 400, 'user_id with a space'],
        [{ user_id: 'u'.repeat(129) }, 400, 'user_id too long'],
        [{ user_id: { id: 1 } }, 400, 'user_id an object'],
        [{ user_id: true }, 400, 'user_id a boolean'],
        [{ user_id: 'u', user_info: 'text' }, 400, 'user_info a string'],
        [{ user_id: 'u', user_info: [1, 2] }, 400, 'user_info an array'],
        [{ user_id: 'u', user_info: { blob: 'x'.repeat(1100) } }, 413, 'user_info too large'],
      ];
      for (const [body, status, label] of cases) assertError(await hb.heartbeat(body), status, `heartbeat: ${label}`);
      assertError(await hb.offline({}), 400, 'offline without user_id');
      assertError(await hb.offline({ user_id: 'a b' }), 400, 'offline with a bad user_id');
      // user_info null is fine, 128-character ids too.
      okJson(await hb.heartbeat({ user_id: 'u'.repeat(128), user_info: null, contexts: ['ids'] }));
      await hb.goOffline('u'.repeat(128));
    });

    test('signatures, methods, endpoints, JSON bodies, users lists', { timeout: 15000 }, async () => {
      // Unsigned and badly signed requests to the signed endpoints.
      assertError(await plain(server, main, 'POST', '/presence/heartbeat', { headers: { 'content-type': 'application/json' }, body: '{"user_id":"u"}' }), 401, 'unsigned heartbeat');
      assertError(await plain(server, main, 'POST', '/users/presence', { headers: { 'content-type': 'application/json' }, body: '{"users":["u"]}' }), 401, 'unsigned users/presence');
      assertError(await sdkCall(sdkFor(server, { ...main, secret: 'wrong-secret' }).post({ path: '/presence/heartbeat', body: { user_id: 'u' } })), 401, 'wrong secret');

      // Wrong methods.
      assertError(await sdkCall(hb.sdk.get({ path: '/presence/heartbeat' })), 405, 'GET heartbeat');
      assertError(await sdkCall(hb.sdk.get({ path: '/presence/offline' })), 405, 'GET offline');
      assertError(await sdkCall(hb.sdk.get({ path: '/users/presence' })), 405, 'GET users/presence');
      assertError(await signedRaw(server, main, 'PUT', '/presence/heartbeat', '{"user_id":"u"}'), 405, 'PUT heartbeat');
      const token = userToken(main, 'm-user');
      assertError(await plain(server, main, 'GET', '/client/ping', { headers: { authorization: `Bearer ${token}` } }), 405, 'GET client/ping');
      assertError(await plain(server, main, 'GET', '/client/offline', { headers: { authorization: `Bearer ${token}` } }), 405, 'GET client/offline');
      assertError(await plain(server, main, 'POST', '/client/users?ids=a', { headers: { authorization: `Bearer ${token}` } }), 405, 'POST client/users');

      // Unknown client endpoints.
      assertError(await plain(server, main, 'POST', '/client/nope', { headers: { authorization: `Bearer ${token}` } }), 404, 'client/nope');
      assertError(await plain(server, main, 'GET', '/client', { headers: { authorization: `Bearer ${token}` } }), 404, 'client');
      assertError(await plain(server, main, 'POST', '/client/ping/extra', { headers: { authorization: `Bearer ${token}` } }), 404, 'client/ping/extra');

      // Malformed JSON.
      assertError(await signedRaw(server, main, 'POST', '/presence/heartbeat', '{"user_id": "u",'), 400, 'malformed heartbeat');
      assertError(await signedRaw(server, main, 'POST', '/presence/heartbeat', '["u"]'), 400, 'heartbeat body an array');
      assertError(await signedRaw(server, main, 'POST', '/users/presence', '{users'), 400, 'malformed users/presence');
      assertError(await client.ping(server, main, token, '{"contexts": ['), 400, 'malformed ping');
      assertError(await plain(server, main, 'POST', '/client/offline', { headers: { 'content-type': 'application/json' }, body: '{"token": ' }), 400, 'malformed offline');

      // users lists.
      assertError(await client.users(server, main, token, undefined), 400, 'ids missing');
      assertError(await client.users(server, main, token, ''), 400, 'ids empty');
      assertError(await client.users(server, main, token, ',,'), 400, 'ids only commas');
      assertError(await client.users(server, main, token, 'a%20b'), 400, 'an invalid id');
      assertError(await client.users(server, main, token, Array.from({ length: 1001 }, (_, i) => `u${i}`).join(',')), 400, '1001 ids');
      assertError(await hb.presence({}), 400, 'users missing');
      assertError(await hb.presence({ users: 'a' }), 400, 'users not an array');
      assertError(await hb.presence({ users: ['a b'] }), 400, 'an invalid user');
      assertError(await hb.presence({ users: [null] }), 400, 'a null user');
      assertError(await hb.presence({ users: ['a'], unfiltered: 'yes' }), 400, 'unfiltered not a boolean');
      assertError(await hb.presence({ users: Array.from({ length: 1001 }, (_, i) => `u${i}`) }), 400, '1001 users');
      assert.deepEqual(okJson(await hb.presence({ users: [] })), { users: {} }, 'an empty list is an empty answer');

    });
  });
});

// -------------------------------------------------------------------------------------------
// Privacy on a server of its own, so that a failure here cannot take the other tests down.
describe('privacy', () => {
  let server;
  const main = makeApp({ offline_grace_ms: 0 });
  let hb;

  before(async () => {
    server = await startServer({ apps: [main] });
    hb = backend(server, main);
  });
  after(async () => {
    if (server) assert.equal(await server.stop(), 0, `greendot exit code\n${server.logs()}`);
  });

  /** Online then offline, so that the user has a recorded last_seen; returns it. */
  async function seenOnce(b, user) {
    await b.beat(user, ['priv']);
    await b.goOffline(user);
    const u = await b.one(user, { unfiltered: true });
    assert.equal(u.online, false);
    assert.equal(typeof u.last_seen, 'number');
    return u.last_seen;
  }

  test('defaults: everyone / exact', { timeout: 10000 }, async () => {
    assert.deepEqual(okJson(await hb.getPrivacy('priv-default')), { visibility: 'everyone', last_seen: 'exact' });
    assert.deepEqual(await hb.one('priv-default', { unfiltered: true }), {
      online: false,
      last_seen: null,
      privacy: { visibility: 'everyone', last_seen: 'exact' },
    });
    assert.deepEqual(await hb.one('priv-default', { unfiltered: false }), { online: false, last_seen: null });
  });

  test('invisible ("nobody"): offline with the earlier last_seen to others; unfiltered and the user themself see the truth', { timeout: 15000 }, async () => {
    const earlier = await seenOnce(hb, 'inv');
    const put = await hb.putPrivacy('inv', { visibility: 'nobody' });
    assert.deepEqual(okJson(put, 'PUT privacy'), { visibility: 'nobody', last_seen: 'exact' });
    assert.deepEqual(okJson(await hb.getPrivacy('inv')), { visibility: 'nobody', last_seen: 'exact' });

    await sleep(50);
    await hb.beat('inv', ['priv']);
    const viewer = userToken(main, 'inv-viewer');
    assert.deepEqual(usersJson(await client.users(server, main, viewer, 'inv')), { users: { inv: { online: false, last_seen: earlier } } }, 'token users');
    assert.deepEqual(await hb.one('inv'), { online: false, last_seen: earlier }, 'signed users/presence');

    const truth = await hb.one('inv', { unfiltered: true });
    assert.equal(truth.online, true);
    assertNear(truth.last_seen, Date.now(), 2000, 'unfiltered last_seen');
    assert.deepEqual(truth, { online: true, last_seen: truth.last_seen, privacy: { visibility: 'nobody', last_seen: 'exact' } });

    const self = usersJson(await client.users(server, main, userToken(main, 'inv'), 'inv,inv-viewer'));
    assert.equal(self.users.inv.online, true, 'a user sees themself online');
    assertNear(self.users.inv.last_seen, Date.now(), 2000, 'own last_seen');
    assert.deepEqual(self, {
      users: {
        inv: { online: true, last_seen: self.users.inv.last_seen, privacy: { visibility: 'nobody', last_seen: 'exact' } },
        'inv-viewer': { online: false, last_seen: null },
      },
    });

    // Invisible and never seen before: no last_seen at all.
    okJson(await hb.putPrivacy('inv-new', { visibility: 'nobody' }));
    await hb.beat('inv-new', ['priv']);
    assert.deepEqual(await hb.one('inv-new'), { online: false, last_seen: null });
    assert.equal((await hb.one('inv-new', { unfiltered: true })).online, true);

    // Visible again: the truth.
    assert.deepEqual(okJson(await hb.putPrivacy('inv', { visibility: 'everyone' })), { visibility: 'everyone', last_seen: 'exact' });
    const visible = await hb.one('inv');
    assert.equal(visible.online, true);
    assertNear(visible.last_seen, Date.now(), 2000, 'last_seen when visible again');
    await hb.goOffline('inv');
    await hb.goOffline('inv-new');
  });

  test('approximate: last_seen null and last_seen_approx "recently"; hidden: last_seen null; fields left out keep their value', { timeout: 15000 }, async () => {
    const apxSeen = await seenOnce(hb, 'apx');
    assert.deepEqual(okJson(await hb.putPrivacy('apx', { last_seen: 'approximate' })), { visibility: 'everyone', last_seen: 'approximate' });
    assert.deepEqual(await hb.one('apx'), { online: false, last_seen: null, last_seen_approx: 'recently' });
    assert.deepEqual(usersJson(await client.users(server, main, userToken(main, 'apx-viewer'), 'apx')), {
      users: { apx: { online: false, last_seen: null, last_seen_approx: 'recently' } },
    });
    assert.deepEqual(await hb.one('apx', { unfiltered: true }), {
      online: false,
      last_seen: apxSeen,
      privacy: { visibility: 'everyone', last_seen: 'approximate' },
    });
    await hb.beat('apx', ['priv']);
    assert.deepEqual(await hb.one('apx'), { online: true, last_seen: null, last_seen_approx: 'recently' });
    await hb.goOffline('apx');

    await seenOnce(hb, 'hid');
    assert.deepEqual(okJson(await hb.putPrivacy('hid', { last_seen: 'hidden' })), { visibility: 'everyone', last_seen: 'hidden' });
    assert.deepEqual(await hb.one('hid'), { online: false, last_seen: null });
    assert.deepEqual(usersJson(await client.users(server, main, userToken(main, 'hid-viewer'), 'hid')), { users: { hid: { online: false, last_seen: null } } });
    await hb.beat('hid', ['priv']);
    assert.deepEqual(await hb.one('hid'), { online: true, last_seen: null }, 'hidden last seen, online shown');
    const self = usersJson(await client.users(server, main, userToken(main, 'hid'), 'hid'));
    assert.equal(typeof self.users.hid.last_seen, 'number', 'the user themself sees their last_seen');
    await hb.goOffline('hid');

    // Partial updates keep the other field.
    assert.deepEqual(okJson(await hb.putPrivacy('apx', { visibility: 'nobody' })), { visibility: 'nobody', last_seen: 'approximate' });
    assert.deepEqual(okJson(await hb.getPrivacy('apx')), { visibility: 'nobody', last_seen: 'approximate' });
    assertError(await hb.putPrivacy('apx', {}), 400, 'a PUT that changes nothing');
    assertError(await hb.putPrivacy('apx', { visiblity: 'nobody' }), 400, 'a misspelt setting');
    assert.deepEqual(okJson(await hb.getPrivacy('apx')), { visibility: 'nobody', last_seen: 'approximate' }, 'unchanged by the refusals');
    assert.deepEqual(okJson(await hb.putPrivacy('apx', { visibility: 'everyone', last_seen: 'exact' })), { visibility: 'everyone', last_seen: 'exact' });
    assert.deepEqual(await hb.one('apx'), { online: false, last_seen: (await hb.one('apx', { unfiltered: true })).last_seen });
  });

  test('bad privacy requests: values, ids, methods, JSON', { timeout: 15000 }, async () => {
    assertError(await hb.putPrivacy('u', { visibility: 'friends' }), 400, 'visibility friends');
    assertError(await hb.putPrivacy('u', { visibility: true }), 400, 'visibility a boolean');
    assertError(await hb.putPrivacy('u', { last_seen: 'fuzzy' }), 400, 'last_seen fuzzy');
    assertError(await hb.putPrivacy('u', { visibility: 'nobody', last_seen: 'fuzzy' }), 400, 'one good, one bad');
    assert.deepEqual(okJson(await hb.getPrivacy('u')), { visibility: 'everyone', last_seen: 'exact' }, 'a refused PUT changes nothing');
    assertError(await hb.getPrivacy('a%20b'), 400, 'bad user id in the privacy path');
    assertError(await signedRaw(server, main, 'PUT', '/users/a%20b/privacy', '{"visibility":"nobody"}'), 400, 'bad user id in a PUT');
    assertError(await signedRaw(server, main, 'DELETE', '/users/u/privacy'), 405, 'DELETE privacy');
    assertError(await signedRaw(server, main, 'PUT', '/users/u/privacy', '{"visibility":'), 400, 'malformed privacy');
    assertError(await signedRaw(server, main, 'PUT', '/users/u/privacy', '"nobody"'), 400, 'privacy body not an object');
    assertError(await plain(server, main, 'GET', '/users/u/privacy'), 401, 'unsigned privacy');
    // Last: a POST that is wrongly accepted would change the user's privacy.
    assertError(await signedRaw(server, main, 'POST', '/users/u/privacy', '{"visibility":"nobody"}'), 405, 'POST privacy');
  });

  test('privacy survives restarts with data_dir (kill -9 after a flush, and SIGTERM straight after a change)', { timeout: 30000 }, async () => {
    const dir = tempDir();
    const app = makeApp({ offline_grace_ms: 0 });
    let s = await startServer({ server: { data_dir: dir }, apps: [app] });
    try {
      let b = backend(s, app);
      okJson(await b.putPrivacy('p-a', { visibility: 'nobody', last_seen: 'hidden' }));
      // Until the store has written it (every second): 1 = nobody, 2 = hidden.
      await waitFor(() => {
        const row = storedUser(dir, app.id, 'p-a');
        return row?.visibility === 1 && row?.last_seen_privacy === 2;
      }, 5000, 'privacy in the SQLite file');
      await s.kill();
      s = await startServer({ server: { data_dir: dir }, apps: [app] });
      b = backend(s, app);
      assert.deepEqual(okJson(await b.getPrivacy('p-a')), { visibility: 'nobody', last_seen: 'hidden' }, 'after kill -9');

      okJson(await b.putPrivacy('p-b', { last_seen: 'approximate' }));
      assert.equal(await s.stop(), 0, `greendot exit code\n${s.logs()}`);
      s = await startServer({ server: { data_dir: dir }, apps: [app] });
      b = backend(s, app);
      assert.deepEqual(okJson(await b.getPrivacy('p-b')), { visibility: 'everyone', last_seen: 'approximate' }, 'after SIGTERM');
      assert.deepEqual(okJson(await b.getPrivacy('p-a')), { visibility: 'nobody', last_seen: 'hidden' });
      // And it applies: an invisible user who comes online is shown offline.
      await b.beat('p-a', ['x']);
      assert.deepEqual(await b.one('p-a'), { online: false, last_seen: null });
    } finally {
      if (s && !s.exitInfo) assert.equal(await s.stop(), 0, `greendot exit code\n${s.logs()}`);
    }
  });
});

