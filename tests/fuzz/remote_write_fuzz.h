#pragma once
// Shared body of the remote-write fuzz targets (remote_write_v1_fuzz.cc, remote_write_v2_fuzz.cc).
//
// Each input is tried twice: as a snappy-compressed body (the production path: Decompress, then
// Decode), and as an already-decompressed body, so that the protobuf walker is fuzzed directly
// even when the bytes are not valid snappy. After every successful decode the batch and the
// report are checked against the decoder's contract; a violation is a __builtin_trap().

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "canaryd/codec/remote_write.h"
#include "canaryd/model/labels.h"
#include "canaryd/model/series_batch.h"

namespace canaryd::fuzz {

// The server's body limit is configurable; 32 MiB is the default.
inline constexpr size_t kMaxDecoded = size_t{32} << 20;
// 2100-01-01: seeds and mutations with larger timestamps exercise the "too far in the future"
// path, everything realistic is below it.
inline constexpr int64_t kMaxTimestampMs = 4'102'444'800'000;

inline void Check(bool ok) {
  if (!ok) {
    __builtin_trap();
  }
}

// Checks one successful Decode against the contract in remote_write.h and labels.h.
inline void CheckBatch(const model::SeriesBatch& batch, const codec::DecodeReport& report) {
  Check(report.series_accepted == batch.series.size());
  uint64_t samples = 0;
  std::string rebuilt;
  for (const auto& s : batch.series) {
    // Sample ranges: inside batch.samples, in order, without overlap or gaps (the samples of
    // rejected series are removed again).
    Check(s.first_sample == samples);
    Check(uint64_t{s.first_sample} + s.num_samples <= batch.samples.size());
    samples += s.num_samples;
    for (const auto& sample : batch.SamplesOf(s)) {
      Check(sample.timestamp_ms <= kMaxTimestampMs);
    }

    // The label key: labels strictly sorted by name, non-empty valid UTF-8 names and values,
    // __name__ present, and the bytes exactly the canonical encoding of those labels.
    model::LabelKeyReader reader(s.labels);
    model::LabelView l;
    std::string_view prev;
    bool first = true;
    bool has_name = false;
    rebuilt.clear();
    while (reader.Next(l)) {
      Check(!l.name.empty() && !l.value.empty());
      Check(first || prev < l.name);
      Check(model::IsValidUtf8(l.name) && model::IsValidUtf8(l.value));
      has_name |= l.name == "__name__";
      model::AppendLabel(rebuilt, l.name, l.value);
      prev = l.name;
      first = false;
    }
    Check(has_name);
    Check(rebuilt == s.labels);
    Check(model::HashLabelKey(s.labels) == s.hash);
    Check(!model::FindLabel(s.labels, "__name__").empty());
    Check(!model::FormatLabelKey(s.labels).empty());
  }
  Check(samples == batch.samples.size());
  Check(report.samples_accepted == samples);

  uint64_t by_reason = 0;
  for (uint64_t n : report.series_rejected_by_reason) {
    by_reason += n;
  }
  Check(by_reason == report.series_rejected);
  by_reason = 0;
  for (uint64_t n : report.samples_rejected_by_reason) {
    by_reason += n;
  }
  Check(by_reason == report.samples_rejected);
  Check(report.HasRejections() == !report.first_rejection.empty());
  Check(report.HasRejections() == !report.Summary().empty());
}

inline void DecodeAndCheck(codec::ProtocolVersion version, std::string_view body) {
  // One decoder, batch and report per thread, reused across requests: as in production.
  static codec::RemoteWriteDecoder decoder;
  static model::SeriesBatch batch;
  static codec::DecodeReport report;
  codec::DecodeLimits limits;
  limits.max_timestamp_ms = kMaxTimestampMs;
  if (auto r = decoder.Decode(version, body, limits, batch, report); r) {
    CheckBatch(batch, report);
  } else {
    Check(batch.series.empty() && batch.samples.empty());
  }
}

inline int RunRemoteWrite(codec::ProtocolVersion version, const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // Production path: a snappy body.
  static std::string decompressed;
  if (codec::Decompress(codec::Compression::kSnappy, input, kMaxDecoded, decompressed)) {
    Check(decompressed.size() <= kMaxDecoded);
    // Decode from an exactly-sized heap copy so that ASan sees any read past the end (the
    // string's spare capacity would hide it).
    const std::vector<char> exact(decompressed.begin(), decompressed.end());
    DecodeAndCheck(version, std::string_view(exact.data(), exact.size()));
  }

  // The protobuf walker on the raw bytes (libFuzzer's buffer is exactly sized).
  DecodeAndCheck(version, input);
  return 0;
}

}  // namespace canaryd::fuzz
