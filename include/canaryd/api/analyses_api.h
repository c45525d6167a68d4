#pragma once
// The analyses API (docs/api.md):
//   POST   /api/v1/analyses                 start one (201 + id; 400 listing every problem); the
//                                           config inline (canaryConfig) or stored (canaryConfigId)
//   PUT    /api/v1/analyses/{id}            the same, idempotent, with a client-chosen id
//   GET    /api/v1/analyses                 all, summarized
//   GET    /api/v1/analyses/{id}            status, definition, window, interval history, the
//                                           latest judge result with evidence, step values
//   DELETE /api/v1/analyses/{id}            cancel
//   GET    /api/v1/analyses/{id}/verdict    a small document for Argo Rollouts' `web` provider:
//                                           always 200 (FAIL included: Argo counts non-2xx as Error)
//
// Thread safety: the handlers are called concurrently from server threads; AnalysisManager is
// thread-safe.

#include <boost/system/result.hpp>
#include <string>
#include <string_view>

#include "canaryd/analysis/analysis_manager.h"
#include "canaryd/analysis/config_store.h"
#include "canaryd/server/http_server.h"

namespace canaryd::api {

/// A decoded POST /api/v1/analyses body.
struct AnalysisRequest {
  analysis::AnalysisDefinition definition;  // definition.config is empty when canary_config_id is set
  std::string canary_config_id;             // id or name of a stored config, or ""
};

/// Decodes a POST /api/v1/analyses body, or returns every problem with its JSON path.
boost::system::result<AnalysisRequest, canaryconfig::ConfigErrors> ParseAnalysisRequest(
    std::string_view body);

/// JSON of an analysis: `full` adds the definition, history, latest judge result and step values.
std::string AnalysisToJson(const analysis::AnalysisStatus& status,
                           const std::vector<model::MetricSetPair>* step_values, bool full);

/// The verdict document (Argo Rollouts `web` provider).
std::string VerdictToJson(const analysis::AnalysisStatus& status);

/// Adds the routes above to `router`.
void AddAnalysesRoutes(server::Router& router, analysis::AnalysisManager& manager,
                       const analysis::ConfigStore& configs);

}  // namespace canaryd::api
