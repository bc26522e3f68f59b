// Client events: Echo whisper and pusher-js trigger, who may send them where, and the rate limit.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeApp } from './lib/server.mjs';
import { startAuthEndpoint } from './lib/auth-endpoint.mjs';
import { Clients, subscribed, waitFor, dataOf, withTimeout } from './lib/clients.mjs';
import { assertPlainError, assertSucceededPlain, assertSucceededPresence } from './lib/expect.mjs';

describe('client events', () => {
  let server;
  let clients;
  let auth;
  const main = makeApp({ offline_grace_ms: 0, client_events_per_second: 10 });
  const noClientEvents = makeApp({ offline_grace_ms: 0, client_events: false });

  before(async () => {
    server = await startServer({ apps: [main, noClientEvents] });
    clients = new Clients(server);
    auth = await startAuthEndpoint(main);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    await clients?.closeAll();
    await auth?.close();
    if (server) assert.equal(await server.stop(), 0, `greendot exit code\n${server.logs()}`);
  });

  const echoSubscribed = (channel) =>
    withTimeout(new Promise((resolve, reject) => channel.subscribed(resolve).error(reject)), 5000, 'Echo subscription');

  test('Echo whisper on a private channel reaches the others, not the sender', { timeout: 15000 }, async () => {
    const e1 = clients.echo({ auth, user: { id: 1 } });
    const e2 = clients.echo({ auth, user: { id: 2 } });
    const got1 = [];
    const got2 = [];
    const c1 = e1.private('doc.1').listenForWhisper('typing', (d) => got1.push(d)).listenForWhisper('ack', (d) => got1.push({ ack: d }));
    const c2 = e2.private('doc.1').listenForWhisper('typing', (d) => got2.push(d));
    await Promise.all([echoSubscribed(c1), echoSubscribed(c2)]);
    c1.whisper('typing', { name: 'Ann', typing: true });
    await waitFor(() => got2.length === 1, 5000, 'whisper at user 2');
    assert.deepEqual(got2, [{ name: 'Ann', typing: true }]);
    // The reply is the sentinel: once user 1 has it, its own whisper would have come before.
    c2.whisper('ack', { ok: 1 });
    await waitFor(() => got1.length === 1, 5000, 'ack at user 1');
    assert.deepEqual(got1, [{ ack: { ok: 1 } }], 'the sender does not get its own whisper');
  });

  test('Echo whisper on a presence channel carries the sender user_id on the wire', { timeout: 15000 }, async () => {
    const channel = 'presence-doc.2';
    const raw = await clients.raw();
    assertSucceededPresence(await raw.subscribePresence(main, channel, 'watcher', {}), channel);
    const pusherReceiver = clients.pusher({ auth, user: { id: 'p' } });
    const pch = pusherReceiver.subscribe(channel);
    const seen = [];
    pch.bind('client-typing', (data, meta) => seen.push({ data, meta }));
    await subscribed(pch);

    const e1 = clients.echo({ auth, user: { id: 1, info: { id: 1, name: 'One' } } });
    const mine = [];
    const c1 = e1.join('doc.2').listenForWhisper('typing', (d) => mine.push(d));
    await echoSubscribed(c1);
    c1.whisper('typing', { on: true });

    const m = await raw.next('client-typing');
    assert.deepEqual(m, { event: 'client-typing', channel, data: { on: true }, user_id: '1' });
    await waitFor(() => seen.length === 1, 5000, 'pusher-js receiver');
    assert.deepEqual(seen[0].data, { on: true });
    assert.equal(seen[0].meta?.user_id, '1');
    await raw.ping();
    assert.deepEqual(mine, [], 'not echoed to the sender');
  });

  test('pusher-js channel.trigger on a private channel: exact frame at the others, none back', { timeout: 15000 }, async () => {
    const channel = 'private-trigger';
    const raw = await clients.raw();
    assertSucceededPlain(await raw.subscribePrivate(main, channel), channel);
    const p = clients.pusher({ auth });
    const ch = p.subscribe(channel);
    const own = [];
    ch.bind('client-x', (d) => own.push(d));
    await subscribed(ch);
    assert.equal(ch.trigger('client-x', { a: 1, s: 'é ✓' }), true);
    assert.equal(ch.trigger('client-x', 'plain string data'), true);
    const first = await raw.next('client-x');
    assert.deepEqual(first, { event: 'client-x', channel, data: { a: 1, s: 'é ✓' } });
    const second = await raw.next('client-x');
    assert.deepEqual(second, { event: 'client-x', channel, data: 'plain string data' });
    // Sentinel from the raw side back to pusher-js.
    raw.send({ event: 'client-x', channel, data: { from: 'raw' } });
    await waitFor(() => own.length === 1, 5000, 'event from raw at pusher-js');
    assert.deepEqual(own, [{ from: 'raw' }], 'pusher-js did not get its own events back');
  });

  test('pusher-js channel.trigger on a presence channel carries user_id', { timeout: 15000 }, async () => {
    const channel = 'presence-trigger';
    const a = clients.pusher({ auth, user: { id: 'alice' } });
    const b = clients.pusher({ auth, user: { id: 'bob' } });
    const ca = a.subscribe(channel);
    const cb = b.subscribe(channel);
    const atB = [];
    cb.bind('client-hello', (data, meta) => atB.push({ data, meta }));
    await Promise.all([subscribed(ca), subscribed(cb)]);
    ca.trigger('client-hello', { hi: 'bob' });
    await waitFor(() => atB.length === 1, 5000, 'client-hello at bob');
    assert.deepEqual(atB[0].data, { hi: 'bob' });
    assert.equal(atB[0].meta.user_id, 'alice');
  });

  async function expectRejected(sender, receiver, channel) {
    sender.send({ event: 'client-nope', channel, data: { x: 1 } });
    const err = await sender.next('pusher:error');
    assertPlainError(err);
    await sender.ping();
    assert.ok(sender.isOpen);
    if (receiver) {
      await receiver.ping();
      assert.deepEqual(receiver.events('client-nope'), [], `not delivered on ${channel}`);
    }
  }

  test('rejected on a public channel: pusher:error without code, connection kept, nothing delivered', { timeout: 15000 }, async () => {
    const a = await clients.raw();
    const b = await clients.raw();
    assertSucceededPlain(await a.subscribe('public-room'), 'public-room');
    assertSucceededPlain(await b.subscribe('public-room'), 'public-room');
    await expectRejected(a, b, 'public-room');
  });

  test('rejected on a private-encrypted channel', { timeout: 15000 }, async () => {
    const channel = 'private-encrypted-room';
    const a = await clients.raw();
    const b = await clients.raw();
    assertSucceededPlain(await a.subscribePrivate(main, channel), channel);
    assertSucceededPlain(await b.subscribePrivate(main, channel), channel);
    await expectRejected(a, b, channel);
  });

  test('rejected from a connection that is not subscribed to the channel', { timeout: 15000 }, async () => {
    const channel = 'private-members-only';
    const outsider = await clients.raw();
    const member = await clients.raw();
    assertSucceededPlain(await member.subscribePrivate(main, channel), channel);
    await expectRejected(outsider, member, channel);
  });

  test('rate limit (10/s): excess events get pusher:error 4301, the connection stays, and later events pass', { timeout: 20000 }, async () => {
    const channel = 'private-flood';
    const a = await clients.raw();
    const b = await clients.raw();
    assertSucceededPlain(await a.subscribePrivate(main, channel), channel);
    assertSucceededPlain(await b.subscribePrivate(main, channel), channel);
    const N = 30;
    for (let i = 0; i < N; i++) a.send({ event: 'client-flood', channel, data: { i } });
    const delivered = () => b.events('client-flood').length;
    const limited = () => a.events('pusher:error').filter((m) => dataOf(m).code === 4301).length;
    await waitFor(() => delivered() + limited() === N, 5000, `${N} events to be delivered or refused`);
    assert.ok(limited() >= 1, 'some events were refused with 4301');
    assert.ok(delivered() >= 10, `at least the allowed 10 were delivered (got ${delivered()})`);
    assert.ok(delivered() <= 20, `no more than two seconds' worth were delivered (got ${delivered()})`);
    for (const m of a.events('pusher:error')) {
      assert.equal(dataOf(m).code, 4301);
      assert.equal(typeof dataOf(m).message, 'string');
    }
    // Delivered in order.
    const order = b.events('client-flood').map((m) => m.data.i);
    assert.deepEqual(order, [...order].sort((x, y) => x - y));
    assert.ok(a.isOpen, 'not closed for exceeding the rate');
    await a.ping();
    // The budget comes back: keep sending one event every 250 ms until one arrives.
    const before = b.events('client-later').length;
    const timer = setInterval(() => a.isOpen && a.send({ event: 'client-later', channel, data: {} }), 250);
    try {
      await b.until(() => b.events('client-later').length > before, 5000, 'an event to pass again');
    } finally {
      clearInterval(timer);
    }
  });

  test('rate limit seen through pusher-js: error 4301, still connected', { timeout: 15000 }, async () => {
    const channel = 'private-flood-js';
    const p = clients.pusher({ auth });
    const errors = [];
    p.connection.bind('error', (e) => errors.push(e));
    const ch = p.subscribe(channel);
    await subscribed(ch);
    for (let i = 0; i < 25; i++) ch.trigger('client-burst', { i });
    const codeOf = (e) => e?.data?.code ?? e?.error?.data?.code;
    await waitFor(() => errors.some((e) => codeOf(e) === 4301), 5000, 'pusher-js error 4301');
    assert.equal(p.connection.state, 'connected');
  });

  test('app with client_events=false: pusher:error 4301, nothing delivered', { timeout: 15000 }, async () => {
    const channel = 'private-quiet';
    const a = await clients.raw({ app: noClientEvents });
    const b = await clients.raw({ app: noClientEvents });
    assertSucceededPlain(await a.subscribePrivate(noClientEvents, channel), channel);
    assertSucceededPlain(await b.subscribePrivate(noClientEvents, channel), channel);
    a.send({ event: 'client-hi', channel, data: {} });
    const err = await a.next('pusher:error');
    assert.equal(dataOf(err).code, 4301);
    assert.equal(typeof dataOf(err).message, 'string');
    await a.ping();
    await b.ping();
    assert.deepEqual(b.events('client-hi'), []);
    assert.ok(a.isOpen);
  });
});
