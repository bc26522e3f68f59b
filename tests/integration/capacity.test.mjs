// Slow consumers: a connection that does not read is closed with 4100 "Over capacity" once its
// outbound queue passes max_outbound_bytes, and nobody else suffers for it. Its socket is closed
// as soon as the close frame is written (or after a short bound), not at the liveness timeout.

import { describe, test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { startServer, makeApp } from './lib/server.mjs';
import { Clients, waitFor } from './lib/clients.mjs';
import { assertSucceededPlain } from './lib/expect.mjs';

describe('slow consumers', () => {
  let server;
  let clients;
  const app = makeApp({ client_events_per_second: 10000 });

  before(async () => {
    server = await startServer({ server: { max_outbound_bytes: 1024 * 1024, max_message_bytes: 10240 }, apps: [app] });
    clients = new Clients(server);
  });
  afterEach(() => clients.closeAll());
  after(async () => {
    await clients?.closeAll();
    if (server) assert.equal(await server.stop(), 0, `greendot exit code\n${server.logs()}`);
  });

  test('a subscriber that stops reading is closed with 4100 "Over capacity"; sender and others carry on', { timeout: 60000 }, async () => {
    const channel = 'private-firehose';
    const sender = await clients.raw();
    const slow = await clients.raw();
    const healthy = await clients.raw();
    for (const c of [sender, slow, healthy]) assertSucceededPlain(await c.subscribePrivate(app, channel), channel);

    slow.ws._socket.pause(); // stop reading: the kernel buffers fill up, then the server's queue
    const dropLogged = () => /closing connection \S+ with 4100/.test(server.stdout() + server.stderr());
    let resumed = false;
    const payload = 'x'.repeat(8000);
    const refused = () => sender.events('pusher:error').length; // rate-limited ones, if the sender is too fast
    const accounted = () => healthy.events('client-bulk').length + refused();
    let sent = 0;
    // 4000 events of 8 KB (32 MB): far beyond any loopback socket buffers. Paced in rounds of 32
    // (256 KB, well under max_outbound_bytes) so that the healthy receiver keeps up and only the
    // paused one falls behind.
    while (sent < 4000) {
      sender.send({ event: 'client-bulk', channel, data: { i: sent, payload } });
      sent++;
      // Once dropped, the slow consumer reads again, in time to get the close frame that the
      // server writes as soon as there is room (it does not wait long for a peer that never
      // reads).
      if (!resumed && dropLogged()) {
        slow.ws._socket.resume();
        resumed = true;
      }
      if (sent % 32 === 0) {
        await waitFor(
          () => accounted() >= sent || !healthy.isOpen,
          20000,
          `healthy receiver to get ${sent} events (has ${healthy.events('client-bulk').length}, refused ${refused()})`,
        );
        assert.ok(healthy.isOpen, `healthy receiver closed: ${JSON.stringify(healthy.closeInfo)}`);
      }
    }
    assert.ok(resumed, `the slow consumer was dropped while the sender sent\n${server.logs()}`);
    const close = await slow.waitClose(20000);
    assert.equal(close.code, 4100, `slow consumer close; frames seen: ${slow.frames.length}; socket errors: ${slow.socketErrors}`);
    const overflowError = slow.events('pusher:error').find((m) => m.data?.code === 4100);
    assert.ok(overflowError, 'pusher:error 4100 before the close');
    assert.ok(slow.events('client-bulk').length < sent, 'the slow consumer did not get everything');
    // The operator is told, once, which connection was dropped and why.
    const drops = (server.stdout() + server.stderr()).match(/closing connection \S+ with 4100: more than max_outbound_bytes \(1048576\) queued/g) ?? [];
    assert.equal(drops.length, 1, `one log line for the dropped connection\n${server.logs()}`);
    // The sender and the healthy receiver are fine.
    assert.ok(sender.isOpen);
    await sender.ping(10000);
    for (const m of sender.events('pusher:error')) assert.equal(m.data.code, 4301, `only rate-limit errors at the sender: ${JSON.stringify(m)}`);
    assert.equal(accounted(), sent);
    // docs/protocol.md: closed with 4100 "Over capacity".
    assert.equal(close.reason, 'Over capacity');
    assert.ok(healthy.isOpen);
  });

  describe('with liveness timeouts of minutes', () => {
    let patient;
    let patientClients;
    const patientApp = makeApp({ client_events_per_second: 10000 });
    before(async () => {
      patient = await startServer({ server: { activity_timeout: 600, pong_timeout: 600, max_outbound_bytes: 256 * 1024 }, apps: [patientApp] });
      patientClients = new Clients(patient);
    });
    afterEach(() => patientClients.closeAll());
    after(async () => {
      await patientClients?.closeAll();
      if (patient) assert.equal(await patient.stop(), 0, `greendot exit code\n${patient.logs()}`);
    });

    test('a consumer dropped with 4100 that never reads loses its socket at once, not at the liveness timeout', { timeout: 60000 }, async () => {
      const channel = 'private-flood';
      const openDescriptors = () => fs.readdirSync(`/proc/${patient.pid}/fd`).length;
      const sender = await patientClients.raw();
      assertSucceededPlain(await sender.subscribePrivate(patientApp, channel), channel);
      const before = openDescriptors();
      const slow = await patientClients.raw();
      assertSucceededPlain(await slow.subscribePrivate(patientApp, channel), channel);
      assert.equal(openDescriptors(), before + 1, 'the slow consumer holds one descriptor');
      slow.ws._socket.pause(); // and never reads again
      const dropped = () => /closing connection \S+ with 4100/.test(patient.stdout() + patient.stderr());
      const payload = 'z'.repeat(8000);
      for (let i = 0; !dropped(); i++) {
        sender.send({ event: 'client-flood', channel, data: { i, payload } });
        if (i % 32 === 31) await sender.ping(10000); // paced: the sender's own reads keep up
        assert.ok(i < 20000, `no 4100 after ${i} events of 8 KB\n${patient.logs()}`);
      }
      // With liveness timeouts of 10 minutes, only the prompt close can free it in time.
      await waitFor(() => openDescriptors() === before, 30000, `the dropped consumer's socket to be closed (${openDescriptors()} descriptors, ${before} before it)`);
      assert.ok(sender.isOpen);
      await sender.ping();
    });
  });

  describe('with a small max_outbound_bytes (64 KB)', () => {
    let small;
    let smallClients;
    const smallApp = makeApp({ client_events_per_second: 10000 });
    before(async () => {
      small = await startServer({ server: { max_outbound_bytes: 64 * 1024 }, apps: [smallApp] });
      smallClients = new Clients(small);
    });
    afterEach(() => smallClients.closeAll());
    after(async () => {
      await smallClients?.closeAll();
      if (small) assert.equal(await small.stop(), 0, `greendot exit code\n${small.logs()}`);
    });

    test('a receiver overrun by a burst is closed with pusher:error 4100 and close 4100, never a bare 1006', { timeout: 30000 }, async () => {
      // Whether a reading receiver falls behind a burst depends on scheduling; what must hold is
      // that it either gets everything or is told why it is dropped. 200 x 8 KB against a 64 KB
      // queue makes the overrun very likely.
      const channel = 'private-burst';
      const N = 200;
      const sender = await smallClients.raw();
      const receiver = await smallClients.raw();
      for (const c of [sender, receiver]) assertSucceededPlain(await c.subscribePrivate(smallApp, channel), channel);
      const payload = 'y'.repeat(8000);
      for (let i = 0; i < N; i++) sender.send({ event: 'client-burst', channel, data: { i, payload } });
      await receiver.until(() => receiver.closeInfo || receiver.events('client-burst').length === N, 20000, 'all events or a close');
      if (receiver.closeInfo) {
        assert.equal(receiver.closeInfo.code, 4100, `close; socket errors: ${receiver.socketErrors}; events received: ${receiver.events('client-burst').length}`);
        assert.ok(receiver.events('pusher:error').some((m) => m.data?.code === 4100), 'pusher:error 4100 before the close');
      }
      await sender.ping();
    });
  });
});
