#include "api/metrics_api.hpp"

#include <cstdint>
#include <iterator>
#include <string_view>
#include <utility>

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

}  // namespace

std::string metrics_text(server::ServerContext& context) {
  std::string out;
  family(out, "greendot_sockets_open", "gauge",
         "Sockets held now: WebSocket connections, HTTP requests and SSE streams.");
  sample(out, "greendot_sockets_open", context.sockets_open ? context.sockets_open() : 0);
  family(out, "greendot_sockets_max", "gauge",
         "server.max_connections_total, the most sockets held at once (0: no limit).");
  sample(out, "greendot_sockets_max", context.max_sockets);
  family(out, "greendot_connections", "gauge", "WebSocket connections of each app.");
  for (std::size_t i = 0; i < context.apps.size(); ++i) {
    const auto app = static_cast<core::AppIndex>(i);
    // Appended piece by piece: GCC 12 at -O3 reports a false -Wrestrict for "x" + string.
    std::string labels = "app=\"";
    labels.append(label_value(context.apps.app(app).id)).append("\"");
    sample(out, "greendot_connections", context.apps.connections(app).load(), labels);
  }
  const auto traffic = context.traffic.totals();
  family(out, "greendot_messages_received_total", "counter",
         "WebSocket messages received from clients.");
  sample(out, "greendot_messages_received_total", traffic.messages_in);
  family(out, "greendot_messages_sent_total", "counter",
         "Messages sent to clients (WebSocket frames and SSE events).");
  sample(out, "greendot_messages_sent_total", traffic.messages_out);
  const auto* webhooks = context.webhook_counts;
  family(out, "greendot_webhooks_delivered_total", "counter",
         "Webhook requests the receiver answered with 2xx.");
  sample(out, "greendot_webhooks_delivered_total", webhooks ? webhooks->delivered.load() : 0);
  family(out, "greendot_webhooks_failed_total", "counter",
         "Webhook requests that failed (an error status, a timeout, a refused connection).");
  sample(out, "greendot_webhooks_failed_total", webhooks ? webhooks->failed.load() : 0);
  family(out, "greendot_engine_ready", "gauge",
         "1 while the presence engine can serve (with Redis: reachable, this node registered).");
  sample(out, "greendot_engine_ready", context.engine.ready() ? 1 : 0);
  // What a shared engine (Redis) could not do at once, or made good; 0 with the embedded one.
  const auto engine = context.engine.counters();
  const std::pair<std::string_view, std::uint64_t> counted[] = {
      {"store_disconnections", engine.store_disconnections},
      {"messages_not_shared", engine.messages_not_shared},
      {"leases_lost", engine.leases_lost},
      {"nodes_swept", engine.nodes_swept},
      {"subscriptions_unconfirmed", engine.subscriptions_unconfirmed},
  };
  const std::string_view helps[] = {
      "Times the engine's store (Redis) went out of reach.",
      "Messages published while Redis was out of reach: they reached this node's subscribers "
      "only.",
      "Times this node found its lease in Redis gone and wrote its sessions back as a new node.",
      "Dead nodes whose sessions this node removed.",
      "Channels whose subscribers were answered before Redis confirmed this node's "
      "subscription (they miss the other nodes' messages until it does).",
  };
  for (std::size_t i = 0; i < std::size(counted); ++i) {
    std::string name = "greendot_engine_";
    name.append(counted[i].first).append("_total");
    family(out, name, "counter", helps[i]);
    sample(out, name, counted[i].second);
  }
  return out;
}

void metrics(ApiCall& call, Respond respond) {
  RestResponse response{200, metrics_text(call.context), {}};
  response.headers.emplace_back("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
  respond(std::move(response));
}

}  // namespace greendot::api
