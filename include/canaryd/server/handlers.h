#pragma once
// The standard routes: remote-write, /metrics, /-/healthy, /-/ready.

#include <functional>
#include <memory>

#include "canaryd/common/metrics.h"
#include "canaryd/ingest/remote_write_handler.h"
#include "canaryd/server/http_server.h"

namespace canaryd::server {

/// POST /api/v1/write (and aliases): adapts ingest::RemoteWriteHandler to HTTP.
std::shared_ptr<Handler> MakeRemoteWriteHandler(ingest::RemoteWriteHandler& handler);

/// GET /metrics: the registry in the Prometheus text format.
std::shared_ptr<Handler> MakeMetricsHandler(const MetricsRegistry& registry);

/// GET /-/healthy: 200 while the process serves. GET /-/ready: 200 while `ready()` is true.
std::shared_ptr<Handler> MakeHealthyHandler();
std::shared_ptr<Handler> MakeReadyHandler(std::function<bool()> ready);

/// Adds all of the above to `router` at their paths.
void AddStandardRoutes(Router& router, ingest::RemoteWriteHandler& remote_write,
                       const MetricsRegistry& registry, std::function<bool()> ready);

}  // namespace canaryd::server
