// Clients used by the tests: pusher-js (node build), Laravel Echo on top of it, and a raw `ws`
// client that records every frame, plus small waiting and signing helpers.

import crypto from 'node:crypto';
import Pusher from 'pusher-js';
import Echo from 'laravel-echo';
import WebSocket from 'ws';

export { Pusher, Echo, WebSocket };

if (process.env.PUSHER_LOG) {
  Pusher.logToConsole = true;
}

// pusher-js's node build uses faye-websocket, whose close() arms a 30 s close timer even on a socket
// that is already closed (pusher-js does that after a 4000-4099 "refused" close). The timer only
// keeps the test process alive for 30 s after the tests are done; unref it.
{
  const FayeClient = Pusher.Runtime.getWebSocketAPI();
  const close = FayeClient.prototype.close;
  FayeClient.prototype.close = function patchedClose(...args) {
    const result = close.apply(this, args);
    this._closeTimer?.unref?.();
    return result;
  };
}

// ---------------------------------------------------------------------------------------------
// Waiting

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the first truthy value of `predicate()`, polled every 10 ms; rejects after `ms`. */
export async function waitFor(predicate, ms = 5000, label = 'condition') {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${label}`);
    await sleep(10);
  }
}

/** Rejects with a labelled error if `promise` does not settle within `ms`. */
export function withTimeout(promise, ms, label = 'operation') {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${label}`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------------------------------------
// Signatures (hand-computed, independent of the pusher SDK)

export const hmac = (secret, text) => crypto.createHmac('sha256', secret).update(text).digest('hex');

export const privateAuth = (app, socketId, channel) => `${app.key}:${hmac(app.secret, `${socketId}:${channel}`)}`;

export const presenceAuth = (app, socketId, channel, channelData) =>
  `${app.key}:${hmac(app.secret, `${socketId}:${channel}:${channelData}`)}`;

export const userAuth = (app, socketId, userData) => `${app.key}:${hmac(app.secret, `${socketId}::user::${userData}`)}`;

/** `data` of a frame, parsed when it is a JSON string (as pusher-js does). */
export function dataOf(msg) {
  if (typeof msg.data === 'string') {
    try {
      return JSON.parse(msg.data);
    } catch {
      return msg.data;
    }
  }
  return msg.data;
}

// ---------------------------------------------------------------------------------------------
// Cleanup tracking: everything created through a Clients instance is closed by closeAll().

export class Clients {
  constructor(server) {
    this.server = server;
    this.all = [];
  }

  track(c) {
    this.all.push(c);
    return c;
  }

  async closeAll() {
    const list = this.all.splice(0);
    await Promise.all(
      list.map(async (c) => {
        try {
          if (c instanceof RawClient) c.terminate();
          else if (c instanceof Echo) c.disconnect();
          else if (c && c.connection) c.disconnect();
        } catch {
          // ignore
        }
      }),
    );
  }

  /** A raw client that has received pusher:connection_established. */
  async raw(opts = {}) {
    const app = opts.app ?? this.server.app(0);
    const url = opts.url ?? this.server.wsUrl(app.key, opts.query);
    const c = this.track(new RawClient(url, opts));
    await c.opened;
    if (opts.established !== false) await c.established(opts.establishedMs);
    return c;
  }

  /** A raw client on an arbitrary URL; does not wait for anything. */
  rawUrl(url, opts = {}) {
    return this.track(new RawClient(url, opts));
  }

  /**
   * A pusher-js client. `user` is sent to the test auth endpoint as X-Test-User ({id, info}).
   */
  pusher(opts = {}) {
    const app = opts.app ?? this.server.app(0);
    const headers = { ...(opts.headers ?? {}) };
    if (opts.user !== undefined) headers['X-Test-User'] = JSON.stringify(opts.user);
    const options = {
      cluster: 'mt1',
      wsHost: '127.0.0.1',
      wsPort: this.server.port,
      forceTLS: false,
      enabledTransports: ['ws'],
      disableStats: true,
      ...(opts.auth
        ? {
            channelAuthorization: { endpoint: opts.auth.channelEndpoint, transport: 'ajax', headers },
            userAuthentication: { endpoint: opts.auth.userEndpoint, transport: 'ajax', headers },
          }
        : {}),
      ...(opts.options ?? {}),
    };
    return this.track(new Pusher(opts.key ?? app.key, options));
  }

  /** A pusher-js client that is connected. */
  async connectedPusher(opts = {}) {
    const p = this.pusher(opts);
    await connected(p);
    return p;
  }

  /**
   * Laravel Echo the way a Laravel app configures it (broadcaster 'pusher', authEndpoint, auth.headers),
   * with the pusher-js class passed in as `Pusher`.
   */
  echo(opts = {}) {
    const app = opts.app ?? this.server.app(0);
    const headers = {};
    if (opts.user !== undefined) headers['X-Test-User'] = JSON.stringify(opts.user);
    const echo = new Echo({
      broadcaster: 'pusher',
      Pusher,
      key: app.key,
      cluster: 'mt1',
      wsHost: '127.0.0.1',
      wsPort: this.server.port,
      forceTLS: false,
      enabledTransports: ['ws'],
      disableStats: true,
      authEndpoint: opts.auth?.channelEndpoint,
      auth: { headers },
      userAuthentication: { endpoint: opts.auth?.userEndpoint, headers },
      ...(opts.options ?? {}),
    });
    return this.track(echo);
  }
}

// ---------------------------------------------------------------------------------------------
// pusher-js helpers

/** Resolves when the pusher-js client is `connected`; rejects if it ends `failed`/`unavailable`/`disconnected`. */
export function connected(pusher, ms = 5000) {
  if (pusher.connection.state === 'connected') return Promise.resolve(pusher.connection.socket_id);
  return withTimeout(
    new Promise((resolve, reject) => {
      const onChange = ({ current }) => {
        if (current === 'connected') {
          pusher.connection.unbind('state_change', onChange);
          resolve(pusher.connection.socket_id);
        } else if (current === 'failed' || current === 'unavailable' || current === 'disconnected') {
          pusher.connection.unbind('state_change', onChange);
          reject(new Error(`pusher-js connection went ${current}`));
        }
      };
      pusher.connection.bind('state_change', onChange);
    }),
    ms,
    'pusher-js to connect',
  );
}

/** Resolves with the subscription_succeeded payload, rejects with the subscription_error payload. */
export function subscribed(channel, ms = 5000) {
  if (channel.subscribed) return Promise.resolve(channel.members ?? {});
  return withTimeout(
    new Promise((resolve, reject) => {
      const ok = (data) => {
        cleanup();
        resolve(data);
      };
      const fail = (err) => {
        cleanup();
        const e = new Error(`subscription to ${channel.name} failed: ${JSON.stringify(err)}`);
        e.data = err;
        reject(e);
      };
      const cleanup = () => {
        channel.unbind('pusher:subscription_succeeded', ok);
        channel.unbind('pusher:subscription_error', fail);
      };
      channel.bind('pusher:subscription_succeeded', ok);
      channel.bind('pusher:subscription_error', fail);
    }),
    ms,
    `subscription to ${channel.name}`,
  );
}

/** Resolves with the payload of the pusher:subscription_error of `channel`. */
export function subscriptionError(channel, ms = 5000) {
  return withTimeout(
    new Promise((resolve, reject) => {
      channel.bind('pusher:subscription_error', (err) => resolve(err));
      channel.bind('pusher:subscription_succeeded', () =>
        reject(new Error(`expected subscription to ${channel.name} to fail, it succeeded`)),
      );
    }),
    ms,
    `subscription error on ${channel.name}`,
  );
}

/** Records every event a pusher-js channel emits (bind_global), for later assertions. */
export function recordChannel(channel) {
  const events = [];
  channel.bind_global((event, data) => events.push({ event, data }));
  return events;
}

// ---------------------------------------------------------------------------------------------
// Raw WebSocket client

export class RawClient {
  constructor(url, opts = {}) {
    this.url = url;
    this.frames = []; // {msg, raw, at}
    this.pongs = []; // payloads of WebSocket pong frames
    this.pings = []; // payloads of WebSocket ping frames
    this.closeInfo = null; // {code, reason, at}
    this.unexpectedResponse = null; // {status, headers, body}
    this.errors = [];
    this.socketErrors = [];
    this.cursor = 0;
    this.waiters = new Set();
    this.ws = new WebSocket(url, { autoPong: opts.autoPong ?? true, handshakeTimeout: 5000, ...(opts.wsOptions ?? {}) });
    this.openedAt = null;
    let rejectOpened;
    this.opened = new Promise((resolve, reject) => {
      rejectOpened = reject;
      this.ws.once('open', () => {
        this.openedAt = Date.now();
        // ws swallows socket errors; keep them (e.g. ECONNRESET) for diagnostics.
        this.ws._socket.on('error', (e) => this.socketErrors.push(e.code || String(e)));
        resolve();
      });
      this.ws.once('close', (code, reason) => reject(new Error(`closed before open: ${code} ${reason}`)));
      this.ws.once('error', (e) => reject(e));
    });
    this.opened.catch(() => {});
    let resolveClosed;
    this.closed = new Promise((resolve) => {
      resolveClosed = resolve;
    });
    this.ws.on('close', (code, reason) => {
      if (!this.closeInfo) this.closeInfo = { code, reason: reason.toString('utf8'), at: Date.now() };
      resolveClosed(this.closeInfo);
    });
    // A non-101 answer to the upgrade: keep status and body, count it as a close with 1006.
    this.ws.on('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        body += d;
      });
      res.on('end', () => {
        this.unexpectedResponse = { status: res.statusCode, headers: res.headers, body };
        this.closeInfo = { code: 1006, reason: '', at: Date.now() };
        rejectOpened(new Error(`upgrade answered HTTP ${res.statusCode}: ${body}`));
        resolveClosed(this.closeInfo);
        this._notify();
        req.destroy();
      });
    });
    this.ws.on('error', (e) => this.errors.push(e));
    this.ws.on('message', (data, isBinary) => {
      const raw = isBinary ? data : data.toString('utf8');
      let msg;
      try {
        msg = isBinary ? { binary: true } : JSON.parse(raw);
      } catch {
        msg = { unparsable: raw };
      }
      this.frames.push({ msg, raw, at: Date.now() });
      this._notify();
    });
    this.ws.on('pong', (d) => {
      this.pongs.push(d.toString('utf8'));
      this._notify();
    });
    this.ws.on('ping', (d) => {
      this.pings.push(d.toString('utf8'));
      this._notify();
    });
    this.ws.on('close', () => this._notify());
  }

  _notify() {
    for (const w of [...this.waiters]) w();
  }

  get isOpen() {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** All parsed messages so far. */
  get messages() {
    return this.frames.map((f) => f.msg);
  }

  events(name) {
    return this.messages.filter((m) => m.event === name);
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  sendRaw(data, opts) {
    this.ws.send(data, opts);
  }

  /** Waits until `check()` returns truthy (re-checked on every frame/close). */
  until(check, ms = 5000, label = 'condition') {
    const v = check();
    if (v) return Promise.resolve(v);
    return new Promise((resolve, reject) => {
      const w = () => {
        let r;
        try {
          r = check();
        } catch (e) {
          clearTimeout(timer);
          this.waiters.delete(w);
          reject(e);
          return;
        }
        if (r) {
          clearTimeout(timer);
          this.waiters.delete(w);
          resolve(r);
        }
      };
      const timer = setTimeout(() => {
        this.waiters.delete(w);
        reject(
          new Error(
            `timed out after ${ms} ms waiting for ${label}; frames seen:\n${this.describe()}` +
              (this.closeInfo ? `\nclosed ${this.closeInfo.code} ${JSON.stringify(this.closeInfo.reason)}` : '') +
              (this.socketErrors.length ? `\nsocket errors: ${this.socketErrors.join(', ')}` : ''),
          ),
        );
      }, ms);
      this.waiters.add(w);
    });
  }

  /**
   * The next message after the cursor matching `pred` (a function, an event name, or a partial object
   * for event/channel). Advances the cursor past it, so consecutive calls see consecutive matches.
   */
  next(pred, ms = 5000) {
    const fn = toPredicate(pred);
    return this.until(
      () => {
        for (let i = this.cursor; i < this.frames.length; i++) {
          if (fn(this.frames[i].msg, this.frames[i])) {
            this.cursor = i + 1;
            return { ...this.frames[i].msg, __frame: this.frames[i] };
          }
        }
        return null;
      },
      ms,
      `message matching ${describePred(pred)}`,
    ).then((m) => {
      const frame = m.__frame;
      delete m.__frame;
      Object.defineProperty(m, 'frame', { value: frame, enumerable: false });
      return m;
    });
  }

  /** Waits for the close and returns {code, reason}. */
  waitClose(ms = 5000) {
    return this.until(() => this.closeInfo, ms, `close of ${this.url}`);
  }

  describe() {
    const shown = (f) => (typeof f.raw !== 'string' ? '<binary>' : f.raw.length > 300 ? `${f.raw.slice(0, 300)}… (${f.raw.length} chars)` : f.raw);
    return this.frames.map((f) => `  ${shown(f)}`).join('\n') || '  (none)';
  }

  async established(ms = 5000) {
    const m = await this.next('pusher:connection_established', ms);
    this.establishedMsg = m;
    this.socketId = dataOf(m).socket_id;
    return dataOf(m);
  }

  /** Sends pusher:ping and waits for the pusher:pong: proves the connection still works. */
  async ping(ms = 5000) {
    const before = this.frames.length;
    this.send({ event: 'pusher:ping', data: {} });
    await this.until(
      () => this.frames.slice(before).some((f) => f.msg.event === 'pusher:pong'),
      ms,
      'pusher:pong',
    );
    return true; // (the cursor is not moved: next() callers match on event names)
  }

  /** Subscribes and returns the answer (subscription_succeeded or subscription_error) for this channel. */
  subscribe(channel, { auth, channel_data: channelData } = {}, ms = 5000) {
    const data = { channel };
    if (auth !== undefined) data.auth = auth;
    if (channelData !== undefined) data.channel_data = channelData;
    this.send({ event: 'pusher:subscribe', data });
    return this.next(
      (m) =>
        (m.event === 'pusher_internal:subscription_succeeded' || m.event === 'pusher:subscription_error') &&
        m.channel === channel,
      ms,
    );
  }

  subscribePrivate(app, channel) {
    return this.subscribe(channel, { auth: privateAuth(app, this.socketId, channel) });
  }

  subscribePresence(app, channel, userId, userInfo, ms = 5000) {
    const cd = { user_id: userId };
    if (userInfo !== undefined) cd.user_info = userInfo;
    const channelData = JSON.stringify(cd);
    return this.subscribe(channel, { auth: presenceAuth(app, this.socketId, channel, channelData), channel_data: channelData }, ms);
  }

  unsubscribe(channel) {
    this.send({ event: 'pusher:unsubscribe', data: { channel } });
  }

  close(code, reason) {
    this.ws.close(code, reason);
  }

  terminate() {
    this.ws.terminate();
  }

  /** Drops the TCP connection without a close frame. */
  destroySocket() {
    this.ws._socket?.destroy();
  }
}

function toPredicate(pred) {
  if (typeof pred === 'function') return pred;
  if (typeof pred === 'string') return (m) => m.event === pred;
  return (m) => Object.entries(pred).every(([k, v]) => m[k] === v);
}

function describePred(pred) {
  if (typeof pred === 'function') return pred.toString().slice(0, 200);
  return JSON.stringify(pred);
}

// ---------------------------------------------------------------------------------------------
// Plain HTTP

export function httpRequest(url, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    import('node:http').then(({ default: http }) => {
      const req = http.request(url, { method, headers, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      req.setTimeout(5000, () => req.destroy(new Error(`HTTP ${method} ${url} timed out`)));
      if (body !== undefined) req.write(body);
      req.end();
    }, reject);
  });
}
