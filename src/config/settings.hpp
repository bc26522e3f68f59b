// Settings: everything greendot can be told at start, with the defaults a new user gets.
// Values come from a TOML file, then environment variables, then command-line flags (last wins).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace greendot::config {

// The event types a webhook target can ask for, as spelled in the config and on the wire.
inline constexpr std::array<std::string_view, 5> kWebhookEventTypes{
    "channel_occupied", "channel_vacated", "member_added", "member_removed", "client_event"};

// One receiver of an app's webhooks. `url` is http://host[:port][/path][?query] (checked at
// load); `event_types` holds names from kWebhookEventTypes, all of them unless the file narrows.
struct WebhookTarget {
  std::string url;
  std::vector<std::string> event_types;
};

// One tenant. Limits and switches are per app so that one noisy app cannot dictate another's.
struct AppConfig {
  std::string id;
  std::string key;
  std::string secret;
  bool enabled = true;

  // Client events (`client-*`): allowed at all, and how many per second per connection.
  bool client_events = true;
  std::uint32_t client_events_per_second = 10;

  // Presence limits (Pusher's are 100 members, 1 KB user_info, 128-character user ids).
  std::uint32_t max_presence_members = 1000;
  std::uint32_t max_user_info_bytes = 1024;
  std::uint32_t max_user_id_length = 128;

  // Connections this app may hold at once on this node; 0 means no limit.
  std::uint32_t max_connections = 0;
  std::uint32_t max_channels_per_connection = 100;

  // How long a member whose last session ended stays present, so a reload does not flicker.
  std::uint32_t offline_grace_ms = 3000;

  // Whether `pusher:signin` (user authentication) is accepted.
  bool user_authentication = true;
  // Users one signed-in connection may watch (Pusher: 100; beyond, 4302 and the first kept).
  std::uint32_t max_watchlist_size = 100;

  // REST API limits (Pusher's: 10 KB of event data, 10 events per batch).
  std::uint32_t max_event_data_bytes = 10240;
  std::uint32_t max_batch_events = 10;

  // An HTTP heartbeat keeps its user present for this long (pages ping every 30 s).
  std::uint32_t heartbeat_ttl_ms = 90000;
  // The longest a user token may be valid for (exp - now, and exp - iat): a leaked token is
  // good for no longer than this. Pages fetch a fresh one before it expires.
  std::uint32_t max_token_lifetime_s = 3600;
  // Origins whose pages may call the browser endpoints (CORS), e.g. "https://example.com";
  // "*" allows any. Empty: no cross-origin calls.
  std::vector<std::string> allowed_origins;

  // Webhooks: where to POST this app's events, and how patiently.
  std::vector<WebhookTarget> webhooks;
  // Events are gathered this long after the first one, so that a burst costs one request.
  std::uint32_t webhook_batch_ms = 50;
  // A batch is sent at once when it holds this many events.
  std::uint32_t webhook_batch_max_events = 100;
  // A request that has not been answered in this time counts as failed.
  std::uint32_t webhook_timeout_ms = 5000;
  // How long a failing batch is retried (backoff 1 s, 2 s, 4 s ... 60 s) before it is dropped.
  std::uint32_t webhook_retry_seconds = 300;
  // Events held per target (queued and in flight); more are dropped, so that a dead receiver
  // cannot grow the server's memory.
  std::uint32_t webhook_queue_limit = 10000;
};

// The pages greendot serves besides /greendot.js: a demo (development only) and the operators'
// dashboard. Both are off unless configured.
struct WebSettings {
  // The app whose demo page is served at / with its token and channel-auth endpoints; empty: no
  // demo. Those endpoints give anyone a token for that app, so never name a production app.
  std::string demo_app;
  // HTTP Basic credentials of /dashboard; both empty: no dashboard.
  std::string dashboard_user;
  std::string dashboard_password;
};

struct ServerSettings {
  std::string host = "127.0.0.1";
  std::uint16_t port = 6001;
  // Event-loop threads; 0 means one per core.
  std::uint32_t threads = 0;

  // Sent to clients as `activity_timeout`: after this many seconds of silence the client
  // pings; the server also pings a silent client after it.
  std::uint32_t activity_timeout_s = 30;
  // How long to wait for any reply to a server ping before closing with 4201.
  std::uint32_t pong_timeout_s = 30;

  // Largest WebSocket message accepted from a client.
  std::uint32_t max_message_bytes = 10240;
  // Outbound bytes queued for one connection before it is disconnected as too slow.
  std::uint32_t max_outbound_bytes = 1024 * 1024;
  // Largest HTTP request (head and body) accepted.
  std::uint32_t max_http_request_bytes = 64 * 1024;
  // How long an HTTP connection may take to send a request, to take an answer, or wait for the
  // engine's; past it the connection is closed (slow clients, clients that never read).
  std::uint32_t http_timeout_ms = 30000;

  // Sockets held at once (HTTP sessions, WebSocket connections, SSE streams); 0 derives it
  // from the open-file limit, keeping some descriptors for everything else.
  std::uint32_t max_connections_total = 0;
  // Of those, from one client address (IPv6: one /64); 0 means no limit. Behind a proxy every
  // client has the proxy's address: raise it or set 0 there.
  std::uint32_t max_connections_per_ip = 4096;

  // trace, debug, info, warn, error, off
  std::string log_level = "info";

  // Where last seen and privacy settings are kept (greendot.sqlite3 in it) so that they
  // survive restarts. Empty: in memory only.
  std::string data_dir;

  WebSettings web;  // [web]
};

// Where presence lives: in this process (one node), or in Redis, shared by every node.
enum class EngineKind { Embedded, Redis };

struct EngineSettings {
  EngineKind kind = EngineKind::Embedded;
  // redis://[user[:password]@]host[:port][/db] (rediss:// for TLS); several, comma-separated:
  // the seed nodes of a Redis Cluster.
  std::string redis_url = "redis://127.0.0.1:6379";
  // A Cluster even with one URL (a managed Cluster's configuration endpoint).
  bool redis_cluster = false;
  // Every key and pub/sub channel starts with it: deployments sharing one Redis keep apart.
  std::string key_prefix = "greendot:";
  // A node that stops refreshing its lease this long has its sessions removed by the others:
  // the longest a dead node's members are seen.
  std::uint32_t node_lease_ms = 10000;
  // A Redis command without a reply after this long fails (and its connection is made again).
  std::uint32_t redis_timeout_ms = 2000;
  // For rediss://: the CA certificates (PEM) that sign the server's; empty: the system's.
  std::string redis_ca_file;
};

struct Settings {
  ServerSettings server;
  EngineSettings engine;  // [engine]
  std::vector<AppConfig> apps;
};

}  // namespace greendot::config
