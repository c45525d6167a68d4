#include "canaryd/api/targets_api.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "api/json_response.h"
#include "canaryd/common/iso_time.h"

namespace canaryd::api {
namespace {

namespace http = boost::beast::http;

class TargetsHandler final : public server::Handler {
 public:
  explicit TargetsHandler(const scrape::ScrapeManager* scraper) : scraper_(scraper) {}

  server::Response Handle(const server::Request& req, server::RequestState&) override {
    boost::json::array active;
    if (scraper_ != nullptr) {
      for (const auto& t : scraper_->Targets()) {
        boost::json::object labels;
        for (const auto& [n, v] : t.labels) labels[n] = v;
        boost::json::object o;
        o["labels"] = std::move(labels);
        o["scrapePool"] = t.job;
        o["scrapeUrl"] = t.url;
        o["health"] = t.health;
        o["lastError"] = t.last_error;
        o["lastScrape"] = t.last_scrape_ms == 0 ? "" : FormatIsoInstant(t.last_scrape_ms);
        o["lastScrapeDuration"] = t.last_scrape_duration_s;
        o["lastSamples"] = t.last_samples;
        o["scrapeInterval"] = std::to_string(t.interval.count()) + "ms";
        o["scrapeTimeout"] = std::to_string(t.timeout.count()) + "ms";
        active.push_back(std::move(o));
      }
    }
    boost::json::object data;
    data["activeTargets"] = std::move(active);
    data["droppedTargets"] = boost::json::array();
    boost::json::object body;
    body["status"] = "success";
    body["data"] = std::move(data);
    return JsonResponse(req, http::status::ok, boost::json::serialize(body));
  }

 private:
  const scrape::ScrapeManager* scraper_;
};

}  // namespace

void AddTargetsRoutes(server::Router& router, const scrape::ScrapeManager* scraper) {
  router.Add(http::verb::get, "/api/v1/targets", std::make_shared<TargetsHandler>(scraper));
}

}  // namespace canaryd::api
