// Connection limits and running out of file descriptors: every accepted socket holds a slot
// until it closes; one over server.max_connections_total or server.max_connections_per_ip is
// told so (HTTP 503 / 429 with a JSON body, or after a WebSocket upgrade the close codes
// pusher-js acts on: 4100 retry later, 4004 do not), and a server out of descriptors neither
// spins nor floods its log, answers waiting clients, and recovers when descriptors free up.
import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { startServer, makeApp } from './lib/server.mjs';
import { Clients, httpRequest, waitFor } from './lib/clients.mjs';
import { operatorsWeb, operatorsHeader, parseMetrics } from './lib/metrics.mjs';

/** An idle TCP connection (no request): it holds a slot like any other. */
function idle(port, localAddress = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress }, () => resolve(socket));
    socket.on('error', reject);
  });
}

/** One request on a fresh connection from `localAddress`: {status, body} or null when cut off. */
function getFrom(port, path, localAddress = '127.0.0.1', headers = {}) {
  const extra = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`).join('');
  return new Promise((resolve) => {
    let text = '';
    const socket = net.connect({ port, host: '127.0.0.1', localAddress }, () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\n${extra}Connection: close\r\n\r\n`);
    });
    socket.setEncoding('utf8');
    socket.on('data', (d) => {
      text += d;
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      const match = /^HTTP\/1\.1 (\d{3})/.exec(text);
      resolve(match ? { status: Number(match[1]), body: text.slice(text.indexOf('\r\n\r\n') + 4) } : null);
    });
  });
}

/** greendot_sockets_open as /metrics tells it (its own socket included); null when refused. */
async function socketsOpen(port) {
  const answer = await getFrom(port, '/metrics', '127.0.0.9', { Authorization: operatorsHeader() });
  return answer?.status === 200 ? parseMetrics(answer.body).greendot_sockets_open : null;
}

const logLines = (server, pattern) => (server.stdout() + server.stderr()).split('\n').filter((l) => pattern.test(l)).length;

describe('connection limits', () => {
  let server;
  let clients;
  const held = [];
  const app = makeApp();

  before(async () => {
    server = await startServer({
      server: { max_connections_total: 4, max_connections_per_ip: 2 },
      web: operatorsWeb,
      apps: [app],
    });
    clients = new Clients(server);
  });
  afterEach(async () => {
    await clients.closeAll();
    for (const s of held.splice(0)) s.destroy();
    // Every slot is back before the next test: the scrape's own socket is the only one held.
    await waitFor(async () => (await socketsOpen(server.port)) === 1, 10000, 'every slot free');
  });
  after(async () => {
    if (server) assert.equal(await server.stop(), 0, server.logs());
  });

  test('over max_connections_per_ip: HTTP 429 JSON, WebSocket close 4004; other addresses are served', { timeout: 30000 }, async () => {
    held.push(await idle(server.port, '127.0.0.2'), await idle(server.port, '127.0.0.2'));
    const refused = await getFrom(server.port, '/health', '127.0.0.2');
    assert.equal(refused?.status, 429, JSON.stringify(refused));
    assert.match(JSON.parse(refused.body).error, /Too many connections from your address/);
    const ws = clients.rawUrl(server.wsUrl(), { wsOptions: { localAddress: '127.0.0.2' } });
    const close = await ws.waitClose(10000);
    assert.equal(close.code, 4004, JSON.stringify(close));
    assert.ok(ws.events('pusher:error').some((m) => m.data?.code === 4004), 'pusher:error 4004 before the close');
    // Another address is not affected.
    const other = await clients.raw({ wsOptions: { localAddress: '127.0.0.3' } });
    assert.ok(other.socketId);
    assert.match(server.stdout() + server.stderr(), /127\.0\.0\.2 has server\.max_connections_per_ip \(2\) open/);
  });

  test('over max_connections_total: HTTP 503 JSON, WebSocket close 4100; a closed socket frees its slot', { timeout: 30000 }, async () => {
    for (const address of ['127.0.0.4', '127.0.0.4', '127.0.0.5', '127.0.0.5']) held.push(await idle(server.port, address));
    const refused = await getFrom(server.port, '/health', '127.0.0.6');
    assert.equal(refused?.status, 503, JSON.stringify(refused));
    assert.match(JSON.parse(refused.body).error, /connection limit/);
    const ws = clients.rawUrl(server.wsUrl(), { wsOptions: { localAddress: '127.0.0.6' } });
    const close = await ws.waitClose(10000);
    assert.equal(close.code, 4100, JSON.stringify(close));
    held.shift().destroy();
    await waitFor(async () => (await getFrom(server.port, '/health', '127.0.0.6'))?.status === 200, 10000, 'the freed slot to be usable');
  });
});

describe('out of file descriptors', () => {
  let server;
  const sockets = [];

  before(async () => {
    // 64 descriptors, and limits beyond them, so that accept itself fails with EMFILE.
    server = await startServer({
      server: { threads: 1, max_connections_total: 100000, max_connections_per_ip: 0 },
      apps: [makeApp()],
      launcher: ['prlimit', '--nofile=64:64'],
    });
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    if (server) assert.equal(await server.stop(), 0, server.logs());
  });

  test('accepts pause instead of spinning, the log says so once a second, and the server recovers', { timeout: 60000 }, async () => {
    const failures = /accept failed/;
    // Idle connections until the server has no descriptor left (the kernel still completes
    // connections into the backlog, so connecting alone succeeds).
    while (logLines(server, failures) === 0) {
      sockets.push(await idle(server.port));
      assert.ok(sockets.length < 200, `no accept failure after ${sockets.length} connections\n${server.logs()}`);
    }
    const stat = () => fs.readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ');
    const cpuTicks = () => Number(stat()[11]) + Number(stat()[12]); // utime + stime
    const ticksBefore = cpuTicks();
    // A client arriving now is answered (503, through the reserve descriptor), not left hanging.
    const waiting = await getFrom(server.port, '/health');
    assert.equal(waiting?.status, 503, JSON.stringify(waiting));
    assert.match(JSON.parse(waiting.body).error, /out of file descriptors/);
    // Three reports: at least two seconds of saturation.
    await waitFor(() => logLines(server, failures) >= 3, 20000, 'three reports of failing accepts');
    const reports = logLines(server, failures);
    assert.ok(reports <= 5, `${reports} log lines about failing accepts: one per second is expected\n${server.logs()}`);
    // A spinning acceptor burns a core: about 100 ticks a second over the 2+ seconds.
    const ticks = cpuTicks() - ticksBefore;
    assert.ok(ticks < 100, `${ticks} CPU ticks while saturated`);
    for (const s of sockets.splice(0)) s.destroy();
    await waitFor(async () => (await getFrom(server.port, '/health'))?.status === 200, 15000, 'the server to accept again');
    await waitFor(() => /accepting connections again/.test(server.stdout() + server.stderr()), 5000, 'the recovery to be logged');
  });
});
