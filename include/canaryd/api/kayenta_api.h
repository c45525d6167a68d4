#pragma once
// The subset of Kayenta's REST API that Argo Rollouts' `kayenta` provider and Spinnaker's canary
// stage call, so they can point at canaryd unchanged (docs/api.md, "Kayenta-compatible"):
//   GET/POST /canaryConfig, GET/PUT/DELETE /canaryConfig/{id}
//   POST /canary/{configId}   (query parameters accepted and ignored: canaryd has no accounts)
//   GET  /canary/{id}         Kayenta's CanaryExecutionStatusResponse
//
// canaryd judges data as it arrives, so an execution request for [start, end] becomes one
// analysis of the same length starting now (one judgment at its end), not a query of the past.
//
// Thread safety: as the analyses API.

#include "canaryd/analysis/analysis_manager.h"
#include "canaryd/analysis/config_store.h"
#include "canaryd/server/http_server.h"

namespace canaryd::api {

void AddKayentaRoutes(server::Router& router, analysis::ConfigStore& configs,
                      analysis::AnalysisManager& analyses);

}  // namespace canaryd::api
