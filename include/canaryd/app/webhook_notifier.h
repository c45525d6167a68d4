#pragma once
// Sends every analysis interval result to the analysis' webhooks (docs/webhooks.md): the
// AnalysisManager's listener, enqueueing one signed delivery per webhook in the durable outbox.

#include <string>

#include "canaryd/analysis/analysis_manager.h"
#include "canaryd/deliver/dispatcher.h"

namespace canaryd::app {

/// The JSON body of an interval event: verdict, score, analysis id, interval, a per-metric
/// summary and a link to the full result. `base_url` prefixes the link ("" for a relative one).
std::string IntervalEventJson(const analysis::AnalysisStatus& status,
                              const analysis::IntervalRecord& interval, const std::string& base_url);

/// Thread safety: OnInterval may be called from any one thread at a time (the manager's Tick).
class WebhookNotifier final : public analysis::Listener {
 public:
  WebhookNotifier(deliver::Dispatcher& dispatcher, std::string base_url)
      : dispatcher_(dispatcher), base_url_(std::move(base_url)) {}
  void OnInterval(const analysis::AnalysisStatus& status,
                  const analysis::IntervalRecord& interval) override;

 private:
  deliver::Dispatcher& dispatcher_;
  std::string base_url_;
};

}  // namespace canaryd::app
