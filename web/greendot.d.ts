// Type declarations of greendot.js, the browser library greendot serves at /greendot.js.

export declare const VERSION: string;

export type UserStatus = 'online' | 'away';
export type ApproximateLastSeen = 'recently' | 'within_week' | 'within_month' | 'long_ago';

export interface PresenceUser {
  user_id: string;
  online: boolean;
  /** While online. */
  status: UserStatus | null;
  /** Unix milliseconds, when the user's privacy shows it. */
  last_seen: number | null;
  last_seen_approx: ApproximateLastSeen | null;
  user_info: unknown;
  /** Whether a live list (SSE stream, presence channel, watchlist) holds the user now. */
  live: boolean;
}

export interface PresenceLabels {
  online?: string;
  away?: string;
  offline?: string;
  /** `when` is a localized relative time, e.g. "3 minutes ago". */
  lastSeen?: (when: string) => string;
  approx?: Partial<Record<ApproximateLastSeen, string>>;
}

/** The part of a pusher-js `Pusher` instance the library uses. */
export interface PusherLike {
  subscribe(channel: string): any;
  unsubscribe(channel: string): void;
  send_event(name: string, data: unknown, channel?: string): boolean;
  connect(): void;
  disconnect(): void;
  connection: { state: string; bind(event: string, fn: (e: any) => void): void; unbind(event: string, fn: (e: any) => void): void };
  user: { watchlist: { bind(event: string, fn: (e: any) => void): void; unbind(event: string, fn: (e: any) => void): void } };
}

export interface PresenceOptions {
  /** The app id. */
  app: string;
  /** greendot's origin; by default the one this module was loaded from. */
  server?: string;
  /** A user token (JWT), or a callback that returns a fresh one; called again before expiry and on a 401. */
  token: string | (() => string | Promise<string>);
  context?: string;
  contexts?: string[];
  /** 'heartbeat' (default): HTTP pings, dots polled. 'sse': pings and live member lists. 'pusher': the page's pusher-js. */
  mode?: 'heartbeat' | 'sse' | 'pusher';
  pusher?: PusherLike;
  /** Mode 'pusher': the signed-in user's watchlist is the live list, instead of presence-{context}. */
  watchlist?: boolean;
  /** Between pings (30000). */
  intervalMs?: number;
  /** Without input for this long the user is away (300000). */
  idleMs?: number;
  /** How often users outside live lists are fetched again (30000). */
  refreshMs?: number;
  /** Keep the page's dots up to date (true). */
  dots?: boolean;
  /** Which elements are dots ('[data-user-id] .presence-dot'); the user is the closest [data-user-id]. */
  selector?: string;
  root?: Document | Element;
  classes?: Partial<Record<'online' | 'away' | 'offline', string>>;
  labels?: PresenceLabels;
  /** For Intl.RelativeTimeFormat; by default <html lang>, else the browser's. */
  locale?: string;
}

export declare class PresenceError extends Error {
  /** The HTTP status greendot answered with; 0 for a network failure or a token callback's. */
  status: number;
  source: 'ping' | 'users' | 'stream' | 'pusher' | 'token' | string;
}

export interface PresenceEventMap {
  online: CustomEvent<{ user: PresenceUser }>;
  offline: CustomEvent<{ user: PresenceUser }>;
  updated: CustomEvent<{ user: PresenceUser; previous: PresenceUser | null }>;
  error: CustomEvent<{ error: PresenceError }>;
  connection: CustomEvent<{ context: string; connected: boolean }>;
}

export declare class Presence extends EventTarget {
  constructor(options: PresenceOptions);
  /** This page's own status, as reported. */
  readonly status: UserStatus;
  /** Everyone the page knows of, by user id. */
  readonly users: Map<string, PresenceUser>;
  readonly online: PresenceUser[];
  user(id: string | number): PresenceUser | null;
  start(): this;
  /** Ends this page's presence (an offline for its tab) and stops everything. */
  stop(): void;
  addEventListener<K extends keyof PresenceEventMap>(type: K, listener: (event: PresenceEventMap[K]) => void, options?: boolean | AddEventListenerOptions): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof PresenceEventMap>(type: K, listener: (event: PresenceEventMap[K]) => void, options?: boolean | EventListenerOptions): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}
