// greendot.js: presence dots for pages, talking to a greendot server. No dependencies, no build
// step: <script type="module"> import { Presence } from 'https://your-greendot/greendot.js'.
//
//   const presence = new Presence({ app: 'my-app', context: 'chat.42', token: fetchToken });
//   presence.addEventListener('online', (e) => console.log(e.detail.user));
//   presence.start();
//
// Modes: 'heartbeat' (HTTP pings, no socket; the dots are polled), 'sse' (pings, and the
// context's member list live over Server-Sent Events) and 'pusher' (a pusher-js instance the
// page made: its presence channel, or its watchlist, is the live list).

export const VERSION = '0.1.0';

const DEFAULTS = {
  mode: 'heartbeat',
  intervalMs: 30_000, // a ping every 30 s; the server's TTL (90 s) outlasts Chrome's 1-minute wake-ups
  idleMs: 5 * 60_000, // no input for this long: away
  refreshMs: 30_000, // how often the dots of users outside any live list are fetched again
  dots: true,
  selector: '[data-user-id] .presence-dot',
  classes: { online: 'is-online', away: 'is-away', offline: 'is-offline' },
  labels: {
    online: 'Online',
    away: 'Away',
    offline: 'Offline',
    lastSeen: (when) => `Last seen ${when}`,
    approx: {
      recently: 'Last seen recently',
      within_week: 'Last seen within a week',
      within_month: 'Last seen within a month',
      long_ago: 'Last seen a long time ago',
    },
  },
};

const ACTIVITY_EVENTS = ['pointerdown', 'pointermove', 'keydown', 'wheel', 'touchstart', 'scroll'];
const MAX_IDS_PER_QUERY = 1000;
const MAX_BACKOFF_MS = 30_000;

/** An error from greendot or from the token callback, as the page receives it. */
export class PresenceError extends Error {
  constructor(message, { status = 0, source = '' } = {}) {
    super(message);
    this.name = 'PresenceError';
    this.status = status;
    this.source = source;
  }
}

function randomTabId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  return `t-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

function backoff(attempt) {
  const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2); // jittered, so that a restart is not stampeded
}

// The JWT's exp (unix seconds), read without verifying: only to know when to ask for a new one.
function expiryOf(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const exp = JSON.parse(atob(payload)).exp;
    return typeof exp === 'number' ? exp * 1000 : Infinity;
  } catch {
    return Infinity;
  }
}

// ---------------------------------------------------------------------------------------------
// Tokens: the page's callback is asked for a fresh token before the one held expires, and
// again when greendot refuses it (401).

class TokenSource {
  constructor(source) {
    this.source = source;
    this.token = typeof source === 'string' ? source : null;
    this.expires = this.token ? expiryOf(this.token) : 0;
    this.pending = null;
  }

  // The token held, whatever its age: for the beacon, which cannot wait.
  get current() {
    return this.token;
  }

  // A token good for at least a minute (or a quarter of its life, when shorter).
  async get() {
    const margin = Math.min(60_000, (this.expires - Date.now()) / 4);
    if (this.token && Date.now() < this.expires - Math.max(margin, 1000)) return this.token;
    return this.refresh();
  }

  refresh() {
    if (typeof this.source !== 'function') {
      if (this.token) return Promise.resolve(this.token);
      return Promise.reject(new PresenceError('No token: give a token or a token callback', { source: 'token' }));
    }
    this.pending ??= (async () => {
      try {
        const token = await this.source();
        if (typeof token !== 'string' || token.split('.').length !== 3) {
          throw new PresenceError('The token callback must return a JWT string', { source: 'token' });
        }
        this.token = token;
        this.expires = expiryOf(token);
        return token;
      } catch (error) {
        throw error instanceof PresenceError ? error : new PresenceError(`The token callback failed: ${error?.message ?? error}`, { source: 'token' });
      } finally {
        this.pending = null;
      }
    })();
    return this.pending;
  }
}

// ---------------------------------------------------------------------------------------------
// The roster: what the page knows of each user, from live lists and from /client/users.

class Roster {
  constructor(emit) {
    this.users = new Map();
    this.emit = emit;
  }

  get(id) {
    return this.users.get(String(id));
  }

  // Merges what is known of one user; tells the page what changed.
  update(id, fields) {
    id = String(id);
    const before = this.users.get(id);
    const user = { user_id: id, online: false, status: null, last_seen: null, last_seen_approx: null, user_info: null, live: false, ...before, ...fields };
    if (!user.online) user.status = null;
    else user.status ??= 'online';
    this.users.set(id, user);
    // While online, last_seen is "now" on every answer: no change worth telling.
    const watched = user.online ? ['online', 'status'] : ['online', 'status', 'last_seen', 'last_seen_approx'];
    const changed = !before || watched.some((k) => before[k] !== user[k]) ||
      JSON.stringify(before.user_info) !== JSON.stringify(user.user_info);
    if (!changed) return user;
    if (user.online && !before?.online) this.emit('online', { user });
    if (!user.online && before?.online) this.emit('offline', { user });
    this.emit('updated', { user, previous: before ?? null });
    return user;
  }
}

// ---------------------------------------------------------------------------------------------
// The page's own presence over HTTP: pings with a tab id, away when hidden or idle, one beacon
// at the end.

class Heartbeat {
  constructor(presence) {
    this.p = presence;
    this.tab = randomTabId();
    this.timer = null;
    this.retry = null;
    this.retries = 0;
    this.inFlight = null;
    this.ended = false;
  }

  start() {
    this.ended = false;
    this.ping();
    this.timer = setInterval(() => this.ping(), this.p.options.intervalMs);
  }

  stop() {
    clearInterval(this.timer);
    clearTimeout(this.retry);
    this.timer = this.retry = null;
    this.inFlight?.abort();
  }

  // The page is going away (or into the back/forward cache): one beacon, and nothing after it.
  end() {
    if (this.ended) return;
    this.ended = true;
    this.stop();
    const token = this.p.tokens.current;
    if (!token) return;
    const url = this.p.url('client/offline', { tab: this.tab });
    // text/plain, so no preflight: the token is the body, the tab is in the URL.
    if (!navigator.sendBeacon?.(url, token)) {
      fetch(url, { method: 'POST', body: token, keepalive: true, mode: 'cors' }).catch(() => {});
    }
  }

  // Back from the back/forward cache: the old tab said offline, so this is a new one.
  resume() {
    this.tab = randomTabId();
    this.retries = 0;
    this.start();
  }

  async ping() {
    if (this.ended) return;
    clearTimeout(this.retry);
    this.inFlight?.abort();
    const controller = (this.inFlight = new AbortController());
    const body = JSON.stringify({ contexts: this.p.contexts, status: this.p.status, tab: this.tab });
    try {
      const response = await this.p.request('client/ping', { method: 'POST', body, signal: controller.signal, source: 'ping' });
      if (this.ended) return;
      this.retries = 0;
      for (const [context, answer] of Object.entries(response.contexts ?? {})) {
        if (answer === 'full') this.p.fail(new PresenceError(`The context "${context}" is full`, { status: 200, source: 'ping' }));
        // Our tab was ended by an earlier offline (e.g. a beacon that raced this page's
        // return): carry on as a new tab.
        if (answer === 'ended') {
          this.tab = randomTabId();
          this.retry = setTimeout(() => this.ping(), 0);
        }
      }
    } catch (error) {
      if (error.name === 'AbortError' || this.ended) return;
      // 503: the server is stopping or its store is out of reach; anything but a refusal is
      // worth trying again soon rather than at the next interval.
      if (error.status === 503 || error.status === 0) {
        this.retry = setTimeout(() => this.ping(), backoff(this.retries++));
      }
    } finally {
      if (this.inFlight === controller) this.inFlight = null;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Live lists. Both report to the presence: a snapshot of members, then joins, leaves and status.

// Server-Sent Events read with fetch, so that the token goes in a header and a refusal (401,
// 403) is readable, not an anonymous EventSource error.
//
// An open stream is a session of the user, always online; so the stream is open only while the
// page is (visible and not idle). While away, the page's heartbeats keep the user present as
// away, and the dots of the members are polled like any other.
class SseLive {
  constructor(presence, context) {
    this.p = presence;
    this.context = context;
    this.controller = null;
    this.attempt = 0;
    this.timer = null;
    this.stopped = true;
    this.members = new Set();
  }

  // Whether `id` is in the list now (not while the stream is closed).
  has(id) {
    return !this.stopped && this.members.has(id);
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    this.connect(false);
  }

  // The members stay as they were last seen, for the next snapshot to compare with.
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.controller?.abort();
  }

  suspend() {
    this.stop();
  }

  resume() {
    if (this.p.status === 'online') this.start();
  }

  sendStatus() {
    if (this.p.status === 'online') this.start();
    else this.stop();
  }

  async connect(freshToken) {
    if (this.stopped) return;
    const controller = (this.controller = new AbortController());
    let refused = false;
    try {
      const token = freshToken ? await this.p.tokens.refresh() : await this.p.tokens.get();
      const response = await fetch(this.p.url('client/stream', { context: this.context }), {
        headers: { Authorization: `Bearer ${token}`, Accept: 'text/event-stream' },
        signal: controller.signal,
        cache: 'no-store',
      });
      if (!response.ok) {
        refused = response.status === 401;
        throw await PresenceError.from(response, 'stream');
      }
      this.p.connected(this.context, true);
      await this.read(response.body.getReader());
    } catch (error) {
      if (controller.signal.aborted || this.stopped) return;
      this.p.fail(error instanceof PresenceError ? error : new PresenceError(`Stream of "${this.context}" lost: ${error.message}`, { source: 'stream' }));
    }
    if (this.stopped) return;
    this.p.connected(this.context, false);
    // A refused token is replaced before the next attempt; a refusal of any other kind (an
    // origin, a context the token does not open) waits the longest backoff.
    this.timer = setTimeout(() => this.connect(refused), backoff(this.attempt++));
  }

  async read(reader) {
    const decoder = new TextDecoder();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true }).replace(/\r\n?/g, '\n');
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        this.dispatch(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  }

  dispatch(block) {
    let name = 'message';
    const data = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') name = value;
      if (field === 'data') data.push(value);
    }
    if (data.length === 0) return;
    let payload;
    try {
      payload = JSON.parse(data.join('\n'));
    } catch {
      return;
    }
    if (name === 'snapshot') {
      this.attempt = 0;
      const members = payload.members ?? [];
      this.p.snapshot(this, members.map((m) => ({ user_id: String(m.user_id), user_info: m.user_info })));
    } else if (name === 'member_added') {
      this.p.joined(this, String(payload.user_id), payload.user_info);
    } else if (name === 'member_removed') {
      this.p.left(this, String(payload.user_id));
    } else if (name === 'greendot:member_updated') {
      this.p.statusOf(String(payload.user_id), payload.status);
    }
  }
}

// The page's pusher-js: its presence channel presence-{context}, or its watchlist (the page
// signs in with watchlist in the user data). The connection is the session: no pings.
class PusherLive {
  constructor(presence, pusher, context, watchlist) {
    this.p = presence;
    this.pusher = pusher;
    this.context = context;
    this.watchlist = watchlist;
    this.members = new Set();
    this.onState = ({ current }) => {
      this.p.connected(context, current === 'connected');
      // A new connection is a new session, online until told otherwise.
      if (current === 'connected' && this.p.status === 'away') this.sendStatus();
    };
  }

  start() {
    this.pusher.connection.bind('state_change', this.onState);
    if (this.watchlist) return this.startWatchlist();
    const channel = (this.channel = this.pusher.subscribe(`presence-${this.context}`));
    channel.bind('pusher:subscription_succeeded', (members) => {
      const list = [];
      members.each((m) => list.push({ user_id: String(m.id), user_info: m.info }));
      this.p.snapshot(this, list);
    });
    channel.bind('pusher:member_added', (m) => this.p.joined(this, String(m.id), m.info));
    channel.bind('pusher:member_removed', (m) => this.p.left(this, String(m.id)));
    channel.bind('greendot:member_updated', (e) => this.p.statusOf(String(e.user_id), e.status));
    channel.bind('pusher:subscription_error', (e) =>
      this.p.fail(new PresenceError(e?.error ?? `Subscription to presence-${this.context} refused`, { status: e?.status ?? 0, source: 'pusher' })));
    if (this.pusher.connection.state === 'connected') this.p.connected(this.context, true);
  }

  has(id) {
    return this.members.has(id);
  }

  startWatchlist() {
    const watchlist = this.pusher.user.watchlist;
    this.onOnline = ({ user_ids: ids }) => ids.forEach((id) => this.p.joined(this, String(id), undefined));
    this.onOffline = ({ user_ids: ids }) => ids.forEach((id) => this.p.left(this, String(id)));
    watchlist.bind('online', this.onOnline);
    watchlist.bind('offline', this.onOffline);
  }

  stop() {
    this.pusher.connection.unbind('state_change', this.onState);
    if (this.channel) this.pusher.unsubscribe(this.channel.name);
    if (this.onOnline) {
      this.pusher.user.watchlist.unbind('online', this.onOnline);
      this.pusher.user.watchlist.unbind('offline', this.onOffline);
    }
  }

  sendStatus() {
    if (this.pusher.connection.state === 'connected') this.pusher.send_event('greendot:status', { status: this.p.status });
  }

  // The back/forward cache keeps no page with an open WebSocket in Chrome and Firefox:
  // close it on the way in, open it again on the way out.
  suspend() {
    this.pusher.disconnect();
  }

  resume() {
    this.pusher.connect();
  }
}

PresenceError.from = async (response, source) => {
  let message = `${response.status} ${response.statusText}`;
  try {
    const body = await response.json();
    if (body?.error) message = body.error;
  } catch {
    // not JSON: keep the status line
  }
  return new PresenceError(message, { status: response.status, source });
};

// ---------------------------------------------------------------------------------------------
// Dots: every element matching the selector shows the state of the user of its closest
// [data-user-id], with a label in the page's language.

class Dots {
  constructor(presence) {
    this.p = presence;
    const o = presence.options;
    this.root = o.root ?? document;
    this.selector = o.selector;
    this.classes = { ...DEFAULTS.classes, ...o.classes };
    this.labels = { ...DEFAULTS.labels, ...o.labels, approx: { ...DEFAULTS.labels.approx, ...o.labels?.approx } };
    const locale = o.locale ?? (document.documentElement.lang || navigator.language);
    this.relative = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
    this.wanted = new Set();
    this.fetchTimer = null;
  }

  start() {
    this.observer = new MutationObserver((records) => {
      for (const record of records) {
        for (const node of record.addedNodes) if (node.nodeType === 1) this.renderWithin(node);
        if (record.type === 'attributes') this.renderWithin(record.target);
      }
    });
    const target = this.root === document ? document.documentElement : this.root;
    this.observer.observe(target, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-user-id'] });
    this.renderWithin(target);
    // Labels such as "3 minutes ago" age; users outside the live lists are fetched again.
    this.clock = setInterval(() => this.renderAll(), 15_000);
    this.poll = setInterval(() => this.fetchOutsiders(), this.p.options.refreshMs);
  }

  stop() {
    this.observer?.disconnect();
    clearInterval(this.clock);
    clearInterval(this.poll);
    clearTimeout(this.fetchTimer);
  }

  dotsWithin(node) {
    const dots = [...node.querySelectorAll(this.selector)];
    if (node.matches?.(this.selector)) dots.push(node);
    return dots;
  }

  userOf(dot) {
    return dot.closest('[data-user-id]')?.getAttribute('data-user-id') ?? null;
  }

  renderWithin(node) {
    for (const dot of this.dotsWithin(node)) {
      const id = this.userOf(dot);
      if (id === null) continue;
      const user = this.p.roster.get(id);
      if (!user) this.want(id);
      this.render(dot, user);
    }
  }

  renderAll() {
    const target = this.root === document ? document.documentElement : this.root;
    this.renderWithin(target);
  }

  // Renders the dots of one user (after a change).
  renderUser(id) {
    const target = this.root === document ? document.documentElement : this.root;
    for (const el of target.querySelectorAll(`[data-user-id="${CSS.escape(id)}"]`)) {
      for (const dot of this.dotsWithin(el)) if (this.userOf(dot) === id) this.render(dot, this.p.roster.get(id));
    }
  }

  stateOf(user) {
    if (!user) return null;
    if (!user.online) return 'offline';
    return user.status === 'away' ? 'away' : 'online';
  }

  label(user) {
    const state = this.stateOf(user);
    if (state === 'online') return this.labels.online;
    if (state === 'away') return this.labels.away;
    if (user.last_seen) return this.labels.lastSeen(this.ago(user.last_seen));
    if (user.last_seen_approx) return this.labels.approx[user.last_seen_approx] ?? this.labels.offline;
    return this.labels.offline;
  }

  ago(ms) {
    const seconds = Math.round((ms - Date.now()) / 1000);
    const steps = [[60, 'second'], [3600, 'minute', 60], [86400, 'hour', 3600], [86400 * 30, 'day', 86400], [86400 * 365, 'month', 86400 * 30]];
    if (Math.abs(seconds) < 10) return this.relative.format(0, 'second');
    for (const [limit, unit, size = 1] of steps) {
      if (Math.abs(seconds) < limit) return this.relative.format(Math.round(seconds / size), unit);
    }
    return this.relative.format(Math.round(seconds / (86400 * 365)), 'year');
  }

  render(dot, user) {
    const state = this.stateOf(user);
    for (const [name, cls] of Object.entries(this.classes)) dot.classList.toggle(cls, name === state);
    if (!state) return;
    const text = this.label(user);
    dot.dataset.presence = state;
    if (dot.title !== text) dot.title = text;
    if (dot.getAttribute('aria-label') !== text) dot.setAttribute('aria-label', text);
    if (!dot.hasAttribute('role')) dot.setAttribute('role', 'img');
  }

  // Users with a dot but no state yet are fetched together, in one request per 1000.
  want(id) {
    this.wanted.add(id);
    this.fetchTimer ??= setTimeout(() => {
      this.fetchTimer = null;
      const ids = [...this.wanted];
      this.wanted.clear();
      this.p.fetchUsers(ids);
    }, 20);
  }

  fetchOutsiders() {
    const ids = new Set();
    const target = this.root === document ? document.documentElement : this.root;
    for (const dot of this.dotsWithin(target)) {
      const id = this.userOf(dot);
      if (id !== null && !this.p.isLive(id)) ids.add(id);
    }
    if (ids.size) this.p.fetchUsers([...ids]);
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * The presence of this page's user in one or more contexts, and of everyone the page shows.
 * Events: 'online', 'offline', 'updated' (detail.user), 'error' (detail.error, a PresenceError),
 * 'connection' (detail.connected).
 */
export class Presence extends EventTarget {
  constructor(options = {}) {
    super();
    // An option given as undefined keeps its default (pages often pass what they were given).
    const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.options = { ...DEFAULTS, ...given };
    const o = this.options;
    if (!o.app) throw new TypeError('greendot: give the app id as `app`');
    this.contexts = o.contexts ?? (o.context ? [o.context] : []);
    // Presence is always in some context (a page, a room); a watchlist needs none.
    if (this.contexts.length === 0 && !(o.mode === 'pusher' && o.watchlist)) {
      throw new TypeError('greendot: give the `context` (or `contexts`) this page is present in');
    }
    if (o.mode === 'pusher' && !o.pusher) throw new TypeError("greendot: mode 'pusher' needs the page's pusher-js instance as `pusher`");
    if (!['heartbeat', 'sse', 'pusher'].includes(o.mode)) throw new TypeError(`greendot: unknown mode "${o.mode}"`);
    this.server = (o.server ?? new URL(import.meta.url).origin).replace(/\/$/, '');
    this.tokens = new TokenSource(o.token);
    this.roster = new Roster((type, detail) => this.dispatch(type, detail));
    this.status = 'online';
    this.idle = false;
    this.running = false;
    this.heartbeat = o.mode === 'pusher' ? null : new Heartbeat(this);
    this.lives = o.mode === 'sse' ? this.contexts.map((c) => new SseLive(this, c))
      : o.mode === 'pusher' ? [new PusherLive(this, o.pusher, this.contexts[0], Boolean(o.watchlist))] : [];
    this.dots = o.dots && typeof document !== 'undefined' ? new Dots(this) : null;
    this.listeners = [];
  }

  /** Starts pinging, the live lists and the dots. */
  start() {
    if (this.running) return this;
    this.running = true;
    this.updateStatus(false);
    this.listen(document, 'visibilitychange', () => this.updateStatus(true));
    for (const type of ACTIVITY_EVENTS) this.listen(window, type, () => this.activity(), { passive: true, capture: true });
    this.listen(window, 'pagehide', (e) => this.onPageHide(e));
    this.listen(window, 'pageshow', (e) => this.onPageShow(e));
    // A frozen page's timers did not run: report at once on resume.
    this.listen(document, 'resume', () => this.heartbeat?.ping());
    this.armIdle();
    this.heartbeat?.start();
    // A stream opens only while the page is online (see SseLive); pusher-js is the page's.
    for (const live of this.lives) live instanceof SseLive ? live.resume() : live.start();
    this.dots?.start();
    return this;
  }

  /** Ends this page's presence now (an offline for its tab) and stops everything. */
  stop() {
    if (!this.running) return;
    this.running = false;
    this.heartbeat?.end();
    for (const live of this.lives) live.stop();
    this.dots?.stop();
    clearTimeout(this.idleTimer);
    for (const [target, type, fn, opts] of this.listeners) target.removeEventListener(type, fn, opts);
    this.listeners = [];
  }

  /** Everyone known, by user id: { user_id, online, status, last_seen, last_seen_approx, user_info, live }. */
  get users() {
    return new Map(this.roster.users);
  }

  /** The users online now. */
  get online() {
    return [...this.roster.users.values()].filter((u) => u.online);
  }

  user(id) {
    return this.roster.get(id) ?? null;
  }

  // -- the page's own status ---------------------------------------------------------------

  listen(target, type, fn, opts) {
    target.addEventListener(type, fn, opts);
    this.listeners.push([target, type, fn, opts]);
  }

  activity() {
    const now = Date.now();
    if (now - (this.lastActivity ?? 0) < 1000 && !this.idle) return; // pointermove fires often
    this.lastActivity = now;
    this.armIdle();
    if (this.idle) {
      this.idle = false;
      this.updateStatus(true);
    }
  }

  armIdle() {
    clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.idle = true;
      this.updateStatus(true);
    }, this.options.idleMs);
  }

  updateStatus(report) {
    const status = document.visibilityState === 'hidden' || this.idle ? 'away' : 'online';
    if (status === this.status) return;
    this.status = status;
    if (!report || !this.running) return;
    this.heartbeat?.ping();
    for (const live of this.lives) live.sendStatus();
  }

  onPageHide(event) {
    this.heartbeat?.end();
    if (event.persisted) for (const live of this.lives) live.suspend();
  }

  onPageShow(event) {
    if (!event.persisted) return;
    this.updateStatus(false);
    this.heartbeat?.resume();
    for (const live of this.lives) live.resume();
  }

  // -- reports from the live lists ---------------------------------------------------------

  snapshot(live, members) {
    const previous = live.members;
    live.members = new Set(members.map((m) => m.user_id));
    for (const m of members) this.roster.update(m.user_id, { online: true, live: true, user_info: m.user_info ?? null, last_seen: Date.now() });
    for (const id of previous) if (!live.members.has(id)) this.departed(id);
    // Member lists carry no status: one query for the lot.
    this.fetchUsers(members.map((m) => m.user_id));
    this.renderDots();
  }

  joined(live, id, info) {
    live.members.add(id);
    const fields = { online: true, live: true, last_seen: Date.now() };
    if (info !== undefined) fields.user_info = info;
    this.roster.update(id, fields);
    this.dots?.renderUser(id);
    if (info === undefined || this.roster.get(id).status === null) this.fetchUsers([id]);
  }

  left(live, id) {
    live.members.delete(id);
    this.departed(id);
  }

  departed(id) {
    if (this.isLive(id)) return;
    this.roster.update(id, { online: false, live: false, last_seen: Date.now() });
    this.dots?.renderUser(id);
    // The truth (last seen as the user's privacy allows) from the server.
    this.fetchUsers([id]);
  }

  statusOf(id, status) {
    if (!this.roster.get(id)?.online) return;
    this.roster.update(id, { status });
    this.dots?.renderUser(id);
  }

  isLive(id) {
    return this.lives.some((live) => live.has(id));
  }

  connected(context, connected) {
    this.dispatch('connection', { context, connected });
  }

  renderDots() {
    this.dots?.renderAll();
  }

  // -- talking to greendot -----------------------------------------------------------------

  url(path, query = {}) {
    const url = new URL(`${this.server}/apps/${encodeURIComponent(this.options.app)}/${path}`);
    for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
    return url.toString();
  }

  // A JSON request with the token; a refused token is replaced once. Throws PresenceError
  // (status 0 for a network failure), after telling the page.
  async request(path, { method = 'GET', body, signal, source, query } = {}) {
    for (let attempt = 0; ; attempt++) {
      let response;
      try {
        const token = attempt === 0 ? await this.tokens.get() : await this.tokens.refresh();
        const headers = { Authorization: `Bearer ${token}` };
        if (body) headers['Content-Type'] = 'application/json';
        response = await fetch(this.url(path, query), { method, body, headers, signal, cache: 'no-store' });
      } catch (error) {
        if (error.name === 'AbortError') throw error;
        const failure = error instanceof PresenceError ? error : new PresenceError(`Cannot reach greendot at ${this.server}: ${error.message}`, { source });
        this.fail(failure);
        throw failure;
      }
      if (response.ok) return response.json();
      if (response.status === 401 && attempt === 0 && typeof this.options.token === 'function') continue;
      const failure = await PresenceError.from(response, source);
      this.fail(failure);
      throw failure;
    }
  }

  async fetchUsers(ids) {
    ids = [...new Set(ids)];
    for (let i = 0; i < ids.length; i += MAX_IDS_PER_QUERY) {
      const chunk = ids.slice(i, i + MAX_IDS_PER_QUERY);
      let answer;
      try {
        answer = await this.request('client/users', { query: { ids: chunk.join(',') }, source: 'users' });
      } catch {
        return; // the page was told; the next refresh tries again
      }
      for (const [id, state] of Object.entries(answer.users ?? {})) {
        // A member of a live list is online whatever a query that crossed its join says.
        const live = this.isLive(id);
        this.roster.update(id, {
          online: live || state.online,
          status: state.status ?? (live ? 'online' : null),
          last_seen: state.last_seen ?? null,
          last_seen_approx: state.last_seen_approx ?? null,
        });
        this.dots?.renderUser(id);
      }
    }
  }

  fail(error) {
    this.dispatch('error', { error });
  }

  dispatch(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
