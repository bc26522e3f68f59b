// The operators' dashboard: totals every second over Server-Sent Events, drawn as rates; the
// apps and their channels; a presence channel's members on click. No framework, no build.
const $ = (id) => document.getElementById(id);
const HISTORY = 120; // points per chart: two minutes
const series = { connections: [], in: [], out: [], delivered: [], failed: [] };
let previous = null;
let selected = null; // { app, channel }

function push(list, value) {
  list.push(value);
  if (list.length > HISTORY) list.shift();
}

// A line per series, scaled to the largest value shown.
function draw(canvas, lines) {
  const ctx = canvas.getContext('2d');
  const { width, height } = canvas;
  ctx.clearRect(0, 0, width, height);
  const max = Math.max(1, ...lines.flatMap((l) => l.values));
  for (const { values, color } of lines) {
    ctx.beginPath();
    values.forEach((v, i) => {
      const x = (i / (HISTORY - 1)) * width;
      const y = height - 2 - (v / max) * (height - 6);
      i ? ctx.lineTo(x, y) : ctx.moveTo(x, y);
    });
    ctx.strokeStyle = color;
    ctx.lineWidth = 2;
    ctx.stroke();
  }
}

const format = (n) => (n >= 100 || Number.isInteger(n) ? Math.round(n).toLocaleString() : n.toFixed(1));

function onStats(stats) {
  push(series.connections, stats.connections);
  if (previous) {
    const seconds = Math.max(0.001, (stats.time_ms - previous.time_ms) / 1000);
    const rate = (key) => Math.max(0, (stats[key] - previous[key]) / seconds);
    push(series.in, rate('messages_in'));
    push(series.out, rate('messages_out'));
    push(series.delivered, rate('webhooks_delivered'));
    push(series.failed, rate('webhooks_failed'));
    $('messages-in').value = format(series.in.at(-1));
    $('messages-out').value = format(series.out.at(-1));
    $('webhooks').value = `${format(series.delivered.at(-1))} / ${format(series.failed.at(-1))}`;
  }
  previous = stats;
  $('connections').value = stats.connections.toLocaleString();
  const css = getComputedStyle(document.documentElement);
  const green = css.getPropertyValue('--green');
  draw($('chart-connections'), [{ values: series.connections, color: green }]);
  draw($('chart-messages-in'), [{ values: series.in, color: green }]);
  draw($('chart-messages-out'), [{ values: series.out, color: green }]);
  draw($('chart-webhooks'), [{ values: series.delivered, color: green }, { values: series.failed, color: css.getPropertyValue('--red') }]);
  renderApps(stats.apps);
  $('status').textContent = `live, ${new Date(stats.time_ms).toLocaleTimeString()}`;
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

// Updated in place, keyed by app and channel, so that a row under the pointer stays the same
// element from one second to the next (a click is not lost to a redraw).
function renderApps(apps) {
  const container = $('apps');
  const seen = new Set();
  for (const app of apps) {
    seen.add(app.id);
    let section = container.querySelector(`section[data-app="${CSS.escape(app.id)}"]`);
    if (!section) {
      section = document.createElement('section');
      section.className = 'card app';
      section.dataset.app = app.id;
      section.innerHTML = '<h2></h2><table><thead><tr><th>Channel</th><th class="number">Connections</th><th class="number">Members</th></tr></thead><tbody></tbody></table>';
      container.append(section);
    }
    const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;
    section.querySelector('h2').textContent = `${app.id}: ${plural(app.connections, 'connection')}, ${plural(app.channels.length, 'channel')}`;
    const body = section.querySelector('tbody');
    const rows = new Map([...body.children].map((row) => [row.dataset.channel, row]));
    const ordered = app.channels.map((channel) => {
      let row = rows.get(channel.name);
      if (!row) {
        row = document.createElement('tr');
        row.dataset.channel = channel.name;
        row.append(cell(channel.name), cell('', 'number subscriptions'), cell('', 'number members'));
        if (channel.members !== undefined) {
          row.classList.add('presence');
          row.addEventListener('click', () => select(app.id, channel.name));
        }
      }
      row.querySelector('.subscriptions').textContent = channel.subscriptions;
      row.querySelector('.members').textContent = channel.members ?? '';
      row.classList.toggle('selected', selected?.app === app.id && selected.channel === channel.name);
      return row;
    });
    // Appending an element already in place moves it: the order follows the server's.
    for (const row of ordered) if (body.lastElementChild !== row || row.parentNode !== body) body.append(row);
    for (const [name, row] of rows) if (!app.channels.some((c) => c.name === name)) row.remove();
  }
  for (const section of [...container.children]) if (!seen.has(section.dataset.app)) section.remove();
}

async function select(app, channel) {
  selected = { app, channel };
  await refreshMembers();
}

async function refreshMembers() {
  if (!selected) return;
  const { app, channel } = selected;
  const response = await fetch(`/dashboard/api/members?${new URLSearchParams({ app, channel })}`);
  const body = await response.json();
  $('members').hidden = false;
  $('members-title').textContent = `${channel} (${app})`;
  if (!response.ok) {
    $('members-rows').replaceChildren(Object.assign(document.createElement('tr'), { textContent: body.error }));
    return;
  }
  const rows = Object.entries(body.users).map(([id, user]) => {
    const row = document.createElement('tr');
    row.dataset.userId = id;
    const name = cell(id);
    const state = user.online ? user.status ?? 'online' : 'offline';
    name.prepend(Object.assign(document.createElement('span'), { className: `dot ${state}` }));
    const seen = user.online ? 'now' : user.last_seen ? new Date(user.last_seen).toLocaleString() : '–';
    const privacy = user.privacy ? `${user.privacy.visibility}, last seen ${user.privacy.last_seen}` : '';
    row.append(name, cell(state, 'status'), cell(seen), cell(privacy));
    return row;
  });
  $('members-rows').replaceChildren(...rows);
}

const stream = new EventSource('/dashboard/api/stream');
stream.addEventListener('stats', (e) => onStats(JSON.parse(e.data)));
stream.addEventListener('error', () => ($('status').textContent = 'reconnecting…'));
setInterval(() => refreshMembers().catch(() => {}), 2000);
