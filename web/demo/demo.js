// The demo page: what an application's page would do with greendot.js, with greendot itself
// playing the application's backend (/demo/api/token and /demo/api/auth, demo config only).
import { Presence } from '/greendot.js';

const $ = (id) => document.getElementById(id);
const SEEN_KEY = 'greendot-demo-seen'; // people this browser has seen, to show their last seen
const MODES = { sse: 'HTTP (heartbeats and SSE)', pusher: 'WebSocket (pusher-js)' };

let presence = null;
let pusher = null;
let me = null;
let mode = 'sse';

async function demoToken(name) {
  const response = await fetch('/demo/api/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ?? response.statusText);
  return body;
}

function remember(id) {
  const seen = new Set(JSON.parse(localStorage.getItem(SEEN_KEY) ?? '[]'));
  if (seen.has(id)) return;
  seen.add(id);
  localStorage.setItem(SEEN_KEY, JSON.stringify([...seen].slice(-50)));
}

// One row per person; greendot.js keeps its dot, the label mirrors the dot's.
function row(id) {
  let li = document.querySelector(`#people li[data-user-id="${CSS.escape(id)}"]`);
  if (li) return li;
  li = document.createElement('li');
  li.dataset.userId = id;
  const dot = Object.assign(document.createElement('span'), { className: 'presence-dot' });
  const name = Object.assign(document.createElement('span'), { className: 'name', textContent: id });
  if (id === me?.user_id) name.append(Object.assign(document.createElement('span'), { className: 'you', textContent: ' (you)' }));
  const label = Object.assign(document.createElement('span'), { className: 'label' });
  li.append(dot, name, label);
  $('people').append(li);
  return li;
}

function log(text) {
  const item = document.createElement('li');
  const time = Object.assign(document.createElement('time'), { textContent: new Date().toLocaleTimeString() });
  item.append(time, text);
  $('log').prepend(item);
  while ($('log').children.length > 30) $('log').lastChild.remove();
}

function showError(message) {
  $('error').textContent = message;
  $('error').hidden = !message;
}

function refreshLabels() {
  for (const li of document.querySelectorAll('#people li')) {
    li.querySelector('.label').textContent = li.querySelector('.presence-dot').title;
  }
}

async function join(name, chosenMode) {
  showError('');
  me = await demoToken(name);
  mode = chosenMode;
  let token = me.token;
  const options = {
    app: me.app,
    context: me.context,
    server: location.origin,
    // A fresh token from the demo's backend whenever greendot.js needs one.
    token: async () => (token = (await demoToken(name)).token),
    mode,
  };
  if (mode === 'pusher') {
    pusher = new window.Pusher(me.key, {
      wsHost: location.hostname,
      wsPort: Number(location.port) || 80,
      wssPort: Number(location.port) || 443,
      forceTLS: location.protocol === 'https:',
      enabledTransports: ['ws', 'wss'],
      disableStats: true,
      cluster: 'mt1', // required by pusher-js, unused by greendot
      channelAuthorization: {
        endpoint: '/demo/api/auth',
        transport: 'ajax',
        headersProvider: () => ({ Authorization: `Bearer ${token}` }),
      },
    });
    options.pusher = pusher;
  }
  presence = new Presence(options);
  presence.addEventListener('online', (e) => log(`${e.detail.user.user_id} is online`));
  presence.addEventListener('offline', (e) => log(`${e.detail.user.user_id} went offline`));
  presence.addEventListener('updated', (e) => {
    const { user, previous } = e.detail;
    remember(user.user_id);
    row(user.user_id);
    if (previous?.online && user.online && previous.status !== user.status) log(`${user.user_id} is ${user.status}`);
    queueMicrotask(refreshLabels);
  });
  presence.addEventListener('connection', (e) => {
    $('connection').textContent = `${MODES[mode]}: ${e.detail.connected ? 'connected' : 'reconnecting…'}`;
  });
  presence.addEventListener('error', (e) => showError(e.detail.error.message));

  $('people').replaceChildren();
  row(me.user_id);
  for (const id of JSON.parse(localStorage.getItem(SEEN_KEY) ?? '[]')) row(id);
  $('me').textContent = `You are ${me.user_id}, on ${MODES[mode]}`;
  $('switch').textContent = mode === 'sse' ? 'Switch to WebSocket' : 'Switch to HTTP';
  $('join').hidden = true;
  $('room').hidden = false;
  presence.start();
  log(`joined as ${me.user_id} over ${MODES[mode]}`);
}

function leave() {
  presence?.stop();
  pusher?.disconnect();
  presence = pusher = null;
}

$('join').addEventListener('submit', (e) => {
  e.preventDefault();
  const name = $('name').value.trim();
  const chosen = new FormData($('join')).get('mode');
  localStorage.setItem('greendot-demo-name', name);
  join(name, chosen).catch((error) => showError(error.message));
});

$('switch').addEventListener('click', () => {
  const name = me.user_id;
  leave();
  join(name, mode === 'sse' ? 'pusher' : 'sse').catch((error) => showError(error.message));
});

$('leave').addEventListener('click', () => {
  leave();
  log('left');
  $('room').hidden = true;
  $('join').hidden = false;
});

$('name').value = localStorage.getItem('greendot-demo-name') ?? '';
setInterval(refreshLabels, 5000);
