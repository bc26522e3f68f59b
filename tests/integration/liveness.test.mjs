// Liveness: server pings silent clients and drops the ones that do not answer; vanished
// connections leave their presence channels.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, makeApp } from './lib/server.mjs';
import { startAuthEndpoint } from './lib/auth-endpoint.mjs';
import { Clients, presenceAuth, subscribed, waitFor, withTimeout } from './lib/clients.mjs';
import { expectErrorThenClose } from './lib/expect.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

describe('liveness (activity_timeout=2, pong_timeout=1)', () => {
  let server;
  let clients;
  let auth;
  const app = makeApp({ offline_grace_ms: 0 });

  before(async () => {
    server = await startServer({ server: { activity_timeout: 2, pong_timeout: 1 }, apps: [app] });
    clients = new Clients(server);
    auth = await startAuthEndpoint(app);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    await clients?.closeAll();
    await auth?.close();
    if (server) assert.equal(await server.stop(), 0, `greendot exit code\n${server.logs()}`);
  });

  test('a silent client gets pusher:ping, then close 4201 about 3 s after its last frame', { timeout: 20000 }, async () => {
    // autoPong off: the client answers nothing at all, not even WebSocket pings.
    const c = await clients.raw({ autoPong: false });
    const start = c.openedAt;
    const ping = await c.next('pusher:ping', 8000);
    const pingAt = ping.frame.at - start;
    assert.ok(pingAt >= 1750, `pusher:ping came ${pingAt} ms after open, expected after ~2000 ms of silence`);
    const { close } = await expectErrorThenClose(c, 4201, 'Pong reply not received in time', 8000);
    const closeAt = close.at - start;
    assert.ok(closeAt >= 2750, `closed ${closeAt} ms after open: too early (activity 2 s + pong 1 s)`);
    assert.ok(closeAt <= 5500, `closed ${closeAt} ms after open: too late (activity 2 s + pong 1 s + 250 ms checks)`);
    assert.ok(close.at - ping.frame.at >= 900, `closed only ${close.at - ping.frame.at} ms after the ping`);
  });

  test('a client that answers pusher:ping with pusher:pong stays connected', { timeout: 20000 }, async () => {
    const c = await clients.raw({ autoPong: false });
    c.ws.on('message', (data) => {
      const m = JSON.parse(data.toString());
      if (m.event === 'pusher:ping') c.send({ event: 'pusher:pong', data: {} });
    });
    await c.until(() => c.events('pusher:ping').length >= 3, 12000, 'three server pings');
    assert.ok(c.isOpen, `still open after 3 ping rounds; close: ${JSON.stringify(c.closeInfo)}`);
    await c.ping();
  });

  test('a client whose only traffic is WebSocket ping frames counts as alive', { timeout: 20000 }, async () => {
    // "Any frame from the client counts as activity": a client that sends a WebSocket ping every
    // 500 ms is never silent, so it is never dropped.
    const c = await clients.raw({ autoPong: true });
    const timer = setInterval(() => c.isOpen && c.ws.ping('x'), 500);
    try {
      const deadline = Date.now() + 5000;
      await waitFor(() => Date.now() > deadline || !c.isOpen, 7000, 'time to pass');
      assert.ok(c.isOpen, `dropped although active: ${JSON.stringify(c.closeInfo)}\n${c.describe()}`);
    } finally {
      clearInterval(timer);
    }
  });

  test('pusher-js (activity timeout taken from the server) stays connected', { timeout: 20000 }, async () => {
    const p = await clients.connectedPusher();
    const states = [];
    p.connection.bind('state_change', ({ current }) => states.push(current));
    const deadline = Date.now() + 6500;
    await waitFor(() => Date.now() > deadline || states.length > 0, 8000, 'time to pass');
    assert.deepEqual(states, [], 'no state change');
    assert.equal(p.connection.state, 'connected');
  });

  async function observer(channelName) {
    const p = clients.pusher({ auth, user: { id: 'observer', info: { name: 'Observer' } } });
    const ch = p.subscribe(channelName);
    const events = [];
    ch.bind('pusher:member_added', (m) => events.push({ type: 'added', id: m.id, at: Date.now() }));
    ch.bind('pusher:member_removed', (m) => events.push({ type: 'removed', id: m.id, at: Date.now() }));
    await subscribed(ch);
    return { p, ch, events };
  }

  test('a presence member whose socket vanishes without a close frame is removed', { timeout: 20000 }, async () => {
    const channel = 'presence-liveness.destroy';
    const obs = await observer(channel);
    const ghost = await clients.raw();
    const r = await ghost.subscribePresence(app, channel, 'ghost', { name: 'Ghost' });
    assert.equal(r.event, 'pusher_internal:subscription_succeeded');
    await waitFor(() => obs.events.some((e) => e.type === 'added' && e.id === 'ghost'), 5000, 'member_added ghost');
    assert.ok(obs.ch.members.get('ghost'));
    ghost.destroySocket(); // TCP FIN, no WebSocket close frame
    await waitFor(() => obs.events.some((e) => e.type === 'removed' && e.id === 'ghost'), 8000, 'member_removed ghost');
    assert.equal(obs.ch.members.get('ghost'), null);
    assert.equal(obs.ch.members.count, 1);
  });

  test('a presence member in a process killed with SIGKILL is removed', { timeout: 20000 }, async () => {
    const channel = 'presence-liveness.sigkill';
    const obs = await observer(channel);
    const channelData = JSON.stringify({ user_id: 'victim', user_info: { name: 'Victim' } });
    const script = `
      import WebSocket from 'ws';
      import crypto from 'node:crypto';
      const ws = new WebSocket(${JSON.stringify(server.wsUrl(app.key))});
      ws.on('message', (d) => {
        const m = JSON.parse(d.toString());
        if (m.event === 'pusher:connection_established') {
          const sid = JSON.parse(m.data).socket_id;
          const cd = ${JSON.stringify(channelData)};
          const sig = crypto.createHmac('sha256', ${JSON.stringify(app.secret)}).update(sid + ':' + ${JSON.stringify(channel)} + ':' + cd).digest('hex');
          ws.send(JSON.stringify({ event: 'pusher:subscribe', data: { channel: ${JSON.stringify(channel)}, auth: ${JSON.stringify(app.key)} + ':' + sig, channel_data: cd } }));
        } else if (m.event === 'pusher_internal:subscription_succeeded') {
          process.stdout.write('joined\\n');
        }
      });
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: here, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      err += d;
    });
    const exited = new Promise((r) => child.on('exit', r));
    try {
      await waitFor(() => out.includes('joined'), 8000, `child to join (stderr: ${err})`);
      await waitFor(() => obs.events.some((e) => e.type === 'added' && e.id === 'victim'), 5000, 'member_added victim');
      child.kill('SIGKILL');
      await withTimeout(exited, 5000, 'child exit');
      await waitFor(() => obs.events.some((e) => e.type === 'removed' && e.id === 'victim'), 8000, 'member_removed victim');
      assert.equal(obs.ch.members.get('victim'), null);
    } finally {
      child.kill('SIGKILL');
    }
  });

  test('a presence member that stops answering (TCP still open) is dropped by liveness and removed', { timeout: 20000 }, async () => {
    const channel = 'presence-liveness.silent';
    const obs = await observer(channel);
    const mute = await clients.raw({ autoPong: false });
    const channelData = JSON.stringify({ user_id: 'mute', user_info: { name: 'Mute' } });
    const r = await mute.subscribe(channel, { auth: presenceAuth(app, mute.socketId, channel, channelData), channel_data: channelData });
    const lastFrameAt = Date.now();
    assert.equal(r.event, 'pusher_internal:subscription_succeeded');
    await waitFor(() => obs.events.some((e) => e.type === 'added' && e.id === 'mute'), 5000, 'member_added mute');
    await waitFor(() => obs.events.some((e) => e.type === 'removed' && e.id === 'mute'), 9000, 'member_removed mute');
    const removedAt = obs.events.find((e) => e.type === 'removed' && e.id === 'mute').at;
    assert.ok(removedAt - lastFrameAt >= 2750, `removed ${removedAt - lastFrameAt} ms after its last frame: too early`);
    const close = await mute.waitClose(3000);
    assert.equal(close.code, 4201);
    // The observer, which pings on its own, is still there.
    assert.equal(obs.p.connection.state, 'connected');
  });
});
