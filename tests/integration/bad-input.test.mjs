// Bad input: each answered with pusher:error while the connection (and everyone else) carries on;
// oversized messages and WebSocket violations close the connection with the documented codes.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeApp } from './lib/server.mjs';
import { Clients, subscribed, dataOf } from './lib/clients.mjs';
import { assertSucceededPlain } from './lib/expect.mjs';

const MAX_MESSAGE_BYTES = 1024;

describe('bad input', () => {
  let server;
  let clients;
  const app = makeApp();

  before(async () => {
    server = await startServer({ server: { max_message_bytes: MAX_MESSAGE_BYTES }, apps: [app] });
    clients = new Clients(server);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    await clients?.closeAll();
    if (server) assert.equal(await server.stop(), 0, `greendot exit code\n${server.logs()}`);
  });

  const cases = [
    ['text that is not JSON', 'this is not json'],
    ['truncated JSON', '{"event":"pusher:ping","data":{'],
    ['JSON array', '[1,2,3]'],
    ['JSON string', '"pusher:ping"'],
    ['JSON number', '42'],
    ['JSON null', 'null'],
    ['empty object (no event)', '{}'],
    ['event not a string', '{"event":5,"data":{}}'],
    ['event null', '{"event":null,"data":{}}'],
    ['subscribe with data a number', '{"event":"pusher:subscribe","data":5}'],
    ['subscribe with data an array', '{"event":"pusher:subscribe","data":["x"]}'],
    ['subscribe without data', '{"event":"pusher:subscribe"}'],
    ['subscribe without channel', '{"event":"pusher:subscribe","data":{}}'],
    ['subscribe with channel a number', '{"event":"pusher:subscribe","data":{"channel":5}}'],
    ['unsubscribe without channel', '{"event":"pusher:unsubscribe","data":{}}'],
    ['signin with data a string', '{"event":"pusher:signin","data":"nope"}'],
    ['client event without channel', '{"event":"client-x","data":{}}'],
    ['client event with channel a number', '{"event":"client-x","channel":7,"data":{}}'],
    ['unknown pusher: event', '{"event":"pusher:teleport","data":{}}'],
    ['pusher_internal: event from a client', '{"event":"pusher_internal:member_added","channel":"presence-x","data":"{}"}'],
    ['event that is neither pusher: nor client-', '{"event":"hello","data":{}}'],
    ['event that merely starts with client', '{"event":"clientx","channel":"private-x","data":{}}'],
  ];

  for (const [label, text] of cases) {
    test(`${label} → pusher:error with a message, connection kept`, { timeout: 15000 }, async () => {
      const c = await clients.raw();
      const bystander = await clients.raw();
      assertSucceededPlain(await bystander.subscribe('bystanders'), 'bystanders');
      c.sendRaw(text);
      const err = await c.next('pusher:error');
      const data = dataOf(err);
      assert.equal(typeof data, 'object', `pusher:error data: ${JSON.stringify(err)}`);
      assert.equal(typeof data.message, 'string', `pusher:error message: ${JSON.stringify(err)}`);
      assert.ok(data.message.length > 0);
      await c.ping();
      assert.ok(c.isOpen);
      assert.equal(c.events('pusher:error').length, 1, `exactly one error:\n${c.describe()}`);
      // The connection still works for real requests.
      assertSucceededPlain(await c.subscribe('after-bad-input'), 'after-bad-input');
      // Others are unaffected.
      await bystander.ping();
      assert.deepEqual(bystander.events('pusher:error'), []);
      assert.ok(bystander.isOpen);
    });
  }

  test('binary frame → pusher:error with a message, connection kept', { timeout: 15000 }, async () => {
    const c = await clients.raw();
    c.sendRaw(Buffer.from('{"event":"pusher:ping","data":{}}'), { binary: true });
    const err = await c.next('pusher:error');
    assert.equal(typeof dataOf(err).message, 'string');
    await c.ping();
    assert.ok(c.isOpen);
  });

  test('a burst of garbage from one client does not disturb a pusher-js client', { timeout: 15000 }, async () => {
    const p = await clients.connectedPusher({ app });
    const ch = p.subscribe('calm');
    await subscribed(ch);
    const states = [];
    p.connection.bind('state_change', ({ current }) => states.push(current));
    const c = await clients.raw();
    const burst = cases.map(([, text]) => text);
    for (const text of burst) c.sendRaw(text);
    await c.until(() => c.events('pusher:error').length === burst.length, 5000, 'an error per bad message');
    await c.ping();
    assert.deepEqual(states, []);
    assert.equal(p.connection.state, 'connected');
  });

  test(`message of exactly max_message_bytes (${MAX_MESSAGE_BYTES}) is accepted`, { timeout: 15000 }, async () => {
    const c = await clients.raw();
    const base = JSON.stringify({ event: 'pusher:ping', data: { pad: '' } });
    const text = JSON.stringify({ event: 'pusher:ping', data: { pad: 'x'.repeat(MAX_MESSAGE_BYTES - base.length) } });
    assert.equal(Buffer.byteLength(text), MAX_MESSAGE_BYTES);
    c.sendRaw(text);
    await c.next('pusher:pong');
    assert.ok(c.isOpen);
  });

  test('message over max_message_bytes → pusher:error, then close 1009', { timeout: 15000 }, async () => {
    const c = await clients.raw();
    const other = await clients.raw();
    const text = JSON.stringify({ event: 'pusher:ping', data: { pad: 'x'.repeat(MAX_MESSAGE_BYTES * 2) } });
    c.sendRaw(text);
    const close = await c.waitClose();
    assert.equal(close.code, 1009, `close code; frames seen:\n${c.describe()}`);
    const errors = c.events('pusher:error');
    assert.equal(errors.length, 1, `one pusher:error before the close:\n${c.describe()}`);
    assert.equal(typeof dataOf(errors[0]).message, 'string');
    await other.ping();
  });

  test('message over max_message_bytes followed by more frames → still pusher:error and close 1009 (not a reset)', { timeout: 15000 }, async () => {
    // A client that keeps sending after the offending message must still get the error and the
    // close frame, not a TCP reset caused by closing a socket with unread data.
    const c = await clients.raw();
    // The offending message, then more frames in separate writes that reach the server after it.
    c.sendRaw(JSON.stringify({ event: 'pusher:ping', data: { pad: 'x'.repeat(MAX_MESSAGE_BYTES * 2) } }));
    for (let i = 0; i < 200; i++) c.send({ event: 'pusher:ping', data: {} });
    const close = await c.waitClose();
    assert.equal(close.code, 1009, `close code; socket errors: ${c.socketErrors}; frames seen:\n${c.describe()}`);
    assert.equal(c.events('pusher:error').length, 1, `one pusher:error before the close:\n${c.describe()}`);
  });

  test('a connection closed with 4009 while the client keeps sending still gets pusher:error and the close frame', { timeout: 15000 }, async () => {
    const c = await clients.raw();
    const userData = JSON.stringify({ id: '1' });
    c.send({ event: 'pusher:signin', data: { auth: `${app.key}:${'0'.repeat(64)}`, user_data: userData } });
    for (let i = 0; i < 200; i++) c.send({ event: 'pusher:ping', data: {} });
    const close = await c.waitClose();
    assert.equal(close.code, 4009, `close code; socket errors: ${c.socketErrors}; frames seen:\n${c.describe()}`);
    assert.ok(c.events('pusher:error').some((m) => dataOf(m).code === 4009), `pusher:error 4009 before the close:\n${c.describe()}`);
  });

  test('message over max_message_bytes split into fragments → close 1009', { timeout: 15000 }, async () => {
    const c = await clients.raw();
    const chunk = 'x'.repeat(600);
    c.ws.send(chunk, { fin: false });
    c.ws.send(chunk, { fin: false });
    c.ws.send(chunk, { fin: true });
    const close = await c.waitClose();
    assert.equal(close.code, 1009);
  });

  test('invalid UTF-8 in a text frame → close 1007', { timeout: 15000 }, async () => {
    const c = await clients.raw();
    c.sendRaw(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), { binary: false });
    const close = await c.waitClose();
    assert.equal(close.code, 1007);
  });

  test('unmasked client frame (protocol violation) → close 1002', { timeout: 15000 }, async () => {
    const c = await clients.raw();
    // FIN + text opcode, MASK bit clear, 2-byte payload "hi".
    c.ws._socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    const close = await c.waitClose();
    assert.equal(close.code, 1002);
  });

  test('reserved opcode (protocol violation) → close 1002', { timeout: 15000 }, async () => {
    const c = await clients.raw();
    // FIN + opcode 0x3 (reserved), masked, empty payload.
    c.ws._socket.write(Buffer.from([0x83, 0x80, 0x01, 0x02, 0x03, 0x04]));
    const close = await c.waitClose();
    assert.equal(close.code, 1002);
  });
});
