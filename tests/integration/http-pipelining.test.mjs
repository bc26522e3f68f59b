// HTTP/1.1 pipelining on the server's plain HTTP side (REST, heartbeats, health): requests
// sent back to back on one connection are all answered, in order, and a partly received
// request never holds back the answers to the complete ones before it.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, makeApp } from './lib/server.mjs';
import { userToken } from './lib/signing.mjs';

/** A raw TCP client that splits what it receives into HTTP responses (Content-Length bodies). */
class RawHttp {
  constructor(port) {
    this.socket = net.connect(port, '127.0.0.1');
    this.received = Buffer.alloc(0);
    this.responses = [];
    this.waiters = [];
    this.closed = false;
    this.socket.on('data', (chunk) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.split();
    });
    this.socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    this.socket.on('error', () => {});
  }

  connected() {
    return new Promise((resolve, reject) => {
      this.socket.once('connect', resolve);
      this.socket.once('error', reject);
    });
  }

  split() {
    for (;;) {
      const end = this.received.indexOf('\r\n\r\n');
      if (end < 0) break;
      const head = this.received.subarray(0, end).toString('latin1');
      const [statusLine, ...lines] = head.split('\r\n');
      const headers = {};
      for (const line of lines) {
        const colon = line.indexOf(':');
        headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      const length = Number(headers['content-length'] ?? 0);
      if (this.received.length < end + 4 + length) break;
      const body = this.received.subarray(end + 4, end + 4 + length).toString('utf8');
      this.received = this.received.subarray(end + 4 + length);
      this.responses.push({ status: Number(statusLine.split(' ')[1]), headers, body });
    }
    this.wake();
  }

  wake() {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  /** Resolves with the first `n` responses (or rejects after `ms`). */
  async take(n, ms = 5000) {
    const deadline = Date.now() + ms;
    while (this.responses.length < n) {
      if (this.closed) throw new Error(`connection closed after ${this.responses.length} of ${n} responses`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`only ${this.responses.length} of ${n} responses in ${ms} ms`);
      await new Promise((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.responses.splice(0, n);
  }

  async closedWithin(ms) {
    const deadline = Date.now() + ms;
    while (!this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return this.closed;
  }

  send(text) {
    this.socket.write(text);
  }

  end() {
    this.socket.destroy();
  }
}

const get = (path, extra = '') => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;

describe('HTTP pipelining', () => {
  let server;
  const app = makeApp({ offline_grace_ms: 0 });

  before(async () => {
    server = await startServer({ apps: [app] });
  });
  after(async () => {
    await server?.stop();
  });

  const tokenPing = (user) => {
    const body = JSON.stringify({ contexts: ['room-1'] });
    return (
      `POST /apps/${app.id}/client/ping HTTP/1.1\r\nHost: localhost\r\n` +
      `Authorization: Bearer ${userToken(app, user)}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
    );
  };

  test('requests sent in one write are all answered, in order', { timeout: 15000 }, async () => {
    const c = new RawHttp(server.port);
    await c.connected();
    c.send(get('/health') + get('/no-such-path') + tokenPing('piped-1') + get(`/apps/${app.id}/channels`) + tokenPing('piped-2'));
    const [health, missing, ping1, unsigned, ping2] = await c.take(5);
    assert.equal(health.status, 200);
    assert.deepEqual(JSON.parse(health.body), { status: 'ok' });
    assert.equal(missing.status, 404);
    assert.match(JSON.parse(missing.body).error, /no-such-path/);
    assert.equal(ping1.status, 200, ping1.body);
    assert.ok(JSON.parse(ping1.body).ttl_ms > 0, ping1.body);
    assert.equal(unsigned.status, 401, unsigned.body);
    assert.ok(JSON.parse(unsigned.body).error, unsigned.body);
    assert.equal(ping2.status, 200, ping2.body);
    assert.equal(c.closed, false, 'the connection stays open for more');
    c.send(get('/health'));
    const [again] = await c.take(1);
    assert.equal(again.status, 200);
    c.end();
  });

  test('a complete request is answered while the next one is still arriving', { timeout: 15000 }, async () => {
    const c = new RawHttp(server.port);
    await c.connected();
    const second = tokenPing('half-sent');
    const cut = second.indexOf('\r\n\r\n') + 6; // headers and part of the body
    c.send(get('/health') + second.slice(0, cut));
    const [first] = await c.take(1);
    assert.equal(first.status, 200, 'the first answer must not wait for the rest of the second request');
    c.send(second.slice(cut));
    const [ping] = await c.take(1);
    assert.equal(ping.status, 200, ping.body);
    c.end();
  });

  test('a pipelined "Connection: close" request is answered last, then the server closes', { timeout: 15000 }, async () => {
    const c = new RawHttp(server.port);
    await c.connected();
    c.send(get('/health') + get('/health', 'Connection: close\r\n') + get('/health'));
    const answers = await c.take(2);
    assert.deepEqual(answers.map((a) => a.status), [200, 200]);
    assert.equal(answers[1].headers.connection, 'close');
    assert.ok(await c.closedWithin(3000), 'the server closes after the close request');
    assert.equal(c.responses.length, 0, 'nothing is answered after it');
  });

  test('garbage after pipelined requests: the good ones are answered, then 400 and close', { timeout: 15000 }, async () => {
    const c = new RawHttp(server.port);
    await c.connected();
    c.send(get('/health') + get('/health') + 'NOT HTTP AT ALL\r\n\r\n');
    const answers = await c.take(3);
    assert.deepEqual(answers.map((a) => a.status), [200, 200, 400]);
    assert.match(JSON.parse(answers[2].body).error, /Malformed HTTP request/);
    assert.ok(await c.closedWithin(3000));
  });

  test('many pipelined heartbeats on one connection all count', { timeout: 15000 }, async () => {
    const c = new RawHttp(server.port);
    await c.connected();
    const users = Array.from({ length: 200 }, (_, i) => `bulk-${i}`);
    c.send(users.map((u) => tokenPing(u)).join(''));
    const answers = await c.take(users.length);
    assert.ok(answers.every((a) => a.status === 200), JSON.stringify(answers.find((a) => a.status !== 200)));
    // Every one of them made its user online.
    c.send(get(`/apps/${app.id}/client/users?ids=${users.join(',')}`, `Authorization: Bearer ${userToken(app, 'observer')}\r\n`));
    const [listing] = await c.take(1);
    assert.equal(listing.status, 200, listing.body);
    const online = Object.entries(JSON.parse(listing.body).users).filter(([, u]) => u.online);
    assert.equal(online.length, users.length, listing.body.slice(0, 300));
    c.end();
  });
});
