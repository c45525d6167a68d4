#pragma once
// The remote-write endpoint's logic, independent of sockets: the HTTP server calls Admit when a
// request's header has arrived and Handle when its body has, and sends what they return.
// Status codes follow the remote-write specs (see docs/remote-write.md):
//   204 all accepted | 400 malformed body or invalid series (valid ones are still ingested)
//   413 body or declared decoded size over the limit | 415 unsupported Content-Type/-Encoding
//   503 + Retry-After when too much decode work is in flight (senders retry 503 by default;
//   Prometheus drops a batch answered 429 unless told otherwise, so 429 is never used).

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "canaryd/codec/remote_write.h"
#include "canaryd/common/clock.h"
#include "canaryd/common/logging.h"
#include "canaryd/common/metrics.h"
#include "canaryd/ingest/sample_sink.h"

namespace canaryd::ingest {

struct RemoteWriteOptions {
  /// Largest compressed body accepted (413 beyond).
  size_t max_body_bytes = 32 << 20;
  /// Largest decoded (decompressed) body accepted, checked against the declared size (413).
  size_t max_decoded_bytes = 32 << 20;
  /// Budget of compressed plus decoded bytes held by requests in flight; 503 beyond it.
  size_t max_inflight_bytes = 256 << 20;
  /// Samples stamped further ahead of the clock than this are rejected.
  std::chrono::milliseconds max_future = std::chrono::minutes(10);
  /// Retry-After sent with 503.
  std::chrono::seconds retry_after = std::chrono::seconds(5);
};

/// Bytes reserved against the in-flight budget; released on destruction. Move-only.
class InflightReservation {
 public:
  InflightReservation() = default;
  InflightReservation(std::atomic<size_t>* used, size_t bytes) : used_(used), bytes_(bytes) {}
  InflightReservation(InflightReservation&& o) noexcept
      : used_(std::exchange(o.used_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
  InflightReservation& operator=(InflightReservation&& o) noexcept;
  ~InflightReservation() { Release(); }
  size_t bytes() const { return bytes_; }
  void Release();

 private:
  friend class RemoteWriteHandler;
  std::atomic<size_t>* used_ = nullptr;
  size_t bytes_ = 0;
};

/// What to send back.
struct WriteResponse {
  unsigned status = 204;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // text/plain; empty for 204
};

/// The parts of an HTTP request the endpoint looks at.
struct WriteRequestHeader {
  std::string_view content_type;
  std::string_view content_encoding;
  std::optional<uint64_t> content_length;  // absent for chunked bodies
  std::string_view user_agent;
};

/// Thread-safe: every method may be called concurrently; per-thread scratch buffers make the
/// decode path allocation-free in steady state.
class RemoteWriteHandler {
 public:
  RemoteWriteHandler(RemoteWriteOptions options, SampleSink& sink, const Clock& clock,
                     MetricsRegistry& metrics);

  /// Header stage. Returns a response to send at once (the body will not be read), or nullopt
  /// with `reservation` holding the in-flight budget for the body.
  std::optional<WriteResponse> Admit(const WriteRequestHeader& header,
                                     InflightReservation& reservation);

  /// Body stage: decompress, decode, validate, hand the valid series to the sink, answer.
  /// REQUIRES: Admit returned nullopt for this request; `reservation` is the one it filled.
  WriteResponse Handle(const WriteRequestHeader& header, std::string_view body,
                       InflightReservation& reservation);

  /// The answer when the body turned out larger than max_body_bytes while being read.
  WriteResponse BodyTooLarge();

  const RemoteWriteOptions& options() const { return options_; }

 private:
  struct Format {
    codec::ProtocolVersion version;
    codec::Compression compression;
  };
  std::optional<Format> ParseFormat(const WriteRequestHeader& header, WriteResponse& error);
  WriteResponse Respond(unsigned status, std::string body, const Format* format,
                        const codec::DecodeReport* report);
  bool TryReserve(InflightReservation& r, size_t bytes);
  void LogClientError(const WriteRequestHeader& header, unsigned status, std::string_view what);

  RemoteWriteOptions options_;
  SampleSink& sink_;
  const Clock& clock_;
  std::atomic<size_t> inflight_bytes_{0};
  RateLimitedLog client_error_log_{std::chrono::seconds(10)};

  Family<Counter>& requests_;
  Counter& samples_;
  Counter& histograms_;
  Counter& exemplars_;
  Counter& metadata_;
  Family<Counter>& series_rejected_;
  Family<Counter>& samples_rejected_;
  Family<Counter>& bytes_;
  Counter& decoded_bytes_;
  Counter* histograms_rejected_ = nullptr;
  Counter* exemplars_rejected_ = nullptr;
  std::array<std::atomic<Counter*>, 400> status_counters_{};  // index: status - 200
  // nullptr where a reason does not apply to series (or samples).
  std::array<Counter*, static_cast<size_t>(codec::RejectReason::kCount)> series_rejected_by_{};
  std::array<Counter*, static_cast<size_t>(codec::RejectReason::kCount)> samples_rejected_by_{};
  std::array<Counter*, 3> bytes_by_compression_{};
};

}  // namespace canaryd::ingest
