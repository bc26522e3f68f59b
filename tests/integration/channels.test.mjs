// Subscribing: every channel kind through pusher-js, every refusal of docs/protocol.md through raw frames.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeApp } from './lib/server.mjs';
import { startAuthEndpoint } from './lib/auth-endpoint.mjs';
import { Clients, presenceAuth, privateAuth, hmac, subscribed, subscriptionError, waitFor, dataOf } from './lib/clients.mjs';
import { assertSubscriptionError, assertSucceededPlain, assertSucceededPresence } from './lib/expect.mjs';

describe('channels', () => {
  let server;
  let clients;
  let auth;
  const main = makeApp({ offline_grace_ms: 0 });
  const other = makeApp({ offline_grace_ms: 0 });
  const limits = makeApp({
    offline_grace_ms: 0,
    max_presence_members: 2,
    max_channels_per_connection: 3,
    max_user_info_bytes: 64,
    max_user_id_length: 16,
  });

  before(async () => {
    server = await startServer({ apps: [main, other, limits] });
    clients = new Clients(server);
    auth = await startAuthEndpoint(main);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    await clients?.closeAll();
    await auth?.close();
    if (server) assert.equal(await server.stop(), 0, `greendot exit code\n${server.logs()}`);
  });

  const cd = (obj) => JSON.stringify(obj);

  describe('pusher-js subscribes to every kind', () => {
    test('public channel', { timeout: 15000 }, async () => {
      const p = clients.pusher();
      const ch = p.subscribe('news');
      await subscribed(ch);
      assert.equal(ch.subscribed, true);
    });

    test('private channel, authorized by the pusher SDK', { timeout: 15000 }, async () => {
      const p = clients.pusher({ auth });
      const ch = p.subscribe('private-orders.1');
      await subscribed(ch);
      const req = auth.requests.find((r) => r.channel_name === 'private-orders.1');
      assert.ok(req, 'the auth endpoint was asked');
      assert.equal(req.socket_id, p.connection.socket_id);
    });

    test('presence channel, with a numeric user id like Laravel', { timeout: 15000 }, async () => {
      const p = clients.pusher({ auth, user: { id: 10, info: { id: 10, name: 'Ten' } } });
      const ch = p.subscribe('presence-room.1');
      await subscribed(ch);
      assert.equal(ch.members.count, 1);
      assert.deepEqual(ch.members.me, { id: 10, info: { id: 10, name: 'Ten' } });
      assert.deepEqual(ch.members.get('10').info, { id: 10, name: 'Ten' });
    });

    test('private-encrypted channel, with shared_secret from the SDK', { timeout: 15000 }, async () => {
      const p = clients.pusher({ auth });
      const ch = p.subscribe('private-encrypted-vault');
      await subscribed(ch);
      assert.equal(ch.subscribed, true);
      assert.ok(ch.key, 'pusher-js kept the shared secret');
      assert.equal(Buffer.from(ch.key).toString('base64'), auth.sharedSecret('private-encrypted-vault'));
    });

    test('refused authorization at the endpoint (403) is reported by pusher-js, the server is not asked', { timeout: 15000 }, async () => {
      const p = clients.pusher({ auth, headers: { 'X-Test-Refuse': '1' } });
      const ch = p.subscribe('private-refused');
      const err = await subscriptionError(ch);
      assert.equal(err.status, 403);
      assert.equal(p.connection.state, 'connected');
    });

    test('a signature the server does not accept reaches pusher-js as subscription_error AuthError 401', { timeout: 15000 }, async () => {
      auth.tamper = (body) => ({ ...body, auth: body.auth.replace(/:.*/, ':' + 'f'.repeat(64)) });
      try {
        const p = clients.pusher({ auth });
        const ch = p.subscribe('private-tampered');
        const err = await subscriptionError(ch);
        assert.deepEqual({ type: err.type, status: err.status }, { type: 'AuthError', status: 401 });
        assert.equal(typeof err.error, 'string');
        assert.equal(p.connection.state, 'connected');
      } finally {
        auth.tamper = null;
      }
    });
  });

  describe('exact success frames (raw)', () => {
    test('public: {"event":"pusher_internal:subscription_succeeded","channel":c,"data":"{}"}', { timeout: 15000 }, async () => {
      const c = await clients.raw();
      assertSucceededPlain(await c.subscribe('news-raw'), 'news-raw');
    });

    test('private with a hand-computed HMAC', { timeout: 15000 }, async () => {
      const c = await clients.raw();
      assertSucceededPlain(await c.subscribePrivate(main, 'private-raw'), 'private-raw');
    });

    test('private-encrypted with a hand-computed HMAC', { timeout: 15000 }, async () => {
      const c = await clients.raw();
      assertSucceededPlain(await c.subscribePrivate(main, 'private-encrypted-raw'), 'private-encrypted-raw');
    });

    test('names of exactly 164 characters and every allowed character are accepted', { timeout: 15000 }, async () => {
      const c = await clients.raw();
      const long = 'a'.repeat(164);
      assertSucceededPlain(await c.subscribe(long), long);
      const allChars = 'AZaz09_-=@,.;';
      assertSucceededPlain(await c.subscribe(allChars), allChars);
      const longPrivate = 'private-' + 'b'.repeat(156);
      assertSucceededPlain(await c.subscribePrivate(main, longPrivate), longPrivate);
    });

    test('presence: ids, hash and count include the subscriber', { timeout: 15000 }, async () => {
      const c = await clients.raw();
      const m = await c.subscribePresence(main, 'presence-raw', 'u1', { name: 'One' });
      const presence = assertSucceededPresence(m, 'presence-raw');
      assert.deepEqual(presence, { ids: ['u1'], hash: { u1: { name: 'One' } }, count: 1 });
    });
  });

  describe('refusals (raw frames, hand-computed HMAC)', () => {
    async function expectRefusal(c, channel, payload, type, status) {
      const m = await c.subscribe(channel, payload);
      assertSubscriptionError(m, channel, type, status);
      await c.ping(); // the connection stays usable
      return m;
    }

    test('AuthError 401: bad signature, missing auth, other app key, other socket id, malformed', { timeout: 15000 }, async () => {
      const c = await clients.raw();
      const ch = 'private-guarded';
      await expectRefusal(c, ch, { auth: `${main.key}:${'0'.repeat(64)}` }, 'AuthError', 401);
      await expectRefusal(c, ch, { auth: privateAuth(main, c.socketId, 'private-other') }, 'AuthError', 401);
      await expectRefusal(c, ch, {}, 'AuthError', 401);
      await expectRefusal(c, ch, { auth: '' }, 'AuthError', 401);
      // Signed by another app (its key and secret): valid for that app, not for this one.
      await expectRefusal(c, ch, { auth: privateAuth(other, c.socketId, ch) }, 'AuthError', 401);
      // This app's key with another app's secret.
      await expectRefusal(c, ch, { auth: `${main.key}:${hmac(other.secret, `${c.socketId}:${ch}`)}` }, 'AuthError', 401);
      // Another app's key with this app's (correct) signature.
      await expectRefusal(c, ch, { auth: `${other.key}:${hmac(main.secret, `${c.socketId}:${ch}`)}` }, 'AuthError', 401);
      await expectRefusal(c, ch, { auth: privateAuth(main, '1234.5678', ch) }, 'AuthError', 401);
      await expectRefusal(c, ch, { auth: hmac(main.secret, `${c.socketId}:${ch}`) }, 'AuthError', 401);
      await expectRefusal(c, ch, { auth: privateAuth(main, c.socketId, ch).toUpperCase() }, 'AuthError', 401);
      // ... and a correct one still works afterwards.
      assertSucceededPlain(await c.subscribePrivate(main, ch), ch);
    });

    test('AuthError 401 for encrypted and presence channels with bad signatures', { timeout: 15000 }, async () => {
      const c = await clients.raw();
      await expectRefusal(c, 'private-encrypted-x', { auth: `${main.key}:${'a'.repeat(64)}` }, 'AuthError', 401);
      const data = cd({ user_id: '1', user_info: { name: 'A' } });
      // Signature over other channel_data than the one sent.
      const forged = cd({ user_id: '2', user_info: { name: 'A' } });
      await expectRefusal(c, 'presence-x', { auth: presenceAuth(main, c.socketId, 'presence-x', forged), channel_data: data }, 'AuthError', 401);
      await expectRefusal(c, 'presence-x', { auth: privateAuth(main, c.socketId, 'presence-x'), channel_data: data }, 'AuthError', 401);
      await expectRefusal(c, 'presence-x', { channel_data: data }, 'AuthError', 401);
    });

    test('InvalidChannel 400: forbidden characters, too long, empty, #-channels', { timeout: 15000 }, async () => {
      const c = await clients.raw();
      for (const name of ['bad:name', 'bad name', 'bad/name', 'ümlaut', 'a'.repeat(165), '', '#weird', 'star*']) {
        await expectRefusal(c, name, {}, 'InvalidChannel', 400);
      }
      const longPrivate = 'private-' + 'b'.repeat(157); // 165
      await expectRefusal(c, longPrivate, { auth: privateAuth(main, c.socketId, longPrivate) }, 'InvalidChannel', 400);
    });

    test('AuthError 401: #server-to-user channel on a connection that has not signed in', { timeout: 15000 }, async () => {
      // docs/protocol.md: AuthError for `#server-to-user-{id}` by a connection not signed in as
      // `id`; a connection that has not signed in is no user at all.
      const c = await clients.raw();
      await expectRefusal(c, '#server-to-user-5', {}, 'AuthError', 401);
    });

    test('InvalidChannelData 400: missing, not JSON, no/empty/bad user_id, user_info not an object', { timeout: 15000 }, async () => {
      const c = await clients.raw();
      const ch = 'presence-data';
      // Missing channel_data, signed the way a private channel is.
      await expectRefusal(c, ch, { auth: privateAuth(main, c.socketId, ch) }, 'InvalidChannelData', 400);
      for (const data of [
        '{not json',
        '"a string"',
        '[1,2]',
        cd({ user_info: { name: 'no id' } }),
        cd({ user_id: '', user_info: {} }),
        cd({ user_id: null }),
        cd({ user_id: true }),
        cd({ user_id: '1', user_info: 'not an object' }),
        cd({ user_id: '1', user_info: [1, 2] }),
      ]) {
        await expectRefusal(c, ch, { auth: presenceAuth(main, c.socketId, ch, data), channel_data: data }, 'InvalidChannelData', 400);
      }
      assertSucceededPresence(await c.subscribePresence(main, ch, 'ok'), ch);
    });

    test('InvalidChannelData 400: user_id longer than max_user_id_length (16)', { timeout: 15000 }, async () => {
      const c = await clients.raw({ app: limits });
      const ch = 'presence-ids';
      const tooLong = cd({ user_id: 'x'.repeat(17), user_info: {} });
      await expectRefusal(c, ch, { auth: presenceAuth(limits, c.socketId, ch, tooLong), channel_data: tooLong }, 'InvalidChannelData', 400);
      assertSucceededPresence(await c.subscribePresence(limits, ch, 'y'.repeat(16), {}), ch);
    });

    test('UserInfoTooLarge 413: user_info over max_user_info_bytes (64)', { timeout: 15000 }, async () => {
      const c = await clients.raw({ app: limits });
      const ch = 'presence-info';
      const big = cd({ user_id: 'big', user_info: { name: 'x'.repeat(100) } });
      await expectRefusal(c, ch, { auth: presenceAuth(limits, c.socketId, ch, big), channel_data: big }, 'UserInfoTooLarge', 413);
      const small = { name: 'small' };
      const m = await c.subscribePresence(limits, ch, 'small', small);
      assert.deepEqual(assertSucceededPresence(m, ch).hash, { small });
    });

    test('LimitReached 4100: presence channel already has max_presence_members (2) users', { timeout: 20000 }, async () => {
      const ch = 'presence-full';
      const u1 = await clients.raw({ app: limits });
      const u2 = await clients.raw({ app: limits });
      const u3 = await clients.raw({ app: limits });
      assertSucceededPresence(await u1.subscribePresence(limits, ch, 'u1', {}), ch);
      assertSucceededPresence(await u2.subscribePresence(limits, ch, 'u2', {}), ch);
      await expectRefusal(u3, ch, (() => {
        const data = cd({ user_id: 'u3', user_info: {} });
        return { auth: presenceAuth(limits, u3.socketId, ch, data), channel_data: data };
      })(), 'LimitReached', 4100);
      // A second connection of a user who is already a member adds no user: it is let in.
      const u1b = await clients.raw({ app: limits });
      const again = assertSucceededPresence(await u1b.subscribePresence(limits, ch, 'u1', {}), ch);
      assert.equal(again.count, 2);
      // Once u2 has left there is room for u3.
      u2.unsubscribe(ch);
      await u1.next((m) => m.event === 'pusher_internal:member_removed' && m.channel === ch, 5000);
      assertSucceededPresence(await u3.subscribePresence(limits, ch, 'u3', {}), ch);
    });

    test('LimitReached 4100: connection already in max_channels_per_connection (3) channels', { timeout: 15000 }, async () => {
      const c = await clients.raw({ app: limits });
      for (const ch of ['one', 'two', 'three']) assertSucceededPlain(await c.subscribe(ch), ch);
      await expectRefusal(c, 'four', {}, 'LimitReached', 4100);
      c.unsubscribe('one');
      assertSucceededPlain(await c.subscribe('four'), 'four');
      // Another connection has its own budget.
      const d = await clients.raw({ app: limits });
      assertSucceededPlain(await d.subscribe('one'), 'one');
    });

    test('AlreadySubscribed 409: subscribing twice on one connection', { timeout: 15000 }, async () => {
      const c = await clients.raw();
      assertSucceededPlain(await c.subscribe('twice'), 'twice');
      await expectRefusal(c, 'twice', {}, 'AlreadySubscribed', 409);
      assertSucceededPlain(await c.subscribePrivate(main, 'private-twice'), 'private-twice');
      await expectRefusal(c, 'private-twice', { auth: privateAuth(main, c.socketId, 'private-twice') }, 'AlreadySubscribed', 409);
      assertSucceededPresence(await c.subscribePresence(main, 'presence-twice', 'p', {}), 'presence-twice');
      const data = cd({ user_id: 'p', user_info: {} });
      await expectRefusal(c, 'presence-twice', { auth: presenceAuth(main, c.socketId, 'presence-twice', data), channel_data: data }, 'AlreadySubscribed', 409);
      // After unsubscribing, subscribing again works.
      c.unsubscribe('twice');
      assertSucceededPlain(await c.subscribe('twice'), 'twice');
    });

    test('unsubscribe from a channel never joined answers pusher:error with a message; unsubscribe has no reply', { timeout: 15000 }, async () => {
      const c = await clients.raw();
      c.unsubscribe('never-joined');
      const err = await c.next('pusher:error');
      const data = dataOf(err);
      assert.equal(typeof data.message, 'string');
      assert.ok(data.message.length > 0);
      assert.ok(c.isOpen);
      await c.ping();
      // A real unsubscribe answers nothing: after it, the next frame is the pong of a ping.
      assertSucceededPlain(await c.subscribe('joined'), 'joined');
      const before = c.frames.length;
      c.unsubscribe('joined');
      await c.ping();
      assert.deepEqual(c.frames.slice(before).map((f) => f.msg.event), ['pusher:pong']);
    });

    test('after unsubscribing, client events of the channel are no longer delivered', { timeout: 15000 }, async () => {
      const a = await clients.raw();
      const b = await clients.raw();
      for (const ch of ['private-u1', 'private-u2']) {
        assertSucceededPlain(await a.subscribePrivate(main, ch), ch);
        assertSucceededPlain(await b.subscribePrivate(main, ch), ch);
      }
      b.unsubscribe('private-u1');
      await b.ping(); // the unsubscribe has been processed
      a.send({ event: 'client-x', channel: 'private-u1', data: { n: 1 } });
      a.send({ event: 'client-y', channel: 'private-u2', data: { n: 2 } });
      await b.next({ event: 'client-y', channel: 'private-u2' });
      assert.deepEqual(b.events('client-x'), []);
    });
  });

  describe('user identity', () => {
    test('numeric 10 and string "10" are one member (raw)', { timeout: 15000 }, async () => {
      const ch = 'presence-same';
      const a = await clients.raw();
      const b = await clients.raw();
      const s = await clients.raw();
      assertSucceededPresence(await a.subscribePresence(main, ch, 10, { name: 'Ten' }), ch);
      const pb = assertSucceededPresence(await b.subscribePresence(main, ch, '10', { name: 'Ten' }), ch);
      assert.deepEqual(pb, { ids: ['10'], hash: { 10: { name: 'Ten' } }, count: 1 });
      // Sentinel: a different user joins; a sees that, and must not have seen a member_added for "10".
      assertSucceededPresence(await s.subscribePresence(main, ch, 11, { name: 'Eleven' }), ch);
      const added = await a.next('pusher_internal:member_added');
      assert.equal(dataOf(added).user_id, '11');
      assert.equal(a.events('pusher_internal:member_added').length, 1, `only the sentinel was added:\n${a.describe()}`);
      // The user leaves only when both of its connections are gone.
      a.unsubscribe(ch);
      await a.ping(); // a's unsubscribe has been processed
      s.unsubscribe(ch);
      await b.next((m) => m.event === 'pusher_internal:member_removed' && dataOf(m).user_id === '11');
      assert.equal(b.events('pusher_internal:member_removed').length, 1, `"10" still present:\n${b.describe()}`);
    });

    test('numeric and string ids through the auth endpoint are one member (pusher-js)', { timeout: 15000 }, async () => {
      const ch = 'presence-same-sdk';
      const p1 = clients.pusher({ auth, user: { id: 20, info: { id: 20 } } });
      const c1 = p1.subscribe(ch);
      await subscribed(c1);
      const added = [];
      c1.bind('pusher:member_added', (m) => added.push(m.id));
      const p2 = clients.pusher({ auth, user: { id: '20', info: { id: 20 } } });
      const c2 = p2.subscribe(ch);
      await subscribed(c2);
      assert.equal(c2.members.count, 1);
      const p3 = clients.pusher({ auth, user: { id: 21, info: { id: 21 } } });
      await subscribed(p3.subscribe(ch));
      await waitFor(() => added.includes('21'), 5000, 'member_added 21');
      assert.deepEqual(added, ['21']);
      assert.equal(c1.members.count, 2);
    });
  });
});
