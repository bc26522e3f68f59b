#include "api/metrics_api.hpp"

#include <cstdint>
#include <string_view>

namespace greendot::api {

namespace {

// One metric's HELP and TYPE lines, then its samples.
void family(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, std::string_view name, std::uint64_t value,
            std::string_view labels = {}) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(std::to_string(value)).append("\n");
}

// A label value as the format quotes it: backslash, double quote and newline escaped.
std::string label_value(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// A metric with one sample.
struct Single {
  std::string_view name;
  std::string_view type;
  std::string_view help;
  std::uint64_t value;
};

}  // namespace

std::string metrics_text(server::ServerContext& context) {
  const auto traffic = context.traffic.totals();
  const auto* webhooks = context.webhook_counts;
  // What a shared engine (Redis) could not do at once, or made good; 0 with the embedded one.
  const auto engine = context.engine.counters();
  const Single singles[] = {
      {"greendot_sockets_open", "gauge",
       "Sockets held now: WebSocket connections, HTTP requests and SSE streams.",
       context.sockets_open ? context.sockets_open() : 0},
      {"greendot_sockets_max", "gauge",
       "server.max_connections_total, the most sockets held at once (0: no limit).",
       context.max_sockets},
      {"greendot_messages_received_total", "counter", "WebSocket messages received from clients.",
       traffic.messages_in},
      {"greendot_messages_sent_total", "counter",
       "Messages sent to clients (WebSocket frames and SSE events).", traffic.messages_out},
      {"greendot_webhooks_delivered_total", "counter",
       "Webhook requests the receiver answered with 2xx.",
       webhooks ? webhooks->delivered.load() : 0},
      {"greendot_webhooks_failed_total", "counter",
       "Webhook requests that failed (an error status, a timeout, a refused connection).",
       webhooks ? webhooks->failed.load() : 0},
      {"greendot_engine_ready", "gauge",
       "1 while the presence engine can serve (with Redis: reachable, this node registered).",
       context.engine.ready() ? 1u : 0u},
      {"greendot_engine_store_disconnections_total", "counter",
       "Times the engine's store (Redis) went out of reach.", engine.store_disconnections},
      {"greendot_engine_messages_not_shared_total", "counter",
       "Messages published while Redis was out of reach: they reached this node's subscribers "
       "only.",
       engine.messages_not_shared},
      {"greendot_engine_leases_lost_total", "counter",
       "Times this node found its lease in Redis gone and wrote its sessions back as a new node.",
       engine.leases_lost},
      {"greendot_engine_nodes_swept_total", "counter",
       "Dead nodes whose sessions this node removed.", engine.nodes_swept},
      {"greendot_engine_subscriptions_unconfirmed_total", "counter",
       "Channels whose subscribers were answered before Redis confirmed this node's "
       "subscription (they miss the other nodes' messages until it does).",
       engine.subscriptions_unconfirmed},
  };
  std::string out;
  for (const auto& metric : singles) {
    family(out, metric.name, metric.type, metric.help);
    sample(out, metric.name, metric.value);
  }
  family(out, "greendot_connections", "gauge", "WebSocket connections of each app.");
  for (std::size_t i = 0; i < context.apps.size(); ++i) {
    const auto app = static_cast<core::AppIndex>(i);
    // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict for "x" + string.
    std::string labels = "app=\"";
    labels.append(label_value(context.apps.app(app).id)).append("\"");
    sample(out, "greendot_connections", context.apps.connections(app).load(), labels);
  }
  return out;
}

void metrics(ApiCall& call, Respond respond) {
  RestResponse response{200, metrics_text(call.context), {}};
  response.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  respond(std::move(response));
}

}  // namespace greendot::api
