// canaryd's service (same HTTP server, remote-write handler and window store as `canaryd serve`)
// with N analyses over the cAdvisor workload created through the internal API, for measuring
// ingest cost with active analyses (bench/window/ingest_with_analyses.sh). Analyses get an HTTP
// API in a later issue; until then this harness is how a load test gets them.
//
// Usage: canaryd-bench-analyses --listen-address 127.0.0.1:PORT --analyses N [--threads T]
//                                [--start-ms MS (first step of every analysis)]
// Runs until SIGTERM/SIGINT, closing due steps once a second like `canaryd serve`.

#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "canaryd/app/service.h"
#include "canaryd/common/clock.h"
#include "canaryd/common/logging.h"
#include "workload/workload.h"

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1:9464";
  int analyses = 0;
  unsigned threads = 1;
  int64_t start_ms = canaryd::bench::WorkloadOptions{}.start_ms;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--listen-address") {
      listen = argv[i + 1];
    } else if (flag == "--analyses") {
      analyses = std::atoi(argv[i + 1]);
    } else if (flag == "--start-ms") {
      start_ms = std::atoll(argv[i + 1]);
    } else if (flag == "--threads") {
      threads = static_cast<unsigned>(std::atoi(argv[i + 1]));
    } else {
      std::fprintf(stderr, "unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  canaryd::InitLogging("warn");
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  canaryd::config::Config cfg;
  canaryd::config::ParseListenAddress(listen, "--listen-address", cfg.server);
  cfg.server.threads = threads;
  canaryd::app::Service service(cfg, canaryd::SystemClock::Instance());
  for (const auto& metrics : canaryd::bench::AnalysisQueries(analyses)) {
    canaryd::window::AnalysisWindowSpec spec;
    spec.start_ms = start_ms;
    spec.step_ms = 60'000;
    for (size_t m = 0; m < metrics.size(); ++m) {
      spec.metrics.push_back({"m" + std::to_string(m), *canaryd::select::ParseQuery(metrics[m].first),
                              *canaryd::select::ParseQuery(metrics[m].second)});
    }
    service.windows().AddAnalysis(std::move(spec));
  }
  if (auto r = service.Start(); !r) {
    std::fprintf(stderr, "cannot listen on %s: %s\n", listen.c_str(), r.error().message().c_str());
    return 1;
  }
  for (;;) {
    timespec timeout{1, 0};
    const int sig = sigtimedwait(&signals, nullptr, &timeout);
    if (sig == SIGTERM || sig == SIGINT) break;
    service.Housekeeping();
  }
  service.Shutdown();
  service.Wait();
  return 0;
}
