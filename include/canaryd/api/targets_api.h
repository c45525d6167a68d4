#pragma once
// GET /api/v1/targets: the embedded scraper's targets and their health, in the shape of
// Prometheus's own /api/v1/targets (docs/scraping.md), so existing tooling and habits carry over.
//
// Thread safety: as the scraper's Targets() (any thread).

#include "canaryd/scrape/scrape_manager.h"
#include "canaryd/server/http_server.h"

namespace canaryd::api {

/// `scraper` may be null (no scrape_configs): the list is then empty.
void AddTargetsRoutes(server::Router& router, const scrape::ScrapeManager* scraper);

}  // namespace canaryd::api
