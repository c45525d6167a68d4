// A scrape target for benchmarks: serves on 127.0.0.1:PORT `/metrics` a generated Prometheus text
// 0.0.4 exposition of N samples (bench/scrape/scrape_cpu_vs_prometheus.sh).
//
// Shape (like a large application or kube-state-metrics style target): 200 metric families, each
// with HELP and TYPE, from 20 subsystems x (5 counters, 3 gauges, 2 histograms with 12 buckets,
// _sum and _count); series carry 3-6 labels (namespace, pod, container, and per family route,
// method, code, state); pod names look like Kubernetes ones ("checkout-7d9f8b6c5d-x2k4p").
// Label sets are spread evenly over families so that the exposition has exactly N sample lines.
//
// Values change between scrapes like real ones: V body variants (default 8) are generated at
// start-up, counters and histogram buckets increasing from one to the next, gauges moving; each
// request gets the next variant in turn, so serving costs a copy of a prepared string. With
// --gzip, each variant is also pre-compressed (zlib, level 6 like Go's default) and sent with
// Content-Encoding: gzip to clients whose Accept-Encoding allows it.
//
// GET /stats answers with the requests served per client (by User-Agent prefix) and encoding.
//
// Usage: canaryd-exposition-server --port PORT [--series N (100000)] [--variants V (8)] [--gzip]
//                                  [--threads T (1)]
// Runs until SIGTERM/SIGINT. Prints "ready samples=N lines=L bytes=B gzip_bytes=G ..." on stdout when serving.

#include <signal.h>
#include <zlib.h>

#include <array>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "canaryd/common/logging.h"
#include "canaryd/common/metrics.h"
#include "canaryd/server/http_server.h"

namespace {

namespace http = canaryd::server::http;

// splitmix64: deterministic pseudo-random values per (family, series).
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

void AppendNumber(std::string& out, double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

void AppendInt(std::string& out, uint64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

enum class Kind { kCounter, kGauge, kHistogram };

struct Dim {
  std::string_view name;
  std::vector<std::string_view> values;
};

struct Family {
  std::string name;  // without _bucket/_sum/_count
  std::string help;
  Kind kind;
  std::vector<const Dim*> dims;  // labels after namespace, pod, container
  bool float_counter = false;    // e.g. *_seconds_total
  size_t label_sets = 0;
};

constexpr std::array<std::string_view, 20> kSubsystems = {
    "http_server", "grpc_server", "kafka_consumer", "db_client",      "cache",
    "job_queue",   "checkout",    "payments",       "auth",           "inventory",
    "search",      "cart",        "shipping",       "email",          "recommendation",
    "ads",         "frontend",    "currency",       "quote",          "fraud_detection"};
constexpr std::array<std::string_view, 10> kNamespaces = {
    "shop-prod", "shop-staging", "payments", "identity", "search", "data", "ml", "edge", "ops",
    "platform"};
constexpr std::array<std::string_view, 20> kApps = {
    "checkout", "payments-api", "auth-server", "inventory", "search-indexer", "cart",
    "shipping", "email-sender", "recommender", "ad-server", "frontend", "currency",
    "quote", "fraud-detector", "order-worker", "catalog", "gateway", "session-store",
    "notifier", "pricing"};
constexpr std::array<double, 11> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                             0.5,   1,    2.5,   5,    10};

const Dim kRoute{"route",
                 {"/api/v1/orders", "/api/v1/orders/{id}", "/api/v1/cart", "/api/v1/products",
                  "/api/v1/products/{id}", "/api/v1/users/{id}", "/healthz", "/api/v1/search"}};
const Dim kMethod{"method", {"GET", "POST", "PUT", "DELETE"}};
const Dim kCode{"code", {"200", "201", "400", "404", "500", "503"}};
const Dim kState{"state", {"active", "idle", "closing"}};

struct Pod {
  std::string ns, name, container;
};

std::vector<Pod> MakePods(size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  static constexpr char kB36[] = "bcdfghjklmnpqrstvwxz2456789";  // like Kubernetes' safe alphabet
  std::vector<Pod> pods;
  pods.reserve(n);
  for (size_t p = 0; p < n; ++p) {
    const std::string_view app = kApps[(p / kNamespaces.size()) % kApps.size()];
    std::string name(app);
    name += '-';
    const uint64_t rs = Mix(p / 3);  // replica sets of 3 pods share a hash
    for (int i = 0; i < 10; ++i) name += kHex[(rs >> (4 * i)) & 15];
    name += '-';
    // A bijection of p (mod 27^5) keeps names unique.
    uint64_t s = (p * 48271ULL + 1234567ULL) % 14348907ULL;
    for (int i = 0; i < 5; ++i, s /= 27) name += kB36[s % 27];
    pods.push_back({std::string(kNamespaces[p % kNamespaces.size()]), std::move(name),
                    std::string(app)});
  }
  return pods;
}

std::vector<Family> MakeFamilies(size_t samples) {
  std::vector<Family> fams;
  for (std::string_view sub : kSubsystems) {
    const std::string s(sub);
    fams.push_back({s + "_requests_total", "Requests handled, by route, method and status code.",
                    Kind::kCounter, {&kRoute, &kMethod, &kCode}});
    fams.push_back({s + "_errors_total", "Requests that failed, by route and status code.",
                    Kind::kCounter, {&kRoute, &kCode}});
    fams.push_back({s + "_received_bytes_total", "Bytes received, by route.", Kind::kCounter,
                    {&kRoute}});
    fams.push_back({s + "_sent_bytes_total", "Bytes sent, by route.", Kind::kCounter, {&kRoute}});
    fams.push_back({s + "_cpu_seconds_total", "CPU time spent serving, by route.", Kind::kCounter,
                    {&kRoute}, true});
    fams.push_back({s + "_inflight_requests", "Requests in progress.", Kind::kGauge, {}});
    fams.push_back({s + "_connections", "Open connections by state.", Kind::kGauge, {&kState}});
    fams.push_back({s + "_queue_depth", "Items waiting in the work queue.", Kind::kGauge, {}});
    fams.push_back({s + "_request_duration_seconds", "Request latency, by route and method.",
                    Kind::kHistogram, {&kRoute, &kMethod}});
    fams.push_back({s + "_response_size_bytes", "Response sizes, by route.", Kind::kHistogram,
                    {&kRoute}});
  }
  // Exactly `samples` sample lines: every family gets the same number of label sets, then the
  // remainder goes one label set at a time to the counters and gauges.
  const size_t per_set = kBuckets.size() + 3;  // buckets, +Inf, _sum, _count
  size_t weight = 0;
  for (const auto& f : fams) weight += f.kind == Kind::kHistogram ? per_set : 1;
  const size_t base = samples / weight;
  size_t rest = samples - base * weight;
  for (auto& f : fams) f.label_sets = base;
  while (rest > 0) {
    for (auto& f : fams) {
      if (rest == 0) break;
      if (f.kind == Kind::kHistogram) continue;
      ++f.label_sets;
      --rest;
    }
  }
  return fams;
}

// One exposition with counters advanced `variant` steps (a step is one scrape interval).
std::string Render(const std::vector<Family>& fams, const std::vector<Pod>& pods, int variant) {
  std::string out;
  out.reserve(32 << 20);
  std::string labels;
  for (size_t fi = 0; fi < fams.size(); ++fi) {
    const Family& f = fams[fi];
    out += "# HELP ";
    out += f.name;
    out += ' ';
    out += f.help;
    out += "\n# TYPE ";
    out += f.name;
    out += f.kind == Kind::kCounter ? " counter\n" : f.kind == Kind::kGauge ? " gauge\n" : " histogram\n";
    size_t combos = 1;
    for (const Dim* d : f.dims) combos *= d->values.size();
    for (size_t j = 0; j < f.label_sets; ++j) {
      size_t rest = j;
      // The pod varies slowest, so a pod's series are together, as in a real exposition.
      const Pod& pod = pods[(rest / combos + fi * 13) % pods.size()];
      labels.clear();
      labels += "namespace=\"";
      labels += pod.ns;
      labels += "\",pod=\"";
      labels += pod.name;
      labels += "\",container=\"";
      labels += pod.container;
      labels += '"';
      for (const Dim* d : f.dims) {
        labels += ',';
        labels += d->name;
        labels += "=\"";
        labels += d->values[rest % d->values.size()];
        labels += '"';
        rest /= d->values.size();
      }
      const uint64_t h = Mix((fi << 32) ^ j);
      const double rate = 1 + static_cast<double>(h % 200);  // per scrape interval
      switch (f.kind) {
        case Kind::kCounter: {
          out += f.name;
          out += '{';
          out += labels;
          out += "} ";
          if (f.float_counter) {
            AppendNumber(out, static_cast<double>(h % 1000000) / 1000 + rate * variant * 0.0137);
          } else {
            AppendInt(out, h % 10000000 + static_cast<uint64_t>(rate) * static_cast<uint64_t>(variant));
          }
          out += '\n';
          break;
        }
        case Kind::kGauge: {
          out += f.name;
          out += '{';
          out += labels;
          out += "} ";
          AppendInt(out, (h >> 8) % 64 + static_cast<uint64_t>((variant * 7 + static_cast<int>(h % 5)) % 9));
          out += '\n';
          break;
        }
        case Kind::kHistogram: {
          const uint64_t count = h % 5000000 + static_cast<uint64_t>(rate) * static_cast<uint64_t>(variant);
          // Cumulative buckets: a fixed share of the count in each, rising to the total.
          for (size_t b = 0; b <= kBuckets.size(); ++b) {
            out += f.name;
            out += "_bucket{";
            out += labels;
            out += ",le=\"";
            if (b < kBuckets.size()) {
              AppendNumber(out, kBuckets[b]);
            } else {
              out += "+Inf";
            }
            out += "\"} ";
            AppendInt(out, b < kBuckets.size() ? count * (b + 1) / (kBuckets.size() + 1) : count);
            out += '\n';
          }
          out += f.name;
          out += "_sum{";
          out += labels;
          out += "} ";
          AppendNumber(out, static_cast<double>(count) * 0.0421 + (h % 1000) / 997.0);
          out += '\n';
          out += f.name;
          out += "_count{";
          out += labels;
          out += "} ";
          AppendInt(out, count);
          out += '\n';
          break;
        }
      }
    }
  }
  return out;
}

std::string Gzip(const std::string& in) {
  z_stream zs{};
  // 16 + MAX_WBITS: gzip framing; level 6 as Go's compress/gzip DefaultCompression.
  if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    std::fprintf(stderr, "zlib init failed\n");
    std::exit(1);
  }
  std::string out(deflateBound(&zs, in.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  if (deflate(&zs, Z_FINISH) != Z_STREAM_END) {
    std::fprintf(stderr, "zlib deflate failed\n");
    std::exit(1);
  }
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

enum Client { kCanaryd, kPrometheus, kOther, kClients };
constexpr std::array<std::string_view, kClients> kClientNames = {"canaryd", "prometheus", "other"};

struct Stats {
  std::atomic<uint64_t> requests[kClients][2] = {};  // [client][gzip]
};

class MetricsHandler final : public canaryd::server::Handler {
 public:
  MetricsHandler(std::vector<std::string> plain, std::vector<std::string> gz, Stats& stats)
      : plain_(std::move(plain)), gz_(std::move(gz)), stats_(stats) {}

  canaryd::server::Response Handle(const canaryd::server::Request& req,
                                   canaryd::server::RequestState&) override {
    const size_t v = next_.fetch_add(1, std::memory_order_relaxed) % plain_.size();
    const std::string_view ua = req[http::field::user_agent];
    const Client c = ua.starts_with("canaryd")      ? kCanaryd
                     : ua.starts_with("Prometheus") ? kPrometheus
                                                    : kOther;
    const bool gzip = !gz_.empty() &&
                      req[http::field::accept_encoding].find("gzip") != std::string_view::npos;
    stats_.requests[c][gzip ? 1 : 0].fetch_add(1, std::memory_order_relaxed);
    canaryd::server::Response res{http::status::ok, req.version()};
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    if (gzip) res.set(http::field::content_encoding, "gzip");
    res.keep_alive(canaryd::server::WantsKeepAlive(req));
    res.body() = gzip ? gz_[v] : plain_[v];
    res.prepare_payload();
    return res;
  }

 private:
  std::vector<std::string> plain_;
  std::vector<std::string> gz_;
  Stats& stats_;
  std::atomic<uint64_t> next_{0};
};

class StatsHandler final : public canaryd::server::Handler {
 public:
  explicit StatsHandler(Stats& stats) : stats_(stats) {}
  canaryd::server::Response Handle(const canaryd::server::Request& req,
                                   canaryd::server::RequestState&) override {
    std::string body;
    for (int c = 0; c < kClients; ++c) {
      for (int g = 0; g < 2; ++g) {
        body += "exposition_requests_total{client=\"";
        body += kClientNames[static_cast<size_t>(c)];
        body += g ? "\",encoding=\"gzip\"} " : "\",encoding=\"identity\"} ";
        AppendInt(body, stats_.requests[c][g].load(std::memory_order_relaxed));
        body += '\n';
      }
    }
    return canaryd::server::TextResponse(req, http::status::ok, std::move(body));
  }

 private:
  Stats& stats_;
};

}  // namespace

int main(int argc, char** argv) {
  unsigned port = 0;
  size_t series = 100000;
  int variants = 8;
  unsigned threads = 1;
  bool gzip = false;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const bool has_value = i + 1 < argc;
    if (flag == "--gzip") {
      gzip = true;
    } else if (flag == "--port" && has_value) {
      port = static_cast<unsigned>(std::atoi(argv[++i]));
    } else if (flag == "--series" && has_value) {
      series = static_cast<size_t>(std::atoll(argv[++i]));
    } else if (flag == "--variants" && has_value) {
      variants = std::max(1, std::atoi(argv[++i]));
    } else if (flag == "--threads" && has_value) {
      threads = static_cast<unsigned>(std::max(1, std::atoi(argv[++i])));
    } else {
      std::fprintf(stderr,
                   "usage: canaryd-exposition-server --port PORT [--series N] [--variants V] "
                   "[--gzip] [--threads T]\n");
      return 2;
    }
  }
  if (port == 0 || port > 65535) {
    std::fprintf(stderr, "--port is required (1-65535)\n");
    return 2;
  }
  (void)canaryd::InitLogging("warn");
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const auto fams = MakeFamilies(series);
  size_t max_sets = 0;
  for (const auto& f : fams) max_sets = std::max(max_sets, f.label_sets);
  // Enough pods that every label set of a family is distinct (a family's own labels give at
  // least 1 combination per pod).
  const auto pods = MakePods(std::max<size_t>(500, max_sets));
  std::vector<std::string> plain;
  std::vector<std::string> gz;
  for (int v = 0; v < variants; ++v) {
    plain.push_back(Render(fams, pods, v));
    if (gzip) gz.push_back(Gzip(plain.back()));
  }
  size_t lines = 0;
  for (char c : plain[0]) lines += c == '\n';
  const size_t bytes = plain[0].size();
  const size_t gzip_bytes = gz.empty() ? 0 : gz[0].size();

  Stats stats;
  canaryd::server::Router router;
  router.Add(http::verb::get, "/metrics",
             std::make_shared<MetricsHandler>(std::move(plain), std::move(gz), stats));
  router.Add(http::verb::get, "/stats", std::make_shared<StatsHandler>(stats));
  canaryd::MetricsRegistry metrics;
  canaryd::server::ServerOptions options;
  options.address = "127.0.0.1";
  options.port = static_cast<uint16_t>(port);
  options.threads = threads;
  options.shutdown_grace = std::chrono::seconds(1);
  canaryd::server::HttpServer server(options, std::move(router), metrics);
  if (auto r = server.Start(); !r) {
    std::fprintf(stderr, "cannot listen on 127.0.0.1:%u: %s\n", port, r.error().message().c_str());
    return 1;
  }
  std::printf("ready samples=%zu lines=%zu bytes=%zu gzip_bytes=%zu families=%zu pods=%zu\n",
              series, lines, bytes, gzip_bytes, fams.size(), pods.size());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  server.Shutdown();
  server.Wait();
  return 0;
}
