// Every wait of an HTTP connection has a deadline, server.http_timeout_ms: a client that sends
// its request too slowly, or pipelines requests and never reads the answers, is disconnected
// once it passes, and the server goes on serving everyone else.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServer, makeApp } from './lib/server.mjs';
import { httpRequest, waitFor } from './lib/clients.mjs';

const get = (path) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\n\r\n`;

function connect(port) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('HTTP deadlines', () => {
  let server;

  before(async () => {
    // A short timeout, so that the test does not wait the default 30 s.
    server = await startServer({ server: { http_timeout_ms: 1000 }, apps: [makeApp()] });
  });
  after(async () => {
    await server?.stop();
  });

  test('a client that pipelines requests and never reads its answers is disconnected', { timeout: 30000 }, async () => {
    const socket = await connect(server.port);
    socket.pause(); // never read: the answers fill the kernel buffers, then the server's write waits
    let closed = false;
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', () => {}); // the server's close is a reset: our requests are left unread
    // 16 MB of requests (more than both sockets' buffers hold of requests and answers), in one
    // write that stays pending while the server does not read: the reset ends it.
    socket.write(get('/health').repeat(Math.ceil((16 << 20) / get('/health').length)));
    await waitFor(() => closed, 20000, 'the server to drop the client that does not read');
    const health = await httpRequest(server.httpUrl('/health'));
    assert.equal(health.status, 200, 'the server serves others');
  });

  test('a request that does not arrive within the timeout ends the connection', { timeout: 30000 }, async () => {
    const socket = await connect(server.port);
    let closed = false;
    socket.on('close', () => {
      closed = true;
    });
    socket.on('error', () => {});
    socket.write('GET /health HTTP/1.1\r\nHost: loc'); // and nothing more
    await waitFor(() => closed, 20000, 'the server to close the connection');
  });
});
