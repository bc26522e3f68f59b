// Signing as an application backend does: Pusher REST requests by hand (for what the SDK
// cannot send, like PUT) and the user tokens (JWT HS256 with the app secret) pages carry.
import crypto from 'node:crypto';
import { hmac, httpRequest } from './clients.mjs';

const md5 = (text) => crypto.createHash('md5').update(text, 'utf8').digest('hex');
const nowSeconds = () => Math.floor(Date.now() / 1000);
const b64url = (data) => Buffer.from(data).toString('base64url');

function parseOrNull(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * A user token: JWT HS256 signed with the app secret (or as `opts` bends it), made for the app
 * (`aud`) and opening `contexts` (every context unless narrowed; `null` leaves the claim out).
 */
export function userToken(app, sub, { exp = nowSeconds() + 3600, userInfo, header = { alg: 'HS256', typ: 'JWT' }, secret = app.secret, aud = app.id, contexts = ['*'], extra = {} } = {}) {
  const payload = { sub, exp, ...extra };
  if (aud !== null) payload.aud = aud;
  if (contexts !== null) payload.contexts = contexts;
  if (userInfo !== undefined) payload.user_info = userInfo;
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  const signature = crypto.createHmac('sha256', secret).update(signingInput).digest('base64url');
  return `${signingInput}.${signature}`;
}

/**
 * A request signed by hand like the Pusher REST API (for PUT, which the SDK cannot send, and raw
 * bodies): auth_key, auth_timestamp, auth_version=1.0, body_md5, and
 * auth_signature = HMAC-SHA256(secret, METHOD\npath\nsorted query).
 */
export async function signedRaw(server, app, method, subPath, body, { query = {}, contentType = 'application/json' } = {}) {
  const fullPath = `/apps/${app.id}${subPath}`;
  const params = { auth_key: app.key, auth_timestamp: String(nowSeconds()), auth_version: '1.0', ...query };
  if (body !== undefined && body !== '') params.body_md5 = md5(body);
  const sorted = Object.keys(params)
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join('&');
  params.auth_signature = hmac(app.secret, `${method}\n${fullPath}\n${sorted}`);
  const qs = Object.entries(params)
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
  const headers = body !== undefined ? { 'content-type': contentType } : {};
  const res = await httpRequest(server.httpUrl(`${fullPath}?${qs}`), { method, headers, body });
  return { ...res, json: parseOrNull(res.body) };
}
