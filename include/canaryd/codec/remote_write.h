#pragma once
// Remote-write 1.0 (prometheus.WriteRequest) and 2.0 (io.prometheus.write.v2.Request) decoding.
//
// The decoder walks the protobuf wire format in place: it allocates nothing per series or sample
// once its scratch buffers have grown to the size of the requests it sees. It accepts exactly
// what the .proto schemas in proto/ accept (unknown fields, unknown groups, packed and unpacked
// repeated scalars, fields in any order, repeated scalar fields where the last value wins), and
// then applies the remote-write validation rules series by series:
//   - labels are sorted if they arrive unsorted; labels with empty values are dropped (the same
//     as absent, as in Prometheus's TSDB);
//   - a series is rejected for a missing __name__, an empty or duplicate label name, invalid
//     UTF-8, a bad 2.0 symbol reference, samples and histograms together (2.0), or an invalid
//     native histogram;
//   - samples stamped after DecodeLimits::max_timestamp_ms are rejected one by one;
//   - NaN, +-Inf and the stale marker are ordinary accepted values here.
// Rejections never stop decoding: the valid series still land in the batch, and the report says
// how many were rejected and why, naming the first offending series.
//
// Usage (one decoder per thread, reused):
//   RemoteWriteDecoder decoder;
//   DecodeReport report;
//   if (auto r = decoder.Decode(ProtocolVersion::kV1, body, limits, batch, report); !r) { 400 }
//   sink.Append(batch);   // batch label keys point into `body` and into the decoder

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "canaryd/common/error.h"
#include "canaryd/model/labels.h"
#include "canaryd/model/series_batch.h"

namespace canaryd::codec {

enum class ProtocolVersion { kV1, kV2 };

namespace detail {
struct SeriesTally;  // per-series counts while decoding; defined in decoder.cc
}

/// Why a series (or a sample, histogram or exemplar) was rejected.
enum class RejectReason : uint8_t {
  kMissingName,
  kEmptyLabelName,
  kDuplicateLabel,
  kInvalidUtf8,
  kBadSymbolRef,
  kOddLabelRefs,
  kSamplesAndHistograms,
  kInvalidHistogram,
  kInvalidExemplar,
  kTooFarInFuture,
  kCount,
};

/// Stable snake_case name, used as the `reason` label on /metrics.
std::string_view RejectReasonName(RejectReason r) noexcept;

struct DecodeLimits {
  /// Samples, histograms and exemplars stamped after this are rejected (Prometheus rejects more
  /// than 10 minutes ahead of its clock).
  int64_t max_timestamp_ms = std::numeric_limits<int64_t>::max();
};

/// What one request contained and what was done with it.
struct DecodeReport {
  uint64_t series_accepted = 0;
  uint64_t samples_accepted = 0;
  uint64_t histograms_accepted = 0;
  uint64_t exemplars_accepted = 0;
  uint64_t metadata_accepted = 0;

  uint64_t series_rejected = 0;
  uint64_t samples_rejected = 0;
  uint64_t histograms_rejected = 0;
  uint64_t exemplars_rejected = 0;
  /// Series rejected whole, by reason (only series-level reasons appear here).
  std::array<uint64_t, static_cast<size_t>(RejectReason::kCount)> series_rejected_by_reason{};
  /// Samples rejected, by reason: those of rejected series under the series' reason, plus
  /// individually rejected samples (kTooFarInFuture).
  std::array<uint64_t, static_cast<size_t>(RejectReason::kCount)> samples_rejected_by_reason{};
  /// "<series>: <why>" for the first rejection, empty if none.
  std::string first_rejection;

  bool HasRejections() const {
    return series_rejected + samples_rejected + histograms_rejected + exemplars_rejected > 0;
  }
  /// A human-readable summary for a 400 body, e.g.
  /// "rejected 2 of 500 series (missing_name: 2); first: {job=\"a\"}: series has no __name__
  /// label".
  std::string Summary() const;
  void Clear() { *this = DecodeReport{}; }
};

/// Decodes remote-write bodies (already decompressed). Keeps scratch buffers between calls.
/// Not thread-safe: use one per thread.
class RemoteWriteDecoder {
 public:
  /// Decodes `body` as the message of `version`, appending valid series to `batch` (cleared
  /// first) and filling `report` (cleared first). Returns an error, with `batch` cleared, if the
  /// body is not a well-formed message of that schema (or, for 2.0, symbols[0] is not "");
  /// nothing from such a body may be ingested.
  /// The batch's label keys point into `body` and into this decoder: they are valid until the
  /// next call to Decode or the end of `body`'s lifetime, whichever comes first.
  Result<void> Decode(ProtocolVersion version, std::string_view body, const DecodeLimits& limits,
                      model::SeriesBatch& batch, DecodeReport& report);

 private:
  struct SymbolInfo {
    std::string_view text;
    bool valid_utf8;
  };
  struct KeyFixup {
    uint32_t series_index;
    uint32_t offset;
    uint32_t size;
  };
  Result<void> DecodeV1(std::string_view body, const DecodeLimits& limits,
                        model::SeriesBatch& batch, DecodeReport& report);
  Result<void> DecodeV2(std::string_view body, const DecodeLimits& limits,
                        model::SeriesBatch& batch, DecodeReport& report);
  /// Validates labels_ (sorting them if needed) and appends the canonical key to key_arena_.
  /// Returns the reason on rejection.
  bool BuildKey(RejectReason& reason, size_t& offset, size_t& size);
  /// The 2.0 fast path: builds the key straight from refs_ when they need no repair.
  bool FastKeyV2(size_t& offset, size_t& size);
  void RecordRejection(DecodeReport& report, RejectReason reason, uint64_t samples,
                       uint64_t histograms, uint64_t exemplars, std::string_view detail);
  void RejectSeries(DecodeReport& report, RejectReason reason, const detail::SeriesTally& tally,
                    model::SeriesBatch& batch);
  void AcceptSeries(DecodeReport& report, const detail::SeriesTally& tally,
                    model::BatchSeries series, model::SeriesBatch& batch);

  std::vector<model::LabelView> labels_;
  std::vector<uint32_t> refs_;
  std::vector<SymbolInfo> symbols_;
  std::string key_arena_;
  std::vector<KeyFixup> fixups_;
};

/// How a request body is compressed.
enum class Compression { kSnappy, kZstd, kNone };

/// Decompresses `in` into `out` (resized; its capacity is reused). Checks the declared
/// uncompressed size against `max_decoded` before allocating: Errc::kTooLarge if over it,
/// Errc::kCorruptCompressed if the data does not decode.
Result<void> Decompress(Compression c, std::string_view in, size_t max_decoded, std::string& out);

}  // namespace canaryd::codec
