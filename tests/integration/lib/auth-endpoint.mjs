// The test's own auth endpoint, shaped like Laravel's /broadcasting/auth and /broadcasting/user-auth.
//
// The user of a request comes from the `X-Test-User` header (JSON: {"id": 10 or "10", "info": {...},
// "watchlist"?: [ids] for user authentication})
// ("info": null sends no user_info) or the `user` query parameter (digits become a number, like Laravel's integer auth identifiers).
// Signatures are made by the official `pusher` SDK (authorizeChannel / authenticateUser).
//
//   const auth = await startAuthEndpoint(app, { encryptionMasterKeyBase64 });
//   auth.channelEndpoint   -> http://127.0.0.1:P/broadcasting/auth
//   auth.userEndpoint      -> http://127.0.0.1:P/broadcasting/user-auth
//   auth.refuse = true     -> every request answers 403
//   auth.tamper = (body, req) => body  -> rewrite a successful answer (e.g. break the signature)
//   auth.requests          -> [{path, socket_id, channel_name, user}]

import crypto from 'node:crypto';
import http from 'node:http';
import Pusher from 'pusher';

export function defaultUserInfo(id) {
  return { id, name: `User ${id}` };
}

function userFrom(req, url) {
  const header = req.headers['x-test-user'];
  if (header) {
    const parsed = JSON.parse(header);
    return {
      id: parsed.id,
      info: parsed.info === undefined ? defaultUserInfo(parsed.id) : parsed.info,
      watchlist: parsed.watchlist,
    };
  }
  const q = url.searchParams.get('user');
  if (q !== null) {
    const id = /^\d+$/.test(q) ? Number(q) : q;
    return { id, info: defaultUserInfo(id) };
  }
  return null;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

export function randomMasterKeyBase64() {
  return crypto.randomBytes(32).toString('base64');
}

export async function startAuthEndpoint(app, { encryptionMasterKeyBase64 = randomMasterKeyBase64() } = {}) {
  const pusher = new Pusher({
    appId: app.id,
    key: app.key,
    secret: app.secret,
    host: '127.0.0.1', // never used: only signing happens here
    useTLS: false,
    encryptionMasterKeyBase64,
  });

  const state = {
    refuse: false,
    tamper: null,
    requests: [],
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    const send = (status, obj) => {
      const body = JSON.stringify(obj);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    try {
      if (req.method !== 'POST') return send(405, { message: 'POST only' });
      const contentType = req.headers['content-type'] || '';
      const raw = await readBody(req);
      if (!contentType.startsWith('application/x-www-form-urlencoded')) {
        return send(400, { message: `unexpected content-type ${contentType}` });
      }
      const form = new URLSearchParams(raw);
      const socketId = form.get('socket_id');
      const channel = form.get('channel_name');
      const user = userFrom(req, url);
      state.requests.push({ path: url.pathname, socket_id: socketId, channel_name: channel, user, headers: req.headers });
      if (state.refuse || req.headers['x-test-refuse']) return send(403, { message: 'Forbidden' });

      let body;
      if (url.pathname === '/broadcasting/auth') {
        if (!socketId || !channel) return send(400, { message: 'socket_id and channel_name required' });
        if (channel.startsWith('presence-')) {
          if (!user) return send(403, { message: 'no user' });
          const presenceData = user.info === null ? { user_id: user.id } : { user_id: user.id, user_info: user.info };
          body = pusher.authorizeChannel(socketId, channel, presenceData);
        } else if (channel.startsWith('private-')) {
          if (user === null && req.headers['x-test-require-user']) return send(403, { message: 'no user' });
          body = pusher.authorizeChannel(socketId, channel);
        } else {
          return send(400, { message: `no auth needed for ${channel}` });
        }
      } else if (url.pathname === '/broadcasting/user-auth') {
        if (!socketId) return send(400, { message: 'socket_id required' });
        if (!user) return send(403, { message: 'no user' });
        const userData = { id: String(user.id) };
        if (user.info) userData.user_info = user.info;
        if (user.watchlist) userData.watchlist = user.watchlist;
        body = pusher.authenticateUser(socketId, userData);
      } else {
        return send(404, { message: 'not found' });
      }
      if (state.tamper) body = state.tamper(body, { path: url.pathname, socketId, channel, user });
      return send(200, body);
    } catch (err) {
      return send(500, { message: String(err && err.message) });
    }
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  const base = `http://127.0.0.1:${port}`;

  return Object.assign(state, {
    port,
    pusher,
    encryptionMasterKeyBase64,
    channelEndpoint: `${base}/broadcasting/auth`,
    userEndpoint: `${base}/broadcasting/user-auth`,
    /** The base64 shared secret the SDK derives for an encrypted channel. */
    sharedSecret: (channel) => Buffer.from(pusher.channelSharedSecret(channel)).toString('base64'),
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        if (server.closeAllConnections) server.closeAllConnections();
      });
    },
  });
}
