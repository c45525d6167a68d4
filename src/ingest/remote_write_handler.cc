#include "canaryd/ingest/remote_write_handler.h"

#include <algorithm>
#include <cctype>

namespace canaryd::ingest {
namespace {

using codec::Compression;
using codec::ProtocolVersion;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

struct Scratch {
  std::string decoded;
  codec::RemoteWriteDecoder decoder;
  model::SeriesBatch batch;
  codec::DecodeReport report;
};

Scratch& ThreadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

constexpr size_t kCompressionCount = 3;
std::string_view CompressionName(Compression c) {
  switch (c) {
    case Compression::kSnappy:
      return "snappy";
    case Compression::kZstd:
      return "zstd";
    case Compression::kNone:
      return "identity";
  }
  return "unknown";
}

}  // namespace

InflightReservation& InflightReservation::operator=(InflightReservation&& o) noexcept {
  if (this != &o) {
    Release();
    used_ = std::exchange(o.used_, nullptr);
    bytes_ = std::exchange(o.bytes_, 0);
  }
  return *this;
}

void InflightReservation::Release() {
  if (used_ != nullptr && bytes_ > 0) {
    used_->fetch_sub(bytes_, std::memory_order_relaxed);
  }
  used_ = nullptr;
  bytes_ = 0;
}

RemoteWriteHandler::RemoteWriteHandler(RemoteWriteOptions options, SampleSink& sink,
                                       const Clock& clock, MetricsRegistry& metrics)
    : options_(options),
      sink_(sink),
      clock_(clock),
      requests_(metrics.AddCounterFamily("canaryd_remote_write_requests_total",
                                         "Remote-write requests by HTTP status code.", {"code"})),
      samples_(metrics.AddCounter("canaryd_remote_write_samples_total",
                                  "Float samples accepted over remote-write.")),
      histograms_(metrics.AddCounter("canaryd_remote_write_histograms_total",
                                     "Native histogram samples accepted (validated, counted, not "
                                     "analysed).")),
      exemplars_(metrics.AddCounter("canaryd_remote_write_exemplars_total",
                                    "Exemplars accepted (validated, counted, not stored).")),
      metadata_(metrics.AddCounter("canaryd_remote_write_metadata_total",
                                   "Remote-write 1.0 metric metadata entries received.")),
      series_rejected_(metrics.AddCounterFamily(
          "canaryd_remote_write_series_rejected_total",
          "Series rejected (with all their samples), by reason.", {"reason"})),
      samples_rejected_(metrics.AddCounterFamily(
          "canaryd_remote_write_samples_rejected_total",
          "Samples rejected, including those of rejected series, by reason.", {"reason"})),
      bytes_(metrics.AddCounterFamily("canaryd_remote_write_bytes_total",
                                      "Remote-write body bytes received as sent, by encoding.",
                                      {"encoding"})),
      decoded_bytes_(metrics.AddCounter("canaryd_remote_write_decoded_bytes_total",
                                        "Remote-write body bytes after decompression.")) {
  for (size_t i = 0; i < series_rejected_by_.size(); ++i) {
    const auto reason = static_cast<codec::RejectReason>(i);
    const auto name = codec::RejectReasonName(reason);
    // Exemplar and histogram problems reject only those parts; too_far_in_future only samples.
    if (reason != codec::RejectReason::kInvalidExemplar &&
        reason != codec::RejectReason::kInvalidHistogram) {
      samples_rejected_by_[i] = &samples_rejected_.WithLabels({name});
      if (reason != codec::RejectReason::kTooFarInFuture) {
        series_rejected_by_[i] = &series_rejected_.WithLabels({name});
      }
    }
  }
  histograms_rejected_ = &metrics.AddCounter("canaryd_remote_write_histograms_rejected_total",
                                             "Native histogram samples rejected.");
  exemplars_rejected_ =
      &metrics.AddCounter("canaryd_remote_write_exemplars_rejected_total", "Exemplars rejected.");
  for (size_t i = 0; i < kCompressionCount; ++i) {
    bytes_by_compression_[i] = &bytes_.WithLabels({CompressionName(static_cast<Compression>(i))});
  }
  metrics.AddCallback("canaryd_remote_write_inflight_bytes",
                      "Compressed and decoded bytes held by remote-write requests in flight.",
                      [this] { return static_cast<double>(inflight_bytes_.load()); });
}

bool RemoteWriteHandler::TryReserve(InflightReservation& r, size_t bytes) {
  size_t cur = inflight_bytes_.load(std::memory_order_relaxed);
  do {
    if (cur + bytes > options_.max_inflight_bytes) {
      return false;
    }
  } while (!inflight_bytes_.compare_exchange_weak(cur, cur + bytes, std::memory_order_relaxed));
  if (r.used_ == nullptr) {
    r.used_ = &inflight_bytes_;
  }
  r.bytes_ += bytes;
  return true;
}

std::optional<RemoteWriteHandler::Format> RemoteWriteHandler::ParseFormat(
    const WriteRequestHeader& header, WriteResponse& error) {
  Format f{ProtocolVersion::kV1, Compression::kSnappy};
  // Content-Type: application/x-protobuf[;proto=<message>]. Missing means 1.0, as in Prometheus.
  std::string_view ct = Trim(header.content_type);
  if (!ct.empty()) {
    const auto semi = ct.find(';');
    if (!IEquals(Trim(ct.substr(0, semi)), "application/x-protobuf")) {
      error = Respond(415,
                      "unsupported Content-Type \"" + std::string(ct) +
                          "\": use application/x-protobuf with proto=prometheus.WriteRequest "
                          "(remote-write 1.0) or proto=io.prometheus.write.v2.Request (2.0)",
                      nullptr, nullptr);
      return std::nullopt;
    }
    std::string_view params = semi == std::string_view::npos ? "" : ct.substr(semi + 1);
    while (!params.empty()) {
      const auto next = params.find(';');
      std::string_view param = Trim(params.substr(0, next));
      params = next == std::string_view::npos ? "" : params.substr(next + 1);
      const auto eq = param.find('=');
      if (eq == std::string_view::npos || !IEquals(Trim(param.substr(0, eq)), "proto")) {
        continue;
      }
      std::string_view proto = Trim(param.substr(eq + 1));
      if (proto.size() >= 2 && proto.front() == '"' && proto.back() == '"') {
        proto = proto.substr(1, proto.size() - 2);
      }
      if (proto == "prometheus.WriteRequest") {
        f.version = ProtocolVersion::kV1;
      } else if (proto == "io.prometheus.write.v2.Request") {
        f.version = ProtocolVersion::kV2;
      } else {
        error = Respond(415,
                        "unsupported remote-write message \"" + std::string(proto) +
                            "\": supported are prometheus.WriteRequest and "
                            "io.prometheus.write.v2.Request",
                        nullptr, nullptr);
        return std::nullopt;
      }
    }
  }
  // Content-Encoding: snappy (block format), zstd, identity; missing means snappy, as in
  // Prometheus's receiver.
  std::string_view ce = Trim(header.content_encoding);
  if (ce.empty() || IEquals(ce, "snappy")) {
    f.compression = Compression::kSnappy;
  } else if (IEquals(ce, "zstd")) {
    f.compression = Compression::kZstd;
  } else if (IEquals(ce, "identity")) {
    f.compression = Compression::kNone;
  } else {
    error = Respond(415,
                    "unsupported Content-Encoding \"" + std::string(ce) +
                        "\": supported are snappy (block format), zstd and identity",
                    &f, nullptr);
    return std::nullopt;
  }
  return f;
}

WriteResponse RemoteWriteHandler::Respond(unsigned status, std::string body, const Format* format,
                                          const codec::DecodeReport* report) {
  WriteResponse r;
  r.status = status;
  r.body = std::move(body);
  if (!r.body.empty()) {
    r.body += '\n';
  }
  if (format != nullptr && format->version == ProtocolVersion::kV2) {
    // 2.0 senders read these on 2xx and 4xx; a missing header counts as 0 written.
    const uint64_t s = report ? report->samples_accepted : 0;
    const uint64_t h = report ? report->histograms_accepted : 0;
    const uint64_t e = report ? report->exemplars_accepted : 0;
    r.headers.emplace_back("X-Prometheus-Remote-Write-Samples-Written", std::to_string(s));
    r.headers.emplace_back("X-Prometheus-Remote-Write-Histograms-Written", std::to_string(h));
    r.headers.emplace_back("X-Prometheus-Remote-Write-Exemplars-Written", std::to_string(e));
  }
  if (status == 503) {
    r.headers.emplace_back("Retry-After", std::to_string(options_.retry_after.count()));
  }
  if (status >= 200 && status < 600) {
    auto& slot = status_counters_[status - 200];
    Counter* c = slot.load(std::memory_order_acquire);
    if (c == nullptr) {
      c = &requests_.WithLabels({std::to_string(status)});
      slot.store(c, std::memory_order_release);
    }
    c->Inc();
  }
  return r;
}

void RemoteWriteHandler::LogClientError(const WriteRequestHeader& header, unsigned status,
                                        std::string_view what) {
  uint64_t suppressed = 0;
  while (!what.empty() && what.back() == '\n') {
    what.remove_suffix(1);
  }
  if (client_error_log_.Allow(clock_.Monotonic(), suppressed)) {
    if (suppressed > 0) {
      spdlog::warn("remote-write: answered {} to \"{}\": {} ({} similar messages suppressed)",
                   status, header.user_agent, what, suppressed);
    } else {
      spdlog::warn("remote-write: answered {} to \"{}\": {}", status, header.user_agent, what);
    }
  } else {
    spdlog::debug("remote-write: answered {} to \"{}\": {}", status, header.user_agent, what);
  }
}

std::optional<WriteResponse> RemoteWriteHandler::Admit(const WriteRequestHeader& header,
                                                       InflightReservation& reservation) {
  WriteResponse error;
  const auto format = ParseFormat(header, error);
  if (!format) {
    LogClientError(header, error.status, error.body);
    return error;
  }
  if (header.content_length && *header.content_length > options_.max_body_bytes) {
    auto r = Respond(413,
                     "body of " + std::to_string(*header.content_length) +
                         " bytes is over the limit of " + std::to_string(options_.max_body_bytes) +
                         " bytes",
                     &*format, nullptr);
    LogClientError(header, r.status, r.body);
    return r;
  }
  // A chunked body may grow to the limit, so reserve that much for it.
  const size_t want = header.content_length ? *header.content_length : options_.max_body_bytes;
  if (!TryReserve(reservation, want)) {
    return Respond(503, "too many remote-write bytes in flight; retry later", &*format, nullptr);
  }
  return std::nullopt;
}

WriteResponse RemoteWriteHandler::BodyTooLarge() {
  return Respond(413,
                 "body is over the limit of " + std::to_string(options_.max_body_bytes) + " bytes",
                 nullptr, nullptr);
}

WriteResponse RemoteWriteHandler::Handle(const WriteRequestHeader& header, std::string_view body,
                                         InflightReservation& reservation) {
  WriteResponse error;
  const auto format = ParseFormat(header, error);
  if (!format) {
    return error;
  }
  bytes_by_compression_[static_cast<size_t>(format->compression)]->Inc(body.size());
  Scratch& scratch = ThreadScratch();

  std::string_view decoded = body;
  if (format->compression != Compression::kNone) {
    auto r =
        codec::Decompress(format->compression, body, options_.max_decoded_bytes, scratch.decoded);
    if (!r) {
      const bool too_large = r.error() == make_error_code(Errc::kTooLarge);
      auto resp = Respond(too_large ? 413 : 400,
                          too_large ? "decoded body is over the limit of " +
                                          std::to_string(options_.max_decoded_bytes) + " bytes"
                                    : "body is not valid " +
                                          std::string(CompressionName(format->compression)) +
                                          " (block format for snappy)",
                          &*format, nullptr);
      LogClientError(header, resp.status, resp.body);
      return resp;
    }
    decoded = scratch.decoded;
  }
  if (format->compression != Compression::kNone && !TryReserve(reservation, decoded.size())) {
    return Respond(503, "too many remote-write bytes in flight; retry later", &*format, nullptr);
  }
  decoded_bytes_.Inc(decoded.size());

  codec::DecodeLimits limits;
  limits.max_timestamp_ms = clock_.NowMillis() + options_.max_future.count();
  auto& report = scratch.report;
  if (auto r = scratch.decoder.Decode(format->version, decoded, limits, scratch.batch, report);
      !r) {
    auto resp = Respond(400,
                        "malformed " +
                            std::string(format->version == ProtocolVersion::kV1
                                            ? "prometheus.WriteRequest"
                                            : "io.prometheus.write.v2.Request") +
                            ": " + r.error().message(),
                        &*format, nullptr);
    LogClientError(header, resp.status, resp.body);
    return resp;
  }
  if (!scratch.batch.series.empty()) {
    sink_.Append(scratch.batch);
  }
  samples_.Inc(report.samples_accepted);
  histograms_.Inc(report.histograms_accepted);
  exemplars_.Inc(report.exemplars_accepted);
  metadata_.Inc(report.metadata_accepted);
  if (!report.HasRejections()) {
    return Respond(204, {}, &*format, &report);
  }
  for (size_t i = 0; i < series_rejected_by_.size(); ++i) {
    if (report.series_rejected_by_reason[i] > 0 && series_rejected_by_[i] != nullptr) {
      series_rejected_by_[i]->Inc(report.series_rejected_by_reason[i]);
    }
    if (report.samples_rejected_by_reason[i] > 0 && samples_rejected_by_[i] != nullptr) {
      samples_rejected_by_[i]->Inc(report.samples_rejected_by_reason[i]);
    }
  }
  histograms_rejected_->Inc(report.histograms_rejected);
  exemplars_rejected_->Inc(report.exemplars_rejected);
  auto resp = Respond(400, report.Summary(), &*format, &report);
  LogClientError(header, resp.status, resp.body);
  return resp;
}

}  // namespace canaryd::ingest
