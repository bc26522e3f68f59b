// Connecting: handshake, refusals by key/app/protocol, pings, and the plain-HTTP routes.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeApp } from './lib/server.mjs';
import { Clients, connected, dataOf, httpRequest, waitFor, withTimeout } from './lib/clients.mjs';
import { SOCKET_ID, expectErrorThenClose } from './lib/expect.mjs';

const ACTIVITY_TIMEOUT = 7;

describe('connection', () => {
  let server;
  let clients;
  const main = makeApp();
  const disabled = makeApp({ enabled: false });
  const limited = makeApp({ max_connections: 2 });
  // Short, hand-written credentials as in development configs (and Laravel .env examples).
  const short = makeApp({ id: 'dev', key: 'dev-key', secret: 'dev-secret' });

  before(async () => {
    server = await startServer({ server: { activity_timeout: ACTIVITY_TIMEOUT }, apps: [main, disabled, limited, short] });
    clients = new Clients(server);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    await clients?.closeAll();
    if (server) assert.equal(await server.stop(), 0, `greendot exit code\n${server.logs()}`);
  });

  test('raw client gets pusher:connection_established with socket_id and activity_timeout', { timeout: 15000 }, async () => {
    const c = await clients.raw({ established: false });
    const m = await c.next('pusher:connection_established');
    assert.equal(typeof m.data, 'string', 'connection_established data is a JSON string');
    assert.deepEqual(Object.keys(m).sort(), ['data', 'event']);
    const data = JSON.parse(m.data);
    assert.deepEqual(Object.keys(data).sort(), ['activity_timeout', 'socket_id']);
    assert.match(data.socket_id, SOCKET_ID);
    assert.equal(data.activity_timeout, ACTIVITY_TIMEOUT);
    assert.equal(c.frames.length, 1, `nothing but connection_established first:\n${c.describe()}`);
  });

  test('short app keys work too', { timeout: 15000 }, async () => {
    for (const key of ['dev-key', short.key]) {
      const c = clients.rawUrl(server.wsUrl(key));
      await c.opened;
      const first = await c.next(() => true);
      assert.equal(first.event, 'pusher:connection_established', `first frame for key ${key}: ${first.frame.raw}`);
    }
  });

  test('socket ids differ between connections', { timeout: 15000 }, async () => {
    const ids = new Set();
    for (let i = 0; i < 5; i++) {
      const c = await clients.raw();
      assert.match(c.socketId, SOCKET_ID);
      ids.add(c.socketId);
    }
    assert.equal(ids.size, 5);
  });

  test('protocol 5 and 6 are accepted too', { timeout: 15000 }, async () => {
    for (const p of [5, 6]) {
      const c = await clients.raw({ query: `?protocol=${p}` });
      assert.match(c.socketId, SOCKET_ID, `protocol=${p}`);
    }
  });

  test('pusher-js connects and reports the socket id', { timeout: 15000 }, async () => {
    const p = clients.pusher();
    const socketId = await connected(p);
    assert.match(socketId, SOCKET_ID);
    assert.equal(p.connection.state, 'connected');
    // pusher-js keeps min(its default 120 s, server activity_timeout) as its activity timeout.
    assert.equal(p.connection.activityTimeout, ACTIVITY_TIMEOUT * 1000);
  });

  test('unknown key: pusher:error 4001 then close 4001', { timeout: 15000 }, async () => {
    const c = clients.rawUrl(server.wsUrl('no-such-key'));
    await c.opened;
    await expectErrorThenClose(c, 4001);
    assert.equal(c.events('pusher:connection_established').length, 0);
  });

  test('unknown key: pusher-js reports error 4001 and stops (state disconnected, no retry)', { timeout: 15000 }, async () => {
    const p = clients.pusher({ key: 'no-such-key' });
    const errors = [];
    const states = [];
    p.connection.bind('error', (e) => errors.push(e));
    p.connection.bind('state_change', ({ current }) => states.push(current));
    const codeOf = (e) => e?.error?.data?.code ?? e?.data?.code;
    await waitFor(() => errors.some((e) => codeOf(e) === 4001), 5000, 'pusher-js error 4001');
    await waitFor(() => p.connection.state === 'disconnected', 5000, 'pusher-js state disconnected');
    assert.ok(!states.includes('connected'), `never connected: ${states}`);
    // 'refused' (4000-4099) means pusher-js does not reconnect: it must not go back to connecting.
    const before = states.length;
    // A retry that does not happen makes no event: pusher-js would retry on a timer (1 s for
    // codes it retries later), so only a window longer than that can show that it does not.
    await new Promise((r) => setTimeout(r, 1500));
    assert.deepEqual(states.slice(before), [], 'no reconnect attempt after 4001');
  });

  test('disabled app: close 4003', { timeout: 15000 }, async () => {
    const c = clients.rawUrl(server.wsUrl(disabled.key));
    await c.opened;
    await expectErrorThenClose(c, 4003);
    assert.equal(c.events('pusher:connection_established').length, 0);
  });

  test("app's connection limit: close 4004, and room again after one leaves", { timeout: 15000 }, async () => {
    const a = await clients.raw({ app: limited });
    await clients.raw({ app: limited });
    const c = clients.rawUrl(server.wsUrl(limited.key));
    await c.opened;
    await expectErrorThenClose(c, 4004);
    assert.equal(c.events('pusher:connection_established').length, 0);
    // Other apps are not affected by this app's limit.
    await clients.raw({ app: main });
    a.close(1000);
    await a.waitClose();
    // The server notices the close asynchronously: retry until a new connection is accepted.
    await waitFor(
      async () => {
        const d = clients.rawUrl(server.wsUrl(limited.key));
        try {
          await d.opened;
          const first = await d.next(() => true, 3000);
          return first.event === 'pusher:connection_established';
        } catch {
          return false;
        } finally {
          if (d.events('pusher:connection_established').length === 0) d.terminate();
        }
      },
      5000,
      'a connection slot to free up',
    );
  });

  for (const [label, query, code, reason] of [
    ['missing', '', 4008, 'No protocol version supplied'],
    ['missing (other params only)', '?client=js&version=8.6.0', 4008, 'No protocol version supplied'],
    ['not an integer', '?protocol=abc', 4006, 'Invalid version string format'],
    ['not an integer (7.5)', '?protocol=7.5', 4006, 'Invalid version string format'],
    ['too old (4)', '?protocol=4', 4007, 'Unsupported protocol version'],
    ['too new (8)', '?protocol=8', 4007, 'Unsupported protocol version'],
  ]) {
    test(`protocol ${label}: close ${code} "${reason}"`, { timeout: 15000 }, async () => {
      const c = clients.rawUrl(server.wsUrl(main.key, query));
      await c.opened;
      await expectErrorThenClose(c, code, reason);
      assert.equal(c.events('pusher:connection_established').length, 0);
    });
  }

  test('pusher:ping is answered with pusher:pong', { timeout: 15000 }, async () => {
    const c = await clients.raw();
    c.send({ event: 'pusher:ping', data: {} });
    const pong = await c.next('pusher:pong');
    assert.equal(pong.event, 'pusher:pong');
    const data = dataOf(pong);
    assert.ok(data === undefined || (typeof data === 'object' && Object.keys(data).length === 0), `pong data is empty: ${JSON.stringify(pong)}`);
  });

  test('WebSocket ping frame is answered with a pong frame carrying the payload', { timeout: 15000 }, async () => {
    const c = await clients.raw();
    c.ws.ping(Buffer.from('hello-greendot'));
    await c.until(() => c.pongs.includes('hello-greendot'), 5000, 'pong frame');
    assert.ok(c.isOpen);
  });

  test('plain HTTP GET /app/{key} answers 426 with a JSON body', { timeout: 15000 }, async () => {
    const r = await httpRequest(server.httpUrl(`/app/${main.key}?protocol=7`));
    assert.equal(r.status, 426);
    assert.match(r.headers['content-type'] ?? '', /json/);
    assert.doesNotThrow(() => JSON.parse(r.body), `426 body is JSON: ${r.body}`);
  });

  test('upgrade on an unknown path answers HTTP 404 with a JSON body', { timeout: 15000 }, async () => {
    const c = clients.rawUrl(`ws://127.0.0.1:${server.port}/not/a/pusher/path?protocol=7`);
    await assert.rejects(c.opened);
    await withTimeout(c.closed, 5000, 'refused upgrade');
    assert.ok(c.unexpectedResponse, `expected an HTTP answer, got errors ${c.errors.map(String)}`);
    assert.equal(c.unexpectedResponse.status, 404);
    assert.match(c.unexpectedResponse.headers['content-type'] ?? '', /json/);
    assert.doesNotThrow(() => JSON.parse(c.unexpectedResponse.body), `404 body is JSON: ${c.unexpectedResponse.body}`);
  });

  test('plain HTTP GET on an unknown path answers 404 with a JSON body', { timeout: 15000 }, async () => {
    const r = await httpRequest(server.httpUrl('/definitely/not/here'));
    assert.equal(r.status, 404);
    assert.doesNotThrow(() => JSON.parse(r.body), `404 body is JSON: ${r.body}`);
  });

  test('GET /health answers 200', { timeout: 15000 }, async () => {
    const r = await httpRequest(server.httpUrl('/health'));
    assert.equal(r.status, 200);
  });
});
