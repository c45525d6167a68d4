#include "canaryd/scrape/scrape_manager.h"

#include <glob.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "canaryd/common/file.h"
#include "canaryd/scrape/target.h"
#include "scrape/file_sd.h"
#include "scrape/gzip.h"

namespace canaryd::scrape {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using Strand = asio::strand<asio::io_context::executor_type>;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// Prometheus 2.42's Accept header: OpenMetrics first, then the text format.
constexpr std::string_view kAccept =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;"
    "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

// FNV-1a: a stable hash (unlike the label hash, which is seeded per process) so a target keeps
// its phase across restarts.
uint64_t StableHash(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) {
    h = (h ^ c) * 1099511628211ULL;
  }
  return h;
}

// A secret file's content without its trailing newline.
std::string ReadSecretFile(const std::string& path, std::string& error) {
  std::string s;
  if (!ReadFile(path, s, error)) {
    error = "cannot read " + path + ": " + error;
    return "";
  }
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

struct JobMetrics {
  Counter* results[static_cast<size_t>(ScrapeFailure::kRead) + 1] = {};
  Counter* samples = nullptr;
  Counter* stale_markers = nullptr;
  Counter* duplicates = nullptr;
  Counter* sd_errors = nullptr;
  Gauge* targets = nullptr;
};

struct Job {
  ScrapeConfig config;
  std::unique_ptr<asio::ssl::context> tls;  // for https targets
  JobMetrics metrics;
  // file_sd state, touched only on the discovery strand.
  struct FileState {
    int64_t mtime_ns = -1;
    int64_t size = -1;
    std::vector<TargetGroup> groups;
  };
  std::map<std::string, FileState> files;
  std::chrono::steady_clock::time_point last_full_refresh{};
};

struct Target {
  Target(TargetSpec spec, Job& owner, ingest::SampleSink& sink, asio::io_context& ioc)
      : job(owner),
        scraper(std::move(spec), owner.config, sink),
        strand(asio::make_strand(ioc)),
        timer(strand) {}

  Job& job;
  TargetScraper scraper;
  Strand strand;
  asio::steady_timer timer;
  // Touched only on the strand.
  bool stop = false;
  bool end_of_run = false;  // write stale markers after stopping (removed, not shut down)
  std::optional<beast::tcp_stream> tcp;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  beast::flat_buffer read_buffer;
  std::string decoded;      // the body the scraper parses
  std::string spare_body;   // a body buffer kept for the next read (no 10 MB allocation per scrape)
  std::string last_error;
  bool was_up = true;
  std::atomic<bool> finished{false};  // the scrape loop has returned
  // Read by Targets() from any thread.
  mutable std::mutex status_mu;
  TargetStatus status;
};

}  // namespace

struct ScrapeManager::Impl {
  Impl(std::vector<ScrapeConfig> job_configs, ScrapeOptions opts, ingest::SampleSink& out,
       const Clock& time, MetricsRegistry& metrics)
      : options(std::move(opts)), sink(out), clock(time), discovery(asio::make_strand(ioc)),
        discovery_timer(discovery) {
    auto& results = metrics.AddCounterFamily(
        "canaryd_scrapes_total",
        "Scrapes by job and result: success, or why the scrape failed (up=0).", {"job", "result"});
    auto& samples = metrics.AddCounterFamily(
        "canaryd_scrape_samples_total", "Samples ingested from successful scrapes.", {"job"});
    auto& stale = metrics.AddCounterFamily(
        "canaryd_scrape_stale_markers_total",
        "Stale markers written for series that disappeared (or whose target failed or went away).",
        {"job"});
    auto& dups = metrics.AddCounterFamily(
        "canaryd_scrape_duplicate_samples_total",
        "Samples dropped because their series appeared twice in one exposition.", {"job"});
    auto& sd = metrics.AddCounterFamily(
        "canaryd_scrape_sd_file_errors_total",
        "file_sd files that could not be read or parsed (their previous targets were kept).",
        {"job"});
    auto& target_counts = metrics.AddGaugeFamily("canaryd_scrape_targets",
                                           "Current scrape targets by job.", {"job"});
    for (auto& c : job_configs) {
      auto job = std::make_unique<Job>();
      job->config = std::move(c);
      const std::string& name = job->config.job_name;
      for (size_t r = 0; r < std::size(job->metrics.results); ++r) {
        job->metrics.results[r] =
            &results.WithLabels({name, ScrapeFailureName(static_cast<ScrapeFailure>(r))});
      }
      job->metrics.samples = &samples.WithLabels({name});
      job->metrics.stale_markers = &stale.WithLabels({name});
      job->metrics.duplicates = &dups.WithLabels({name});
      job->metrics.sd_errors = &sd.WithLabels({name});
      job->metrics.targets = &target_counts.WithLabels({name});
      jobs.push_back(std::move(job));
    }
  }

  void LoadTls(Job& job) {
    const auto& t = job.config.tls_config;
    auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    boost::system::error_code ec;
    auto fail = [&](const std::string& what) {
      throw std::runtime_error("scrape_configs job \"" + job.config.job_name +
                               "\": tls_config: " + what + ": " + ec.message());
    };
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                         asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                         asio::ssl::context::no_tlsv1_1,
                     ec);
    if (ec) fail("options");
    ctx->set_verify_mode(t.insecure_skip_verify ? asio::ssl::verify_none : asio::ssl::verify_peer,
                         ec);
    if (ec) fail("verify mode");
    if (t.ca_file.empty()) {
      ctx->set_default_verify_paths(ec);
      if (ec) fail("system trust store");
    } else {
      ctx->load_verify_file(t.ca_file, ec);
      if (ec) fail("ca_file " + t.ca_file);
    }
    if (!t.cert_file.empty()) {
      ctx->use_certificate_chain_file(t.cert_file, ec);
      if (ec) fail("cert_file " + t.cert_file);
      ctx->use_private_key_file(t.key_file, asio::ssl::context::pem, ec);
      if (ec) fail("key_file " + t.key_file);
    }
    job.tls = std::move(ctx);
  }

  void Start() {
    for (auto& job : jobs) {
      LoadTls(*job);
    }
    // Initial targets, before the threads start, so the first scrapes are not delayed.
    for (auto& job : jobs) {
      RefreshFiles(*job, /*force=*/true);
      SyncTargets(*job);
    }
    work.emplace(ioc.get_executor());
    asio::co_spawn(discovery, DiscoveryLoop(), asio::detached);
    const unsigned n = std::max(1u, options.threads);
    for (unsigned i = 0; i < n; ++i) {
      threads.emplace_back([this] { ioc.run(); });
    }
  }

  void Stop() {
    if (threads.empty()) {
      return;
    }
    {
      std::lock_guard lock(mu);
      stopping = true;
      for (auto& [key, t] : targets) {
        StopTarget(t, /*end_of_run=*/false);
      }
      for (auto& t : retiring) {
        StopTarget(t, /*end_of_run=*/false);  // no end-of-run staleness at shutdown
      }
    }
    asio::post(discovery, [this] { discovery_timer.cancel(); });
    work.reset();
    // Loops see `stop` and return; give in-flight requests a moment, then force the end.
    for (int i = 0; i < 50 && !ioc.stopped(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ioc.stop();
    for (auto& th : threads) {
      th.join();
    }
    threads.clear();
  }

  // --- targets -----------------------------------------------------------------------------

  // All target specs of a job: static groups, then file groups.
  std::map<std::string, TargetSpec> WantedTargets(Job& job) {
    std::map<std::string, TargetSpec> wanted;
    auto add_group = [&](const TargetGroup& g, const std::string& origin) {
      for (const auto& address : g.targets) {
        TargetSpec spec;
        const std::string why = MakeTargetSpec(job.config, address, g.labels, spec);
        if (!why.empty()) {
          spdlog::error("scrape job \"{}\": {}: skipping target: {}", job.config.job_name, origin,
                        why);
          continue;
        }
        std::string key = spec.Key();
        wanted.emplace(std::move(key), std::move(spec));
      }
    };
    for (const auto& g : job.config.static_configs) {
      add_group(g, "static_configs");
    }
    for (const auto& [path, state] : job.files) {
      for (const auto& g : state.groups) {
        add_group(g, path);
      }
    }
    return wanted;
  }

  void SyncTargets(Job& job) {
    auto wanted = WantedTargets(job);
    std::lock_guard lock(mu);
    if (stopping) return;
    size_t count = 0;
    std::erase_if(retiring, [](const auto& t) { return t->finished.load(); });
    for (auto it = targets.begin(); it != targets.end();) {
      if (&it->second->job == &job && !wanted.count(it->first)) {
        spdlog::info("scrape job \"{}\": target {} removed", job.config.job_name,
                     it->second->scraper.spec().Url());
        StopTarget(it->second, /*end_of_run=*/true);
        retiring.push_back(it->second);
        it = targets.erase(it);
      } else {
        ++it;
      }
    }
    for (auto& [key, spec] : wanted) {
      ++count;
      if (targets.count(key)) continue;
      auto t = std::make_shared<Target>(std::move(spec), job, sink, ioc);
      {
        const auto& s = t->scraper.spec();
        t->status.job = job.config.job_name;
        t->status.url = s.Url();
        t->status.labels = s.labels;
        t->status.interval = job.config.scrape_interval;
        t->status.timeout = job.config.scrape_timeout;
      }
      spdlog::info("scrape job \"{}\": target {} added", job.config.job_name, t->status.url);
      asio::co_spawn(t->strand, RunTarget(t), asio::detached);
      targets.emplace(key, std::move(t));
    }
    job.metrics.targets->Set(static_cast<double>(count));
  }

  void StopTarget(const std::shared_ptr<Target>& t, bool end_of_run) {
    asio::post(t->strand, [t, end_of_run] {
      t->stop = true;
      t->end_of_run = end_of_run;
      t->timer.cancel();
      boost::system::error_code ignored;
      if (t->tcp) t->tcp->socket().close(ignored);
      if (t->tls) beast::get_lowest_layer(*t->tls).socket().close(ignored);
    });
  }

  // Waits until the wall clock reaches `at_ms` (or the target is stopped). False if stopped.
  asio::awaitable<bool> SleepUntil(Target& t, int64_t at_ms) {
    while (!t.stop) {
      const int64_t now = clock.NowMillis();
      if (now >= at_ms) co_return true;
      t.timer.expires_after(std::chrono::milliseconds(at_ms - now));
      co_await t.timer.async_wait(kUseTuple);
    }
    co_return false;
  }

  asio::awaitable<void> RunTarget(std::shared_ptr<Target> t) {
    const auto& cfg = t->job.config;
    const int64_t interval = std::max<int64_t>(1, cfg.scrape_interval.count());
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    const int64_t offset =
        static_cast<int64_t>((StableHash(t->scraper.spec().Key()) ^ StableHash(host)) %
                             static_cast<uint64_t>(interval));
    const int64_t now = clock.NowMillis();
    int64_t next = now - ((now - offset) % interval + interval) % interval;
    if (next < now) next += interval;
    while (co_await SleepUntil(*t, next)) {
      int64_t start_ms = clock.NowMillis();
      // Like Prometheus (scrape.timestamp-tolerance), a scrape that starts within 2 ms of its
      // instant is stamped with the instant, so timestamps stay evenly spaced.
      if (start_ms - next <= 2) start_ms = next;
      const auto mono_start = std::chrono::steady_clock::now();
      ScrapeResponse response = co_await Fetch(*t);
      if (t->stop) break;
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - mono_start;
      const ScrapeReport report = t->scraper.Process(response, start_ms, took);
      Record(*t, report, start_ms);
      const int64_t after = clock.NowMillis();
      next += interval;
      if (next <= after) {
        next += ((after - next) / interval + 1) * interval;  // skip the instants we missed
      }
    }
    if (t->end_of_run) {
      // Prometheus's end-of-run staleness: stamp at the next scrape instant, write after two
      // intervals plus 10 % in case the target comes back.
      t->stop = false;
      const int64_t stale_at = next;
      if (co_await SleepUntil(*t, next + interval + interval / 10)) {
        t->scraper.EndOfRun(stale_at);
      }
    }
    boost::system::error_code ignored;
    if (t->tcp) t->tcp->socket().close(ignored);
    if (t->tls) beast::get_lowest_layer(*t->tls).socket().close(ignored);
    t->finished.store(true);
  }

  void Record(Target& t, const ScrapeReport& r, int64_t start_ms) {
    auto& m = t.job.metrics;
    m.results[static_cast<size_t>(r.failure)]->Inc();
    m.stale_markers->Inc(r.stale_markers);
    m.duplicates->Inc(r.duplicates);
    const std::string& url = t.scraper.spec().Url();
    if (r.failure == ScrapeFailure::kNone) {
      m.samples->Inc(r.samples_scraped - r.duplicates);
      if (!t.was_up) {
        spdlog::info("scrape of {} (job \"{}\") recovered: up=1", url, t.job.config.job_name);
      }
      t.was_up = true;
      t.last_error.clear();
    } else {
      const std::string msg = std::string(ScrapeFailureName(r.failure)) + ": " + r.error;
      if (t.was_up || msg != t.last_error) {
        spdlog::warn("scrape of {} (job \"{}\") failed, up=0: {}", url, t.job.config.job_name, msg);
      } else {
        spdlog::debug("scrape of {} (job \"{}\") failed again, up=0: {}", url,
                      t.job.config.job_name, msg);
      }
      t.was_up = false;
      t.last_error = msg;
    }
    if (r.duplicates != 0) {
      spdlog::debug("scrape of {}: {} duplicate series dropped", url, r.duplicates);
    }
    completed.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard lock(t.status_mu);
    t.status.health = r.failure == ScrapeFailure::kNone ? "up" : "down";
    t.status.last_error = t.last_error;
    t.status.last_scrape_ms = start_ms;
    t.status.last_scrape_duration_s = r.duration_s;
    t.status.last_samples = r.samples_scraped;
  }

  // --- HTTP --------------------------------------------------------------------------------

  // Builds the request; "" or why a credentials file could not be read.
  std::string BuildRequest(Target& t, http::request<http::empty_body>& req) {
    const auto& spec = t.scraper.spec();
    const auto& cfg = t.job.config;
    std::string target = spec.path;
    if (!spec.query.empty()) {
      target += (target.find('?') == std::string::npos ? "?" : "&") + spec.query;
    }
    req = {};
    req.method(http::verb::get);
    req.target(target);
    req.version(11);
    req.set(http::field::host, spec.Instance());
    req.set(http::field::user_agent, options.user_agent);
    req.set(http::field::accept, kAccept);
    req.set(http::field::accept_encoding, "gzip");
    char timeout[32];
    std::snprintf(timeout, sizeof timeout, "%g",
                  std::chrono::duration<double>(cfg.scrape_timeout).count());
    req.set("X-Prometheus-Scrape-Timeout-Seconds", timeout);
    std::string error;
    if (cfg.basic_auth) {
      const auto& b = *cfg.basic_auth;
      std::string password = b.password;
      if (!b.password_file.empty()) {
        password = ReadSecretFile(b.password_file, error);  // re-read: secrets rotate
        if (!error.empty()) return "basic_auth.password_file: " + error;
      }
      const std::string plain = b.username + ":" + password;
      std::string encoded(beast::detail::base64::encoded_size(plain.size()), '\0');
      encoded.resize(beast::detail::base64::encode(encoded.data(), plain.data(), plain.size()));
      req.set(http::field::authorization, "Basic " + encoded);
    } else if (cfg.authorization) {
      const auto& a = *cfg.authorization;
      std::string credentials = a.credentials;
      if (!a.credentials_file.empty()) {
        credentials = ReadSecretFile(a.credentials_file, error);
        if (!error.empty()) return "authorization.credentials_file: " + error;
      }
      req.set(http::field::authorization, a.type + " " + credentials);
    }
    return "";
  }

  // Why the request or response failed once connected.
  static ScrapeFailure Classify(const boost::system::error_code& ec) {
    if (ec == beast::error::timeout) return ScrapeFailure::kTimeout;
    if (ec == http::error::body_limit) return ScrapeFailure::kBodySizeLimit;
    return ScrapeFailure::kRead;
  }

  template <typename Stream>
  asio::awaitable<boost::system::error_code> Exchange(
      Stream& stream, Target& t, const http::request<http::empty_body>& req,
      http::response_parser<http::string_body>& parser) {
    auto [wec, wn] = co_await http::async_write(stream, req, kUseTuple);
    if (wec) co_return wec;
    auto [rec, rn] = co_await http::async_read(stream, t.read_buffer, parser, kUseTuple);
    co_return rec;
  }

  asio::awaitable<boost::system::error_code> Connect(Target& t,
                                                     std::chrono::steady_clock::time_point deadline,
                                                     std::string& error) {
    const auto& spec = t.scraper.spec();
    auto ex = co_await asio::this_coro::executor;
    asio::ip::tcp::resolver resolver(ex);
    auto [rec, results] = co_await resolver.async_resolve(spec.host, spec.port, kUseTuple);
    if (rec) {
      error = "resolving " + spec.host + ": " + rec.message();
      co_return rec;
    }
    t.read_buffer.clear();
    // Beast reads at most the buffer's free capacity (512 bytes if it never grew): a 15 MB body
    // would take 30,000 reads. 64 KiB makes that 240.
    t.read_buffer.reserve(64 * 1024);
    if (spec.scheme != "https") {
      t.tls.reset();
      t.tcp.emplace(ex);
      t.tcp->expires_at(deadline);
      auto [cec, ep] = co_await t.tcp->async_connect(results, kUseTuple);
      if (cec) {
        error = "connecting to " + spec.Instance() + ": " + cec.message();
        t.tcp.reset();
      }
      co_return cec;
    }
    t.tcp.reset();
    t.tls.emplace(ex, *t.job.tls);
    auto& tcp = beast::get_lowest_layer(*t.tls);
    tcp.expires_at(deadline);
    auto [cec, ep] = co_await tcp.async_connect(results, kUseTuple);
    if (cec) {
      error = "connecting to " + spec.Instance() + ": " + cec.message();
      t.tls.reset();
      co_return cec;
    }
    const auto& tc = t.job.config.tls_config;
    const std::string& name = tc.server_name.empty() ? spec.host : tc.server_name;
    boost::system::error_code not_ip;
    asio::ip::make_address(name, not_ip);
    if (not_ip && !SSL_set_tlsext_host_name(t.tls->native_handle(), name.c_str())) {
      error = "TLS: cannot set server name " + name;
      t.tls.reset();
      co_return asio::error::invalid_argument;
    }
    if (!tc.insecure_skip_verify) {
      boost::system::error_code vec;
      t.tls->set_verify_callback(asio::ssl::host_name_verification(name), vec);
    }
    auto [hec] = co_await t.tls->async_handshake(asio::ssl::stream_base::client, kUseTuple);
    if (hec) {
      error = "TLS handshake with " + spec.Instance() + ": " + hec.message();
      t.tls.reset();
    }
    co_return hec;
  }

  asio::awaitable<ScrapeResponse> Fetch(Target& t) {
    ScrapeResponse out;
    const auto& cfg = t.job.config;
    const auto deadline = std::chrono::steady_clock::now() + cfg.scrape_timeout;
    http::request<http::empty_body> req;
    if (std::string why = BuildRequest(t, req); !why.empty()) {
      out.failure = ScrapeFailure::kRead;
      out.error = std::move(why);
      co_return out;
    }
    const uint64_t limit =
        cfg.body_size_limit != 0 ? cfg.body_size_limit : options.default_body_size_limit;
    auto too_large = [limit](const char* what) {
      return std::string(what) + " larger than body_size_limit (" + std::to_string(limit) +
             " bytes)";
    };
    std::optional<http::response_parser<http::string_body>> parser;
    boost::system::error_code ec;
    // A kept-alive connection may have been closed by the target since the last scrape; then
    // the request is retried once on a new connection (it is idempotent), as Go's client does.
    for (int attempt = 0; attempt < 2; ++attempt) {
      const bool reused = t.tcp.has_value() || t.tls.has_value();
      std::string error;
      if (!reused) {
        ec = co_await Connect(t, deadline, error);
        if (t.stop) co_return out;
        if (ec) {
          out.failure = std::chrono::steady_clock::now() >= deadline ? ScrapeFailure::kTimeout
                                                                     : ScrapeFailure::kConnect;
          out.error = std::move(error);
          co_return out;
        }
      }
      parser.emplace();
      // Read into last scrape's buffer: the string body appends, so its capacity is reused.
      t.spare_body.clear();
      parser->get().body().swap(t.spare_body);
      // The body limit applies to the decoded body; a gzip body is smaller, except for
      // incompressible data, which gzip grows by well under 1 %.
      parser->body_limit(limit + limit / 64 + 4096);
      parser->header_limit(64 * 1024);
      if (t.tls) {
        beast::get_lowest_layer(*t.tls).expires_at(deadline);
        ec = co_await Exchange(*t.tls, t, req, *parser);
      } else {
        t.tcp->expires_at(deadline);
        ec = co_await Exchange(*t.tcp, t, req, *parser);
      }
      if (t.stop) co_return out;
      if (!ec) break;
      t.tcp.reset();
      t.tls.reset();
      const bool nothing_received = !parser->got_some();
      if (reused && nothing_received && ec != beast::error::timeout) {
        continue;  // stale keep-alive connection
      }
      out.failure = Classify(ec);
      out.error = out.failure == ScrapeFailure::kTimeout
                      ? "no complete response within scrape_timeout (" +
                            std::to_string(cfg.scrape_timeout.count()) + "ms)"
                  : out.failure == ScrapeFailure::kBodySizeLimit
                      ? too_large("body")
                      : "reading the response: " + ec.message();
      co_return out;
    }
    auto& res = parser->get();
    if (!res.keep_alive()) {
      t.tcp.reset();
      t.tls.reset();
    }
    if (res.result() != http::status::ok) {
      out.failure = ScrapeFailure::kHttpStatus;
      out.error = "server returned HTTP status " + std::to_string(res.result_int()) + " " +
                  std::string(res.reason());
      co_return out;
    }
    out.content_type = std::string(res[http::field::content_type]);
    const std::string_view encoding = res[http::field::content_encoding];
    std::string& body = res.body();
    if (encoding == "gzip" || encoding == "x-gzip") {
      std::string error;
      const GunzipStatus status = Gunzip(body, limit, t.decoded, error);
      t.spare_body.swap(body);  // keep the compressed body's buffer for the next read
      switch (status) {
        case GunzipStatus::kOk:
          out.body = t.decoded;
          break;
        case GunzipStatus::kTooLarge:
          out.failure = ScrapeFailure::kBodySizeLimit;
          out.error = too_large("decompressed body");
          co_return out;
        case GunzipStatus::kCorrupt:
          out.failure = ScrapeFailure::kBadEncoding;
          out.error = "invalid gzip body: " + error;
          co_return out;
      }
    } else if (encoding.empty() || encoding == "identity") {
      if (body.size() > limit) {
        out.failure = ScrapeFailure::kBodySizeLimit;
        out.error = too_large("body");
        co_return out;
      }
      t.decoded.swap(body);
      t.spare_body.swap(body);  // the previous body's buffer, for the next read
      out.body = t.decoded;
    } else {
      out.failure = ScrapeFailure::kBadEncoding;
      out.error = "unsupported Content-Encoding \"" + std::string(encoding) + "\"";
      co_return out;
    }
    co_return out;
  }

  // --- file_sd -------------------------------------------------------------------------------

  // Re-reads the job's changed files; true if any target group changed.
  bool RefreshFiles(Job& job, bool force) {
    if (job.config.file_sd_configs.empty()) return false;
    bool changed = false;
    const auto now = std::chrono::steady_clock::now();
    std::chrono::milliseconds refresh = std::chrono::hours(24);
    std::map<std::string, bool> present;
    for (const auto& sd : job.config.file_sd_configs) {
      refresh = std::min(refresh, sd.refresh_interval);
      for (const auto& pattern : sd.files) {
        glob_t g{};
        if (glob(pattern.c_str(), 0, nullptr, &g) == 0) {
          for (size_t i = 0; i < g.gl_pathc; ++i) present[g.gl_pathv[i]] = true;
        }
        globfree(&g);
      }
    }
    const bool full = force || now - job.last_full_refresh >= refresh;
    if (full) job.last_full_refresh = now;
    for (auto it = job.files.begin(); it != job.files.end();) {
      if (!present.count(it->first)) {
        spdlog::info("scrape job \"{}\": file_sd file {} is gone; dropping its targets",
                     job.config.job_name, it->first);
        it = job.files.erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
    for (const auto& [path, unused] : present) {
      struct stat st{};
      if (stat(path.c_str(), &st) != 0) continue;
      const int64_t mtime = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
      auto& state = job.files[path];
      if (!full && state.mtime_ns == mtime && state.size == st.st_size) continue;
      state.mtime_ns = mtime;
      state.size = st.st_size;
      std::vector<TargetGroup> groups;
      const std::string error = ReadTargetGroupFile(path, groups);
      if (!error.empty()) {
        job.metrics.sd_errors->Inc();
        spdlog::error("scrape job \"{}\": file_sd: {} (keeping the previous targets of this file)",
                      job.config.job_name, error);
        continue;
      }
      auto same = [](const std::vector<TargetGroup>& a, const std::vector<TargetGroup>& b) {
        if (a.size() != b.size()) return false;
        for (size_t i = 0; i < a.size(); ++i) {
          if (a[i].targets != b[i].targets || a[i].labels != b[i].labels) return false;
        }
        return true;
      };
      if (!same(groups, state.groups)) {
        state.groups = std::move(groups);
        changed = true;
        spdlog::info("scrape job \"{}\": file_sd: loaded {} ({} groups)", job.config.job_name,
                     path, state.groups.size());
      }
    }
    return changed;
  }

  asio::awaitable<void> DiscoveryLoop() {
    while (true) {
      discovery_timer.expires_after(std::chrono::seconds(1));
      (void)co_await discovery_timer.async_wait(kUseTuple);
      {
        std::lock_guard lock(mu);
        if (stopping) co_return;
      }
      for (auto& job : jobs) {
        if (RefreshFiles(*job, false)) {
          SyncTargets(*job);
        }
      }
    }
  }

  ScrapeOptions options;
  ingest::SampleSink& sink;
  const Clock& clock;
  std::vector<std::unique_ptr<Job>> jobs;
  std::atomic<uint64_t> completed{0};

  // The io_context outlives the targets' I/O objects (their timers and sockets must be destroyed
  // while its services exist), and the jobs (whose TLS contexts the targets' streams use)
  // outlive the io_context, which destroys the coroutines still suspended on it.
  asio::io_context ioc;
  Strand discovery;
  asio::steady_timer discovery_timer;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::vector<std::thread> threads;

  mutable std::mutex mu;
  bool stopping = false;                                     // guarded by mu
  std::map<std::string, std::shared_ptr<Target>> targets;  // guarded by mu
  std::vector<std::shared_ptr<Target>> retiring;  // removed, waiting for end-of-run staleness
};

ScrapeManager::ScrapeManager(std::vector<ScrapeConfig> jobs, ScrapeOptions options,
                             ingest::SampleSink& sink, const Clock& clock,
                             MetricsRegistry& metrics)
    : impl_(std::make_unique<Impl>(std::move(jobs), std::move(options), sink, clock, metrics)) {}

ScrapeManager::~ScrapeManager() { Stop(); }

void ScrapeManager::Start() { impl_->Start(); }

void ScrapeManager::Stop() { impl_->Stop(); }

uint64_t ScrapeManager::scrapes_completed() const {
  return impl_->completed.load(std::memory_order_relaxed);
}

std::vector<TargetStatus> ScrapeManager::Targets() const {
  std::vector<TargetStatus> out;
  {
    std::lock_guard lock(impl_->mu);
    for (const auto& [key, t] : impl_->targets) {
      std::lock_guard s(t->status_mu);
      out.push_back(t->status);
    }
  }
  std::sort(out.begin(), out.end(), [](const TargetStatus& a, const TargetStatus& b) {
    return std::tie(a.job, a.url) < std::tie(b.job, b.url);
  });
  return out;
}

}  // namespace canaryd::scrape
