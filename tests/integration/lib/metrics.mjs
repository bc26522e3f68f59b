// Reading greendot's /metrics in tests: the operators' credentials every test server gets
// (as its [web] table), the Basic header for them, and the samples of an exposition.

/** A [web] table that opens /metrics (and /dashboard) with `operatorsHeader()`. */
export const operatorsWeb = { dashboard_user: 'ops', dashboard_password: 'scrape me' };

/** An HTTP Basic authorization header value. */
export function basicAuth(user, password) {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** The authorization header value for `operatorsWeb`. */
export const operatorsHeader = () => basicAuth(operatorsWeb.dashboard_user, operatorsWeb.dashboard_password);

/** The samples of a Prometheus text exposition: {"name{labels}": value}. */
export function parseMetrics(text) {
  const out = {};
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    out[line.slice(0, space)] = Number(line.slice(space + 1));
  }
  return out;
}
