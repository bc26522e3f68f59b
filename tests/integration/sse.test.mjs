// Server-Sent Events: GET /apps/{id}/client/stream?context=X&token=JWT, read with a real
// EventSource client (the `eventsource` package), beside pusher-js members of the same channel.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import { startServer, makeApp } from './lib/server.mjs';
import { startAuthEndpoint } from './lib/auth-endpoint.mjs';
import { userToken, signedRaw } from './lib/signing.mjs';
import { Clients, subscribed, waitFor } from './lib/clients.mjs';

const ORIGIN = 'https://page.example';

describe('sse stream', () => {
  let server;
  let clients;
  let auth;
  let smallAuth;
  const streams = [];
  const main = makeApp({ offline_grace_ms: 0, allowed_origins: [ORIGIN] });
  const small = makeApp({ offline_grace_ms: 0, max_presence_members: 1 });

  before(async () => {
    server = await startServer({ apps: [main, small] });
    clients = new Clients(server);
    auth = await startAuthEndpoint(main);
    smallAuth = await startAuthEndpoint(small);
  });
  afterEach(async () => {
    for (const es of streams.splice(0)) es.close();
    await clients.closeAll();
  });
  after(async () => {
    await clients?.closeAll();
    await auth?.close();
    await smallAuth?.close();
    if (server) assert.equal(await server.stop(), 0, `greendot exit code\n${server.logs()}`);
  });

  const streamPath = (app, query) => `/apps/${app.id}/client/stream?${new URLSearchParams(query)}`;

  /** An EventSource that records every event it receives, in order. */
  function openStream(context, user, { app = main } = {}) {
    const token = userToken(app, user.id, { userInfo: user.info });
    const es = new EventSource(server.httpUrl(streamPath(app, { context, token })));
    streams.push(es);
    const events = [];
    for (const type of ['snapshot', 'member_added', 'member_removed', 'greendot:member_updated']) {
      es.addEventListener(type, (e) => events.push({ type, data: JSON.parse(e.data) }));
    }
    const errors = [];
    es.addEventListener('error', (e) => errors.push(e));
    return { es, events, errors, of: (type) => events.filter((e) => e.type === type) };
  }

  /** A pusher-js member of presence-{context}. */
  async function member(context, user) {
    const p = clients.pusher({ auth, user });
    const ch = p.subscribe(`presence-${context}`);
    await subscribed(ch);
    return { p, ch };
  }

  async function setPrivacy(app, user, body) {
    const res = await signedRaw(server, app, 'PUT', `/users/${user}/privacy`, JSON.stringify(body));
    assert.equal(res.status, 200, res.body);
  }

  test('an invisible member is in no stream\'s snapshot and no stream hears of them', { timeout: 15000 }, async () => {
    await setPrivacy(main, 'sse-ghost', { visibility: 'nobody' });
    await member('haunted', { id: 'sse-ghost', info: { name: 'Ghost' } });
    const watcher = openStream('haunted', { id: 'sse-watcher', info: { name: 'W' } });
    await waitFor(() => watcher.of('snapshot').length === 1, 5000, 'snapshot');
    const ids = watcher.of('snapshot')[0].data.members.map((m) => String(m.user_id));
    assert.ok(!ids.includes('sse-ghost'), `snapshot without the invisible user: ${ids}`);
    // A second invisible arrival and a visible one: only the visible one is announced.
    await member('haunted', { id: 'sse-ghost2', info: null });
    await setPrivacy(main, 'sse-ghost2', { visibility: 'nobody' });
    await member('haunted', { id: 'sse-visible', info: { name: 'V' } });
    await waitFor(() => watcher.of('member_added').some((e) => e.data.user_id === 'sse-visible'), 5000, 'visible arrival');
    const added = watcher.of('member_added').map((e) => e.data.user_id);
    assert.ok(!added.includes('sse-ghost'));
    // sse-ghost2 was visible when it arrived, then left every list when it turned invisible.
    await waitFor(() => watcher.of('member_removed').some((e) => e.data.user_id === 'sse-ghost2'), 5000, 'ghost2 leaves');
  });

  test('snapshot, then member_added and member_removed as pusher-js members come and go', { timeout: 15000 }, async () => {
    const alice = { id: 'alice', info: { name: 'Alice' } };
    const bob = { id: 42, info: { name: 'Bob' } };
    const me = { id: 'sse-user', info: { name: 'Me' } };
    await member('room.1', alice);

    const stream = openStream('room.1', me);
    await waitFor(() => stream.of('snapshot').length === 1, 5000, 'snapshot');
    const members = [...stream.events[0].data.members].sort((a, b) => a.user_id.localeCompare(b.user_id));
    assert.deepEqual(members, [
      { user_id: 'alice', user_info: alice.info },
      { user_id: 'sse-user', user_info: me.info },
    ]);

    const b = await member('room.1', bob);
    await waitFor(() => stream.of('member_added').length === 1, 5000, 'member_added of bob');
    assert.deepEqual(stream.of('member_added')[0].data, { user_id: '42', user_info: bob.info });

    b.p.disconnect();
    await waitFor(() => stream.of('member_removed').length === 1, 5000, 'member_removed of bob');
    assert.deepEqual(stream.of('member_removed')[0].data, { user_id: '42' });

    assert.deepEqual(
      stream.events.map((e) => e.type),
      ['snapshot', 'member_added', 'member_removed'],
      'the stream is not told about its own user joining',
    );
    assert.deepEqual(stream.errors, []);
  });

  test('an open stream is a session of its user: member_added when it opens, member_removed when it closes', { timeout: 15000 }, async () => {
    const observer = await member('room.2', { id: 'observer', info: { name: 'Observer' } });
    const added = [];
    const removed = [];
    observer.ch.bind('pusher:member_added', (m) => added.push(m));
    observer.ch.bind('pusher:member_removed', (m) => removed.push(m));

    const stream = openStream('room.2', { id: 'streamer', info: { name: 'Streamer' } });
    await waitFor(() => added.length === 1, 5000, 'member_added of the stream user');
    assert.equal(added[0].id, 'streamer');
    assert.deepEqual(added[0].info, { name: 'Streamer' });
    assert.ok(observer.ch.members.get('streamer'), 'the stream user is a member');

    stream.es.close();
    await waitFor(() => removed.length === 1, 5000, 'member_removed after the stream closed');
    assert.equal(removed[0].id, 'streamer');
    assert.equal(observer.ch.members.get('streamer'), null);
  });

  test('other channel events arrive under their own event name', { timeout: 15000 }, async () => {
    const stream = openStream('room.3', { id: 'reader', info: null });
    await waitFor(() => stream.of('snapshot').length === 1, 5000, 'snapshot');
    const seen = [];
    stream.es.addEventListener('client-typing', (e) => seen.push(JSON.parse(e.data)));
    const writer = await member('room.3', { id: 'writer', info: { name: 'Writer' } });
    writer.ch.trigger('client-typing', { typing: true });
    await waitFor(() => seen.length === 1, 5000, 'client-typing on the stream');
    assert.deepEqual(seen[0], { typing: true });
  });

  test('refusals are JSON 4xx answers, before any stream starts', async () => {
    const context = 'room.4';
    const good = userToken(main, 'u1');
    const cases = [
      [{ context }, 401, /token/i],
      [{ context, token: 'not-a-jwt' }, 401, /./],
      [{ context, token: userToken(main, 'u1', { secret: 'wrong-secret' }) }, 401, /signature/i],
      [{ context, token: userToken(main, 'u1', { exp: Math.floor(Date.now() / 1000) - 60 }) }, 401, /expired/i],
      [{ token: good }, 400, /context/i],
      [{ context: 'bad context!', token: good }, 400, /context/i],
      [{ context: 'x'.repeat(200), token: good }, 400, /context/i],
    ];
    for (const [query, status, message] of cases) {
      const res = await fetch(server.httpUrl(streamPath(main, query)));
      assert.equal(res.status, status, JSON.stringify(query));
      assert.match(res.headers.get('content-type'), /application\/json/);
      const body = await res.json();
      assert.match(body.error, message, JSON.stringify(query));
    }

    const post = await fetch(server.httpUrl(streamPath(main, { context, token: good })), { method: 'POST' });
    assert.equal(post.status, 405);
    assert.match((await post.json()).error, /GET/);

    const unknown = await fetch(server.httpUrl(streamPath({ id: 'no-such-app' }, { context, token: good })));
    assert.equal(unknown.status, 404);
  });

  test('a full channel answers 409', async () => {
    const bob = { id: 'bob', info: null };
    const p = clients.pusher({ app: small, auth: smallAuth, user: bob });
    await subscribed(p.subscribe('presence-full'));
    const token = userToken(small, 'late');
    const res = await fetch(server.httpUrl(streamPath(small, { context: 'full', token })));
    assert.equal(res.status, 409);
    assert.match((await res.json()).error, /limit of 1 members/);
  });

  test('headers: event-stream, no-cache, CORS for an allowed origin; 403 for another', async () => {
    const token = userToken(main, 'cors-user');
    const controller = new AbortController();
    const res = await fetch(server.httpUrl(streamPath(main, { context: 'room.5' })), {
      headers: { Origin: ORIGIN, Authorization: `Bearer ${token}` },
      signal: controller.signal,
    });
    try {
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/event-stream');
      assert.equal(res.headers.get('cache-control'), 'no-cache');
      assert.equal(res.headers.get('access-control-allow-origin'), ORIGIN);
      const reader = res.body.getReader();
      const { value } = await reader.read();
      assert.match(Buffer.from(value).toString(), /^event: snapshot\ndata: \{"members":\[/);
    } finally {
      controller.abort();
    }

    const other = await fetch(server.httpUrl(streamPath(main, { context: 'room.5', token })), {
      headers: { Origin: 'https://evil.example' },
    });
    assert.equal(other.status, 403);
    assert.match((await other.json()).error, /allowed_origins/);
  });
});
