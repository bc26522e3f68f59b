// HTTP/1.1 message framing on the plain HTTP side: an answer to HEAD has a head and no body
// (a proxy that keeps the connection alive would read a body as the start of the next answer),
// and a request whose body cannot be delimited is refused and the connection closed, as
// RFC 9112 §6.1 says (chunked must be the final transfer coding; any other coding is 501).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, makeApp } from './lib/server.mjs';
import { waitFor } from './lib/clients.mjs';

/** A TCP client that keeps every byte it receives, as text. */
class Wire {
  constructor(port) {
    this.text = '';
    this.closed = false;
    this.socket = net.connect(port, '127.0.0.1');
    this.socket.setEncoding('latin1');
    this.socket.on('data', (d) => {
      this.text += d;
    });
    this.socket.on('close', () => {
      this.closed = true;
    });
    this.socket.on('error', () => {});
  }

  send(text) {
    this.socket.write(text);
  }

  /** The status lines received so far. */
  statuses() {
    return [...this.text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
  }

  end() {
    this.socket.destroy();
  }
}

/** Splits `text` at its first blank line: head and what follows. */
function splitHead(text) {
  const end = text.indexOf('\r\n\r\n');
  assert.ok(end >= 0, `no complete head in ${JSON.stringify(text)}`);
  const head = text.slice(0, end);
  const headers = {};
  for (const line of head.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(head.split(' ')[1]), headers, rest: text.slice(end + 4) };
}

const request = (method, path, extra = '') => `${method} ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}\r\n`;

describe('HTTP framing', () => {
  let server;
  const app = makeApp();

  before(async () => {
    server = await startServer({ apps: [app] });
  });
  after(async () => {
    await server?.stop();
  });

  for (const path of ['/health', '/no-such-path', `/apps/${app.id}/channels`]) {
    test(`HEAD ${path}: the head of the GET answer, no body; the next answer follows directly`, { timeout: 15000 }, async () => {
      const c = new Wire(server.port);
      c.send(request('HEAD', path) + request('GET', '/health'));
      await waitFor(() => c.statuses().length >= 2 && c.text.endsWith('}'), 5000, 'two answers');
      const head = splitHead(c.text);
      assert.ok(Number(head.headers['content-length']) > 0, 'Content-Length says what a GET would get');
      // The bytes after the HEAD answer's head are the next answer, not a body.
      assert.ok(head.rest.startsWith('HTTP/1.1 200 '), `after the HEAD answer: ${JSON.stringify(head.rest.slice(0, 80))}`);
      const next = splitHead(head.rest);
      assert.deepEqual(JSON.parse(next.rest), { status: 'ok' });
      assert.equal(c.closed, false, 'the connection stays usable');
      c.end();
    });
  }

  test('"Transfer-Encoding: chunked, identity" is refused with 400 and the connection closed; its body is never taken for a request', { timeout: 15000 }, async () => {
    const c = new Wire(server.port);
    const smuggled = request('GET', '/health');
    c.send(request('POST', `/apps/${app.id}/events`, 'Content-Type: application/json\r\nTransfer-Encoding: chunked, identity\r\n') + smuggled);
    await waitFor(() => c.closed, 5000, 'the server to close the connection');
    assert.deepEqual(c.statuses(), [400], `only the refusal is answered:\n${c.text}`);
    const answer = splitHead(c.text);
    assert.match(JSON.parse(answer.rest).error, /Transfer-Encoding must end with chunked/);
  });

  test('another transfer coding before chunked is 501 and the connection closed', { timeout: 15000 }, async () => {
    const c = new Wire(server.port);
    c.send(request('POST', `/apps/${app.id}/events`, 'Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n') + '0\r\n\r\n' + request('GET', '/health'));
    await waitFor(() => c.closed, 5000, 'the server to close the connection');
    assert.deepEqual(c.statuses(), [501], c.text);
    assert.match(JSON.parse(splitHead(c.text).rest).error, /gzip is not supported/);
  });

  test('a Transfer-Encoding split over two lines counts as one list', { timeout: 15000 }, async () => {
    const c = new Wire(server.port);
    c.send(request('POST', `/apps/${app.id}/events`, 'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n') + request('GET', '/health'));
    await waitFor(() => c.closed, 5000, 'the server to close the connection');
    assert.deepEqual(c.statuses(), [400], c.text);
  });
});
