// canaryd-loadgen: drives a Prometheus remote-write receiver with realistic traffic and reports
// what it accepted. Works against any receiver (canaryd, vmagent, VictoriaMetrics, Prometheus).
//
// Requests are encoded before the clock starts (so the generator's CPU goes to sending, not to
// protobuf and snappy), from the cAdvisor-style workload in bench/workload. The pool covers
// several rounds of the series universe with advancing timestamps; when a run outlasts the pool
// it starts over, so a receiver then sees repeated timestamps (reported at the end).
//
// Example:
//   canaryd-loadgen --url http://127.0.0.1:9464/api/v1/write --connections 4 --duration 20s

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "workload/workload.h"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

constexpr const char* kHelp = R"(Usage: canaryd-loadgen [flags]

Sends pre-encoded remote-write requests with cAdvisor-style labels over keep-alive connections
for a bounded time and prints samples/s and status codes.

Flags:
  --url URL                  receiver endpoint (default http://127.0.0.1:9464/api/v1/write)
  --protocol 1|2             remote-write 1.0 or 2.0 (default 1)
  --encoding snappy|zstd     body compression (default snappy)
  --connections N            concurrent keep-alive connections (default 4)
  --duration D               run time, e.g. 20s, 2m (default 10s)
  --series-per-request N     series per request (default 500; Prometheus 2.42's batch size)
  --samples-per-series N     samples per series (default 1)
  --total-series N           size of the series universe (default 100000)
  --pool N                   pre-encoded requests to rotate through (default: enough for 10
                             rounds of the universe, at most 4000)
  --interval D               timestamp step between rounds (default 15s)
  --start-ms MS              first timestamp (default: now minus the pool's time span)
  -h, --help                 this help

Output: a human summary, then one machine-readable line starting with "RESULT ".
)";

struct Options {
  std::string host = "127.0.0.1";
  std::string port = "9464";
  std::string target = "/api/v1/write";
  int protocol = 1;
  std::string encoding = "snappy";
  int connections = 4;
  double duration_s = 10;
  int series_per_request = 500;
  int samples_per_series = 1;
  int total_series = 100'000;
  int pool = 0;
  int64_t interval_ms = 15'000;
  int64_t start_ms = 0;
};

[[noreturn]] void Usage(const std::string& error) {
  std::cerr << "canaryd-loadgen: " << error << "\n\n" << kHelp;
  std::exit(2);
}

double ParseDurationSeconds(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  const std::string unit = end;
  if (unit == "s" || unit.empty()) return v;
  if (unit == "ms") return v / 1000;
  if (unit == "m") return v * 60;
  if (unit == "h") return v * 3600;
  Usage("bad duration \"" + s + "\"");
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      std::cout << kHelp;
      std::exit(0);
    }
    std::string value;
    if (auto eq = a.find('='); eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      Usage("flag " + a + " needs a value");
    }
    if (a == "--url") {
      const std::string prefix = "http://";
      if (value.rfind(prefix, 0) != 0) Usage("only http:// URLs are supported");
      std::string rest = value.substr(prefix.size());
      const auto slash = rest.find('/');
      o.target = slash == std::string::npos ? "/" : rest.substr(slash);
      std::string hostport = rest.substr(0, slash);
      const auto colon = hostport.rfind(':');
      o.host = hostport.substr(0, colon);
      o.port = colon == std::string::npos ? "80" : hostport.substr(colon + 1);
    } else if (a == "--protocol") {
      o.protocol = std::stoi(value);
      if (o.protocol != 1 && o.protocol != 2) Usage("--protocol is 1 or 2");
    } else if (a == "--encoding") {
      o.encoding = value;
      if (value != "snappy" && value != "zstd") Usage("--encoding is snappy or zstd");
    } else if (a == "--connections") {
      o.connections = std::max(1, std::stoi(value));
    } else if (a == "--duration") {
      o.duration_s = ParseDurationSeconds(value);
    } else if (a == "--series-per-request") {
      o.series_per_request = std::max(1, std::stoi(value));
    } else if (a == "--samples-per-series") {
      o.samples_per_series = std::max(1, std::stoi(value));
    } else if (a == "--total-series") {
      o.total_series = std::max(1, std::stoi(value));
    } else if (a == "--pool") {
      o.pool = std::max(1, std::stoi(value));
    } else if (a == "--interval") {
      o.interval_ms = static_cast<int64_t>(ParseDurationSeconds(value) * 1000);
    } else if (a == "--start-ms") {
      o.start_ms = std::stoll(value);
    } else {
      Usage("unknown flag " + a);
    }
  }
  return o;
}

struct Stats {
  uint64_t requests = 0;
  uint64_t samples_ok = 0;
  uint64_t bytes_sent = 0;
  std::map<int, uint64_t> codes;
  std::vector<double> latencies_ms;
  uint64_t connect_errors = 0;
};

asio::awaitable<void> Worker(const Options& o, const std::vector<std::string>& pool,
                             const tcp::resolver::results_type& endpoints, size_t& next,
                             std::chrono::steady_clock::time_point deadline, int64_t samples_per_req,
                             Stats& stats) {
  auto executor = co_await asio::this_coro::executor;
  const std::string content_type =
      o.protocol == 1 ? "application/x-protobuf"
                      : "application/x-protobuf;proto=io.prometheus.write.v2.Request";
  while (std::chrono::steady_clock::now() < deadline) {
    beast::tcp_stream stream(executor);
    auto [cec, ep] = co_await stream.async_connect(endpoints, kUseTuple);
    if (cec) {
      ++stats.connect_errors;
      asio::steady_timer t(executor, std::chrono::milliseconds(100));
      co_await t.async_wait(kUseTuple);
      continue;
    }
    beast::flat_buffer buffer;
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string& body = pool[next];
      next = (next + 1) % pool.size();
      http::request<http::span_body<const char>> req{http::verb::post, o.target, 11};
      req.set(http::field::host, o.host);
      req.set(http::field::user_agent, "canaryd-loadgen");
      req.set(http::field::content_type, content_type);
      req.set(http::field::content_encoding, o.encoding);
      req.set("X-Prometheus-Remote-Write-Version", o.protocol == 1 ? "0.1.0" : "2.0.0");
      req.body() = {body.data(), body.size()};
      req.prepare_payload();
      const auto start = std::chrono::steady_clock::now();
      stream.expires_after(std::chrono::seconds(30));
      auto [wec, wn] = co_await http::async_write(stream, req, kUseTuple);
      if (wec) break;
      http::response<http::string_body> res;
      auto [rec, rn] = co_await http::async_read(stream, buffer, res, kUseTuple);
      if (rec) break;
      const auto code = static_cast<int>(res.result_int());
      ++stats.requests;
      ++stats.codes[code];
      stats.bytes_sent += body.size();
      if (code / 100 == 2) stats.samples_ok += static_cast<uint64_t>(samples_per_req);
      stats.latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      if (!res.keep_alive()) break;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  canaryd::bench::WorkloadOptions wo;
  wo.series_per_request = o.series_per_request;
  wo.samples_per_series = o.samples_per_series;
  wo.total_series = o.total_series;
  wo.interval_ms = o.interval_ms;
  const int64_t requests_per_round =
      (o.total_series + o.series_per_request - 1) / o.series_per_request;
  const int pool_size = o.pool > 0 ? o.pool : static_cast<int>(std::min<int64_t>(4000, requests_per_round * 10));
  const int64_t rounds = std::max<int64_t>(1, pool_size / requests_per_round);
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  // Timestamps end at about "now" so receivers that reject old or future samples accept them.
  wo.start_ms = o.start_ms != 0 ? o.start_ms
                                : now_ms - rounds * o.interval_ms * o.samples_per_series;
  canaryd::bench::Workload workload(wo);
  std::vector<std::string> pool;
  pool.reserve(static_cast<size_t>(pool_size));
  uint64_t raw_bytes = 0;
  for (int k = 0; k < pool_size; ++k) {
    const std::string raw = o.protocol == 1 ? workload.EncodeV1(k) : workload.EncodeV2(k);
    raw_bytes += raw.size();
    pool.push_back(o.encoding == "snappy" ? canaryd::bench::SnappyCompress(raw)
                                          : canaryd::bench::ZstdCompress(raw));
  }
  uint64_t pool_bytes = 0;
  for (const auto& b : pool) pool_bytes += b.size();
  const int64_t spr = workload.samples_per_request();
  std::fprintf(stderr,
               "loadgen: %d requests pre-encoded (protocol %d, %s), %lld samples each, "
               "%.1f raw / %.1f compressed bytes per sample\n",
               pool_size, o.protocol, o.encoding.c_str(), static_cast<long long>(spr),
               static_cast<double>(raw_bytes) / static_cast<double>(pool_size * spr),
               static_cast<double>(pool_bytes) / static_cast<double>(pool_size * spr));

  asio::io_context ioc(1);
  tcp::resolver resolver(ioc);
  boost::system::error_code ec;
  const auto endpoints = resolver.resolve(o.host, o.port, ec);
  if (ec) {
    std::cerr << "canaryd-loadgen: cannot resolve " << o.host << ":" << o.port << ": "
              << ec.message() << "\n";
    return 1;
  }
  Stats stats;
  size_t next = 0;
  const auto start = std::chrono::steady_clock::now();
  const auto deadline =
      start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                  std::chrono::duration<double>(o.duration_s));
  for (int c = 0; c < o.connections; ++c) {
    asio::co_spawn(ioc, Worker(o, pool, endpoints, next, deadline, spr, stats), asio::detached);
  }
  ioc.run();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::sort(stats.latencies_ms.begin(), stats.latencies_ms.end());
  auto pct = [&](double p) {
    if (stats.latencies_ms.empty()) return 0.0;
    return stats.latencies_ms[static_cast<size_t>(p * static_cast<double>(stats.latencies_ms.size() - 1))];
  };
  std::string codes;
  for (auto& [code, n] : stats.codes) {
    codes += (codes.empty() ? "" : ",") + std::to_string(code) + ":" + std::to_string(n);
  }
  const double wrapped = static_cast<double>(stats.requests) / static_cast<double>(pool_size);
  std::printf("requests: %llu in %.2fs (%.0f/s), status codes {%s}, connect errors %llu\n",
              static_cast<unsigned long long>(stats.requests), elapsed,
              static_cast<double>(stats.requests) / elapsed, codes.c_str(),
              static_cast<unsigned long long>(stats.connect_errors));
  std::printf("accepted samples: %llu (%.0f samples/s), %.1f MB/s sent\n",
              static_cast<unsigned long long>(stats.samples_ok),
              static_cast<double>(stats.samples_ok) / elapsed,
              static_cast<double>(stats.bytes_sent) / elapsed / 1e6);
  std::printf("latency ms: p50 %.2f p90 %.2f p99 %.2f max %.2f\n", pct(0.5), pct(0.9), pct(0.99),
              stats.latencies_ms.empty() ? 0.0 : stats.latencies_ms.back());
  if (wrapped > 1) {
    std::printf("note: the pool was sent %.1f times; later passes repeat timestamps\n", wrapped);
  }
  std::printf("RESULT requests=%llu samples_ok=%llu seconds=%.3f samples_per_second=%.0f codes=%s\n",
              static_cast<unsigned long long>(stats.requests),
              static_cast<unsigned long long>(stats.samples_ok), elapsed,
              static_cast<double>(stats.samples_ok) / elapsed, codes.c_str());
  return stats.requests > 0 ? 0 : 1;
}
