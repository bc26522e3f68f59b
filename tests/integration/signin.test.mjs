// User sign-in (pusher:signin) and the #server-to-user-{id} channel.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeApp } from './lib/server.mjs';
import { startAuthEndpoint } from './lib/auth-endpoint.mjs';
import { Clients, subscribed, subscriptionError, userAuth, waitFor, withTimeout, dataOf } from './lib/clients.mjs';
import { assertSubscriptionError, assertSucceededPlain, expectErrorThenClose } from './lib/expect.mjs';

describe('user sign-in', () => {
  let server;
  let clients;
  let auth;
  const main = makeApp({ user_authentication: true });
  const other = makeApp();

  before(async () => {
    server = await startServer({ apps: [main, other] });
    clients = new Clients(server);
    auth = await startAuthEndpoint(main);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    await clients?.closeAll();
    await auth?.close();
    if (server) assert.equal(await server.stop(), 0, `greendot exit code\n${server.logs()}`);
  });

  async function signin(c, userData, app = main) {
    const text = typeof userData === 'string' ? userData : JSON.stringify(userData);
    c.send({ event: 'pusher:signin', data: { auth: userAuth(app, c.socketId, text), user_data: text } });
    return text;
  }

  test('pusher-js signin(): signin_success, then #server-to-user-<id> is subscribed', { timeout: 15000 }, async () => {
    const p = clients.pusher({ auth, user: { id: '42', info: { name: 'Forty-two' } } });
    p.signin();
    await withTimeout(p.user.signinDonePromise, 5000, 'signin to finish');
    assert.deepEqual(p.user.user_data, { id: '42', user_info: { name: 'Forty-two' } });
    await waitFor(() => p.user.serverToUserChannel?.subscribed, 5000, '#server-to-user-42 subscribed');
    assert.equal(p.user.serverToUserChannel.name, '#server-to-user-42');
    assert.ok(auth.requests.some((r) => r.path === '/broadcasting/user-auth' && r.socket_id === p.connection.socket_id));
  });

  // pusher-js itself refuses to subscribe to any '#' channel ("Cannot create a channel with name"),
  // so the rules for other users' #server-to-user channels are tested with raw frames below.

  test('raw: exact signin_success and the #server-to-user rules', { timeout: 15000 }, async () => {
    const c = await clients.raw();
    const text = await signin(c, { id: '42', user_info: { name: 'Forty-two' } });
    const ok = await c.next('pusher:signin_success');
    assert.deepEqual(Object.keys(ok).sort(), ['data', 'event']);
    const data = dataOf(ok);
    assert.deepEqual(data, { user_data: text }, 'signin_success carries user_data as sent');
    assertSucceededPlain(await c.subscribe('#server-to-user-42'), '#server-to-user-42');
    const refused = await c.subscribe('#server-to-user-43');
    assertSubscriptionError(refused, '#server-to-user-43', 'AuthError', 401);
    const prefixTrick = await c.subscribe('#server-to-user-420');
    assertSubscriptionError(prefixTrick, '#server-to-user-420', 'AuthError', 401);
    await c.ping();
  });

  test('raw: signing in again as the same user is fine', { timeout: 15000 }, async () => {
    const c = await clients.raw();
    await signin(c, { id: 'same' });
    await c.next('pusher:signin_success');
    await signin(c, { id: 'same' });
    await c.next('pusher:signin_success');
    assert.ok(c.isOpen);
    await c.ping();
  });

  test('bad signature: pusher:error 4009 and close 4009', { timeout: 15000 }, async () => {
    const c = await clients.raw();
    const text = JSON.stringify({ id: '42' });
    c.send({ event: 'pusher:signin', data: { auth: `${main.key}:${'0'.repeat(64)}`, user_data: text } });
    await expectErrorThenClose(c, 4009);
    assert.equal(c.events('pusher:signin_success').length, 0);
  });

  for (const [label, make] of [
    ['signed by another app', (c) => ({ auth: userAuth(other, c.socketId, '{"id":"42"}'), user_data: '{"id":"42"}' })],
    ['signature over other user_data', (c) => ({ auth: userAuth(main, c.socketId, '{"id":"41"}'), user_data: '{"id":"42"}' })],
    ['signature for another socket', () => ({ auth: userAuth(main, '1.2', '{"id":"42"}'), user_data: '{"id":"42"}' })],
    ['missing auth', () => ({ user_data: '{"id":"42"}' })],
    ['missing user_data', (c) => ({ auth: userAuth(main, c.socketId, '') })],
    ['missing id', (c) => ({ auth: userAuth(main, c.socketId, '{"user_info":{}}'), user_data: '{"user_info":{}}' })],
    ['empty id', (c) => ({ auth: userAuth(main, c.socketId, '{"id":""}'), user_data: '{"id":""}' })],
    ['user_data not JSON', (c) => ({ auth: userAuth(main, c.socketId, '{id'), user_data: '{id' })],
  ]) {
    test(`signin refused (${label}): pusher:error 4009 and close 4009`, { timeout: 15000 }, async () => {
      const c = await clients.raw();
      c.send({ event: 'pusher:signin', data: make(c) });
      await expectErrorThenClose(c, 4009);
      assert.equal(c.events('pusher:signin_success').length, 0);
    });
  }

  test('signin refused (numeric id: user ids are strings): pusher:error 4009 and close 4009', { timeout: 15000 }, async () => {
    const c = await clients.raw();
    await signin(c, '{"id":42}');
    await expectErrorThenClose(c, 4009);
  });

  test('a second sign-in as a different user: pusher:error 4009 and close 4009', { timeout: 15000 }, async () => {
    const c = await clients.raw();
    await signin(c, { id: 'first' });
    await c.next('pusher:signin_success');
    await signin(c, { id: 'second' });
    await expectErrorThenClose(c, 4009);
    assert.equal(c.events('pusher:signin_success').length, 1);
  });

  test('pusher-js with a bad signature from the endpoint: error 4009, connection refused', { timeout: 15000 }, async () => {
    auth.tamper = (body, { path }) => (path === '/broadcasting/user-auth' ? { ...body, auth: `${main.key}:${'1'.repeat(64)}` } : body);
    try {
      const p = clients.pusher({ auth, user: { id: '42' } });
      const errors = [];
      p.connection.bind('error', (e) => errors.push(e));
      await waitFor(() => p.connection.state === 'connected', 5000, 'connected');
      p.signin();
      const codeOf = (e) => e?.data?.code ?? e?.error?.data?.code;
      await waitFor(() => errors.some((e) => codeOf(e) === 4009), 5000, 'pusher-js error 4009');
      await waitFor(() => p.connection.state === 'disconnected', 5000, 'pusher-js gives up (4009 is "refused")');
      assert.equal(p.user.user_data, null);
    } finally {
      auth.tamper = null;
    }
  });

  test('without sign-in, presence auth still works for the same user id (no coupling)', { timeout: 15000 }, async () => {
    const p = clients.pusher({ auth, user: { id: '42' } });
    await subscribed(p.subscribe('presence-signin-free'));
  });
});
