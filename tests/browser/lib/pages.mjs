// A web server for test pages on an origin of their own (not greendot's), playing the
// application: it serves a page that uses greendot.js straight from greendot, and mints the
// page's user tokens.
//
//   const site = await startSite(gd, app);
//   site.page({ user: 'ada', mode: 'sse', context: 'room', watch: ['bob'] })  → a URL

import http from 'node:http';
import { userToken } from './greendot.mjs';

// The page: dots for `watch`, every event of the library in window.events, its pings' times in
// window.pings. Options come in the query string.
const PAGE = `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>greendot.js test page</title>
<style>.presence-dot{display:inline-block;width:10px;height:10px;border-radius:50%;background:#ddd}
.is-online{background:#1db954}.is-away{background:#f2a100}.is-offline{background:#999}</style></head>
<body>
<ul id="people"></ul>
<p id="error" role="alert"></p>
<script type="module">
const q = new URLSearchParams(location.search);
const number = (name) => (q.has(name) ? Number(q.get(name)) : undefined);
window.events = [];
window.pings = [];
window.hiddenAt = null;
document.addEventListener('visibilitychange', () => { window.hiddenAt = document.hidden ? Date.now() : null; });
const realFetch = window.fetch.bind(window);
window.fetch = async (url, init) => {
  if (!String(url).includes('/client/ping')) return realFetch(url, init);
  const ping = { at: Date.now(), body: init?.body, answered: false };
  window.pings.push(ping);
  const response = await realFetch(url, init);
  ping.answered = true;
  return response;
};
for (const id of (q.get('watch') ?? '').split(',').filter(Boolean)) {
  const li = document.createElement('li');
  li.dataset.userId = id;
  li.innerHTML = '<span class="presence-dot"></span> ' + id;
  document.getElementById('people').append(li);
}
let tokens = 0;
try {
  const { Presence } = await import(q.get('gd') + '/greendot.js');
  const presence = new Presence({
    app: q.get('app'),
    context: q.get('context') ?? undefined,
    mode: q.get('mode') ?? 'heartbeat',
    intervalMs: number('interval'),
    refreshMs: number('refresh'),
    idleMs: number('idle'),
    token: async () => {
      tokens += 1;
      window.events.push({ type: 'token', n: tokens });
      const response = await fetch('/token?' + new URLSearchParams({ user: q.get('user'), ttl: q.get('ttl') ?? '600', bad: q.get('badFirst') && tokens === 1 ? '1' : '' }));
      return response.text();
    },
  });
  for (const type of ['online', 'offline', 'updated', 'connection', 'error']) {
    presence.addEventListener(type, (e) => {
      const d = e.detail;
      window.events.push({ type, at: Date.now(), user: d.user?.user_id, online: d.user?.online, status: d.user?.status,
        connected: d.connected, error: d.error?.message, code: d.error?.status, source: d.error?.source });
      if (type === 'error') document.getElementById('error').textContent = d.error.message;
    });
  }
  window.presence = presence.start();
} catch (error) {
  document.getElementById('error').textContent = String(error);
  window.events.push({ type: 'load-error', error: String(error) });
}
</script>
</body></html>`;

export async function startSite(gd, app) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://site');
    if (url.pathname === '/page.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      return res.end(PAGE);
    }
    if (url.pathname === '/token') {
      const user = url.searchParams.get('user');
      const ttlSeconds = Number(url.searchParams.get('ttl'));
      // A token for another app: greendot refuses it (401), as it would a revoked one.
      const token = url.searchParams.get('bad')
        ? userToken(app, user, { ttlSeconds, aud: 'another-app' })
        : userToken(app, user, { ttlSeconds, userInfo: { name: user } });
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' });
      return res.end(token);
    }
    res.writeHead(404).end();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return {
    origin,
    page: (params) => `${origin}/page.html?${new URLSearchParams({ gd: gd.origin, app: app.id, ...params, watch: (params.watch ?? []).join(',') })}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}
