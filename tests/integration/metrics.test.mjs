// GET /metrics: Prometheus's text format for the operators' scraper, behind their credentials
// (as /dashboard): sockets held, WebSocket connections per app, messages, webhooks, engine.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, makeApp } from './lib/server.mjs';
import { Clients, httpRequest, waitFor } from './lib/clients.mjs';
import { operatorsWeb, operatorsHeader, basicAuth, parseMetrics as samples } from './lib/metrics.mjs';

describe('/metrics', () => {
  let server;
  let clients;
  const app = makeApp();

  before(async () => {
    server = await startServer({
      server: { max_connections_total: 50 },
      web: operatorsWeb,
      apps: [app],
    });
    clients = new Clients(server);
  });
  after(async () => {
    await clients?.closeAll();
    if (server) assert.equal(await server.stop(), 0, server.logs());
  });

  const scrape = async () => {
    const res = await httpRequest(server.httpUrl('/metrics'), { headers: { authorization: operatorsHeader() } });
    assert.equal(res.status, 200, res.body);
    return res;
  };

  test('refused without the operators\' credentials', async () => {
    for (const authorization of [undefined, basicAuth(operatorsWeb.dashboard_user, 'wrong')]) {
      const res = await httpRequest(server.httpUrl('/metrics'), { headers: authorization ? { authorization } : {} });
      assert.equal(res.status, 401, res.body);
      assert.match(JSON.parse(res.body).error, /./);
    }
  });

  test('counts sockets, connections per app and messages as they happen', { timeout: 20000 }, async () => {
    const res = await scrape();
    assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
    assert.match(res.body, /# TYPE greendot_sockets_open gauge/);
    assert.match(res.body, /# TYPE greendot_messages_received_total counter/);
    const before = samples(res.body);
    assert.equal(before['greendot_sockets_max'], 50);
    assert.equal(before['greendot_engine_ready'], 1);
    assert.equal(before[`greendot_connections{app="${app.id}"}`], 0);
    assert.equal(before['greendot_sockets_open'], 1, 'the scrape itself');

    const p = clients.pusher();
    const channel = p.subscribe('news');
    await new Promise((resolve) => channel.bind('pusher:subscription_succeeded', resolve));
    const during = samples((await scrape()).body);
    assert.equal(during[`greendot_connections{app="${app.id}"}`], 1);
    assert.equal(during['greendot_sockets_open'], 2, 'the WebSocket and the scrape');
    assert.ok(during['greendot_messages_received_total'] > before['greendot_messages_received_total'], 'the subscribe was received');
    assert.ok(during['greendot_messages_sent_total'] > before['greendot_messages_sent_total'], 'connection_established was sent');

    await clients.closeAll();
    await waitFor(async () => samples((await scrape()).body)['greendot_sockets_open'] === 1, 10000, 'the WebSocket\'s socket given back');
    assert.equal(samples((await scrape()).body)[`greendot_connections{app="${app.id}"}`], 0);
  });
});
