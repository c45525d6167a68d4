#pragma once
// Flagger webhooks (docs/api.md, "Flagger"):
//   POST /api/v1/flagger/pre-rollout  starts (idempotently) the analysis of a canary revision,
//                                     keyed by the payload's name, namespace and checksum, from
//                                     the stored canary config named in metadata.canaryConfig
//   POST /api/v1/flagger/rollout      200 while that analysis is CONTINUE or PASS; 409 with an
//                                     explanation otherwise (Flagger fails a check on any status
//                                     above 202 and shows the body in its events)
//
// Thread safety: as the analyses API.

#include "canaryd/analysis/analysis_manager.h"
#include "canaryd/analysis/config_store.h"
#include "canaryd/server/http_server.h"

namespace canaryd::api {

void AddFlaggerRoutes(server::Router& router, analysis::ConfigStore& configs,
                      analysis::AnalysisManager& analyses);

}  // namespace canaryd::api
