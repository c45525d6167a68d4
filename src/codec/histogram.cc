#include "histogram.h"

#include <cmath>
#include <vector>

#include "canaryd/model/sample.h"
#include "wire.h"

namespace canaryd::codec {
namespace {

struct SpanTotals {
  uint64_t buckets = 0;
  bool negative_offset_after_first = false;
  bool negative_offset = false;  // any span, the first included (custom buckets forbid it)
  int64_t extent = 0;            // sum of offsets and lengths: the highest bucket index + 1
  uint64_t count = 0;
};

bool ReadSpans(wire::Reader& r, SpanTotals& t) {
  std::string_view msg;
  if (!r.ReadBytes(msg)) {
    return false;
  }
  wire::Reader s(msg);
  int64_t offset = 0;
  uint64_t length = 0;
  while (!s.AtEnd()) {
    uint32_t f, wt;
    if (!s.ReadTag(f, wt)) {
      return false;
    }
    uint64_t v;
    if (f == 1 && wt == wire::kVarint) {
      if (!s.ReadVarint(v)) {
        return false;
      }
      // sint32: zigzag over the low 32 bits, as libprotobuf truncates.
      offset = wire::ZigZagDecode64(v & 0xffffffffULL);
    } else if (f == 2 && wt == wire::kVarint) {
      if (!s.ReadVarint(v)) {
        return false;
      }
      length = v & 0xffffffffULL;
    } else if (!s.Skip(f, wt)) {
      return false;
    }
  }
  if (t.count > 0 && offset < 0) {
    t.negative_offset_after_first = true;
  }
  if (offset < 0) {
    t.negative_offset = true;
  }
  ++t.count;
  t.buckets += length;
  t.extent += offset + static_cast<int64_t>(length);  // each term fits 32 bits: no overflow
  return true;
}

}  // namespace

HistogramCheck CheckHistogram(std::string_view msg, HistogramInfo& info, Errc& err) {
  wire::Reader r(msg);
  bool is_float = false;
  uint64_t count_int = 0;
  double count_float = 0;
  double sum = 0;
  int64_t schema = 0;
  double zero_threshold = 0;
  uint64_t zero_count_int = 0;
  double zero_count_float = 0;
  SpanTotals neg_spans, pos_spans;
  uint64_t neg_deltas = 0, pos_deltas = 0, neg_counts = 0, pos_counts = 0;
  int64_t neg_cur = 0, pos_cur = 0;
  uint64_t neg_total = 0, pos_total = 0;
  double float_total = 0;
  bool negative_bucket = false;
  uint64_t custom_values = 0;
  bool custom_increasing = true;
  double last_custom = -INFINITY;

  auto fail = [&](wire::Reader& rd) {
    err = rd.error() == Errc::kOk ? Errc::kTruncated : rd.error();
    return HistogramCheck::kMalformed;
  };

  while (!r.AtEnd()) {
    uint32_t f, wt;
    if (!r.ReadTag(f, wt)) {
      return fail(r);
    }
    uint64_t v = 0;
    bool ok = true;
    switch (f) {
      case 1:
        if (wt != wire::kVarint) break;
        if (!r.ReadVarint(count_int)) return fail(r);
        is_float = false;
        continue;
      case 2:
        if (wt != wire::kI64) break;
        if (!r.ReadDouble(count_float)) return fail(r);
        is_float = true;
        continue;
      case 3:
        if (wt != wire::kI64) break;
        if (!r.ReadDouble(sum)) return fail(r);
        continue;
      case 4:
        if (wt != wire::kVarint) break;
        if (!r.ReadVarint(v)) return fail(r);
        schema = wire::ZigZagDecode64(v & 0xffffffffULL);
        continue;
      case 5:
        if (wt != wire::kI64) break;
        if (!r.ReadDouble(zero_threshold)) return fail(r);
        continue;
      case 6:
        if (wt != wire::kVarint) break;
        if (!r.ReadVarint(zero_count_int)) return fail(r);
        zero_count_float = 0;  // zero_count is a oneof: the last member on the wire wins
        continue;
      case 7:
        if (wt != wire::kI64) break;
        if (!r.ReadDouble(zero_count_float)) return fail(r);
        zero_count_int = 0;
        continue;
      case 8:
      case 11:
        if (wt != wire::kLen) break;
        if (!ReadSpans(r, f == 8 ? neg_spans : pos_spans)) return fail(r);
        continue;
      case 9:
      case 12:
        if (wt != wire::kVarint && wt != wire::kLen) break;
        ok = wire::ForEachVarint(r, wt, [&](uint64_t d) {
          int64_t& cur = f == 9 ? neg_cur : pos_cur;
          // Wrapping add (no signed-overflow UB on hostile deltas), as Prometheus's Go code does.
          cur = static_cast<int64_t>(static_cast<uint64_t>(cur) +
                                     static_cast<uint64_t>(wire::ZigZagDecode64(d)));
          if (cur < 0) {
            negative_bucket = true;
          } else {
            (f == 9 ? neg_total : pos_total) += static_cast<uint64_t>(cur);
          }
          ++(f == 9 ? neg_deltas : pos_deltas);
        });
        if (!ok) return fail(r);
        continue;
      case 10:
      case 13:
        if (wt != wire::kI64 && wt != wire::kLen) break;
        ok = wire::ForEachDouble(r, wt, [&](double c) {
          if (c < 0) {
            negative_bucket = true;
          }
          float_total += c;
          ++(f == 10 ? neg_counts : pos_counts);
        });
        if (!ok) return fail(r);
        continue;
      case 14:
        if (wt != wire::kVarint) break;
        if (!r.ReadVarint(v)) return fail(r);
        continue;
      case 15:
        if (wt != wire::kVarint) break;
        if (!r.ReadVarint(v)) return fail(r);
        info.timestamp_ms = static_cast<int64_t>(v);
        continue;
      case 16:
        if (wt != wire::kI64 && wt != wire::kLen) break;
        ok = wire::ForEachDouble(r, wt, [&](double c) {
          if (!(c > last_custom)) {
            custom_increasing = false;
          }
          last_custom = c;
          ++custom_values;
        });
        if (!ok) return fail(r);
        continue;
      case 17:
        if (wt != wire::kVarint) break;
        if (!r.ReadVarint(v)) return fail(r);
        continue;
      default:
        break;
    }
    if (!ok) {
      return fail(r);
    }
    // Unknown field, or a known field with another wire type (which protobuf treats as unknown).
    if (!r.Skip(f, wt)) {
      return fail(r);
    }
  }

  info.stale = model::IsStaleNaN(sum);
  if (info.stale) {
    return HistogramCheck::kValid;  // a stale marker: every field but sum is ignored
  }
  const bool custom = schema == -53;
  if (!custom && (schema < -4 || schema > 8)) {
    return HistogramCheck::kInvalid;
  }
  if (custom) {
    if (!custom_increasing || neg_spans.count > 0 || neg_deltas + neg_counts > 0 ||
        zero_count_int != 0 || zero_count_float != 0 || zero_threshold != 0) {
      return HistogramCheck::kInvalid;
    }
    // As Prometheus's checkHistogramCustomBounds: +Inf is the implicit last bound, offsets are
    // never negative, and the spans may not reach past the last bucket (bounds + 1).
    if (last_custom == INFINITY || pos_spans.negative_offset ||
        pos_spans.extent > static_cast<int64_t>(custom_values) + 1) {
      return HistogramCheck::kInvalid;
    }
  } else if (custom_values > 0) {
    return HistogramCheck::kInvalid;
  }
  if (neg_spans.negative_offset_after_first || pos_spans.negative_offset_after_first ||
      negative_bucket) {
    return HistogramCheck::kInvalid;
  }
  if (is_float) {
    if (neg_deltas + pos_deltas > 0 || neg_spans.buckets != neg_counts ||
        pos_spans.buckets != pos_counts || zero_count_float < 0 || count_float < 0) {
      return HistogramCheck::kInvalid;
    }
    return HistogramCheck::kValid;
  }
  if (neg_counts + pos_counts > 0 || neg_spans.buckets != neg_deltas ||
      pos_spans.buckets != pos_deltas) {
    return HistogramCheck::kInvalid;
  }
  const uint64_t buckets_total = neg_total + pos_total + zero_count_int;
  if (std::isnan(sum) ? buckets_total > count_int : buckets_total != count_int) {
    return HistogramCheck::kInvalid;
  }
  return HistogramCheck::kValid;
}

}  // namespace canaryd::codec
