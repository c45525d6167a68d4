#include <algorithm>
#include <array>
#include <cstring>

#include "canaryd/codec/remote_write.h"
#include "histogram.h"
#include "wire.h"

namespace canaryd::codec {
namespace {

using model::LabelView;

Errc ErrorOf(const wire::Reader& r) {
  return r.error() == Errc::kOk ? Errc::kTruncated : r.error();
}

// Appends `s` to `out` with control and non-UTF-8 bytes escaped, for error messages.
void AppendPrintable(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const bool utf8 = model::IsValidUtf8(s);
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8)) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
}

std::string FormatLabelViews(const std::vector<LabelView>& labels) {
  std::string out = "{";
  for (size_t i = 0; i < labels.size() && out.size() < 512; ++i) {
    if (i) {
      out += ", ";
    }
    AppendPrintable(out, labels[i].name);
    out += "=\"";
    AppendPrintable(out, labels[i].value);
    out += '"';
  }
  out += '}';
  return out;
}

// Per reason: the metric label and the text for messages, indexed by RejectReason.
struct ReasonInfo {
  std::string_view name;
  std::string_view text;
};
constexpr std::array<ReasonInfo, static_cast<size_t>(RejectReason::kCount)> kReasons = {{
    {"missing_name", "series has no __name__ label"},
    {"empty_label_name", "empty label name"},
    {"duplicate_label", "duplicate label name"},
    {"invalid_utf8", "label name or value is not valid UTF-8"},
    {"bad_symbol_ref", "symbol reference out of range"},
    {"odd_label_refs", "labels_refs has an odd length"},
    {"samples_and_histograms", "series has both samples and histograms"},
    {"invalid_histogram", "invalid native histogram"},
    {"invalid_exemplar", "invalid exemplar"},
    {"too_far_in_future", "timestamp too far in the future"},
}};

std::string_view ReasonText(RejectReason r) {
  return r < RejectReason::kCount ? kReasons[static_cast<size_t>(r)].text : "unknown";
}

// Decodes a Sample message. Fast path for the encoding every sender uses: value then timestamp.
inline bool DecodeSample(std::string_view msg, model::Sample& out) {
  out = {};
  if (msg.size() >= 10 && msg[0] == '\x09' && msg[9] == '\x10') {
    std::memcpy(&out.value, msg.data() + 1, 8);
    wire::Reader r(msg.substr(10));
    uint64_t ts;
    if (r.ReadVarint(ts) && r.AtEnd()) {
      out.timestamp_ms = static_cast<int64_t>(ts);
      return true;
    }
    out = {};
  }
  wire::Reader r(msg);
  while (!r.AtEnd()) {
    uint32_t f, wt;
    if (!r.ReadTag(f, wt)) {
      return false;
    }
    uint64_t v;
    if (f == 1 && wt == wire::kI64) {
      if (!r.ReadDouble(out.value)) return false;
    } else if (f == 2 && wt == wire::kVarint) {
      if (!r.ReadVarint(v)) return false;
      out.timestamp_ms = static_cast<int64_t>(v);
    } else if (!r.Skip(f, wt)) {
      return false;
    }
  }
  return true;
}

// Decodes a 1.0 Label message. `canonical` is cleared unless it is exactly name then value.
inline bool DecodeLabel(std::string_view msg, LabelView& out, bool& canonical,
                        bool* fast = nullptr) {
  // Fast path: exactly `0a <len> name 12 <len> value` with one-byte lengths, which is what every
  // sender writes for labels shorter than 128 bytes.
  if (msg.size() >= 4 && msg[0] == '\x0a') {
    const auto nlen = static_cast<uint8_t>(msg[1]);
    if (nlen < 0x80 && msg.size() >= 4u + nlen && msg[2 + nlen] == '\x12') {
      const auto vlen = static_cast<uint8_t>(msg[3 + nlen]);
      if (vlen < 0x80 && msg.size() == 4u + nlen + vlen) {
        out.name = msg.substr(2, nlen);
        out.value = msg.substr(4 + nlen, vlen);
        if (fast != nullptr) {
          *fast = true;
        }
        return true;
      }
    }
  }
  out = {};
  wire::Reader r(msg);
  int seen = 0;  // 1 after name first, 2 after name then value, -1 otherwise
  while (!r.AtEnd()) {
    uint32_t f, wt;
    if (!r.ReadTag(f, wt)) {
      return false;
    }
    if (f == 1 && wt == wire::kLen) {
      if (!r.ReadBytes(out.name)) return false;
      seen = seen == 0 ? 1 : -1;
    } else if (f == 2 && wt == wire::kLen) {
      if (!r.ReadBytes(out.value)) return false;
      seen = seen == 1 ? 2 : -1;
    } else {
      seen = -1;
      if (!r.Skip(f, wt)) return false;
    }
  }
  if (seen != 2) {
    canonical = false;
  }
  return true;
}

// Walks a message's fields without interpreting them: checks it is well-formed.
bool WalkMessage(std::string_view msg) {
  wire::Reader r(msg);
  while (!r.AtEnd()) {
    uint32_t f, wt;
    if (!r.ReadTag(f, wt) || !r.Skip(f, wt)) {
      return false;
    }
  }
  return true;
}

// a < b for label names; most adjacent names differ in their first byte.
inline bool NameLess(std::string_view a, std::string_view b) {
  if (!a.empty() && !b.empty() && a[0] != b[0]) {
    return static_cast<unsigned char>(a[0]) < static_cast<unsigned char>(b[0]);
  }
  return a < b;
}

// True if no byte has the high bit set: such text is ASCII, hence valid UTF-8.
inline bool IsAscii(std::string_view s) {
  const char* p = s.data();
  const char* end = p + s.size();
  uint64_t acc = 0;
  for (; end - p >= 32; p += 32) {
    uint64_t w[4];
    std::memcpy(w, p, 32);
    acc |= w[0] | w[1] | w[2] | w[3];
  }
  for (; end - p >= 8; p += 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    acc |= w;
  }
  for (; p < end; ++p) {
    acc |= static_cast<uint8_t>(*p);
  }
  return (acc & 0x8080808080808080ULL) == 0;
}

// Checks the label-level rules that do not depend on order. Returns false with `reason` set.
// `text_known_valid` skips the UTF-8 check (2.0 symbols are checked once per request; a 1.0
// label region that is all ASCII, tags and one-byte lengths included, is valid as a whole).
inline bool CheckLabelText(const std::vector<LabelView>& labels, bool text_known_valid,
                           RejectReason& reason) {
  for (const auto& l : labels) {
    if (l.name.empty()) {
      reason = RejectReason::kEmptyLabelName;
      return false;
    }
  }
  if (text_known_valid) {
    return true;
  }
  for (const auto& l : labels) {
    if (!model::IsValidUtf8(l.name) || !model::IsValidUtf8(l.value)) {
      reason = RejectReason::kInvalidUtf8;
      return false;
    }
  }
  return true;
}

}  // namespace

// Per-series counts gathered while walking one TimeSeries.
struct detail::SeriesTally {
  uint32_t first_sample = 0;
  uint32_t num_samples = 0;
  uint64_t histograms = 0;
  uint64_t exemplars = 0;
  uint64_t future_samples = 0;
  uint64_t bad_histograms = 0;
  uint64_t bad_exemplars = 0;
};

namespace {
using detail::SeriesTally;

// Validates one Histogram message into the tally; an error means the request is malformed.
Result<void> TallyHistogram(std::string_view msg, const DecodeLimits& limits, SeriesTally& t) {
  HistogramInfo info;
  Errc err = Errc::kOk;
  switch (CheckHistogram(msg, info, err)) {
    case HistogramCheck::kMalformed:
      return make_error_code(err);
    case HistogramCheck::kInvalid:
      ++t.bad_histograms;
      break;
    case HistogramCheck::kValid:
      if (info.timestamp_ms > limits.max_timestamp_ms) {
        ++t.bad_histograms;
      }
      break;
  }
  ++t.histograms;
  return {};
}

// Walks one Exemplar (1: labels, 2: value, 3: timestamp) into the tally. `on_labels` handles
// each occurrence of field 1 (reader positioned after the tag) and clears `valid` for bad labels;
// `labels_complete` is asked at the end (2.0: an even number of refs). An exemplar stamped after
// the limit is rejected like a bad one. An error means the request is malformed.
template <typename OnLabels, typename LabelsComplete = bool (*)()>
Result<void> TallyExemplar(
    std::string_view msg, const DecodeLimits& limits, SeriesTally& t, OnLabels&& on_labels,
    LabelsComplete&& labels_complete = +[] { return true; }) {
  wire::Reader e(msg);
  bool valid = true;
  bool future = false;
  while (!e.AtEnd()) {
    uint32_t f, wt;
    if (!e.ReadTag(f, wt)) {
      return make_error_code(ErrorOf(e));
    }
    bool ok = true;
    if (f == 1) {
      ok = on_labels(e, wt, valid);
    } else if (f == 3 && wt == wire::kVarint) {
      uint64_t ts_ms = 0;  // the last timestamp wins, as in protobuf
      ok = e.ReadVarint(ts_ms);
      future = static_cast<int64_t>(ts_ms) > limits.max_timestamp_ms;
    } else {
      ok = e.Skip(f, wt);
    }
    if (!ok) {
      return make_error_code(ErrorOf(e));
    }
  }
  ++t.exemplars;
  if (!valid || future || !labels_complete()) {
    ++t.bad_exemplars;
  }
  return {};
}

}  // namespace

std::string_view RejectReasonName(RejectReason r) noexcept {
  return r < RejectReason::kCount ? kReasons[static_cast<size_t>(r)].name : "unknown";
}

std::string DecodeReport::Summary() const {
  std::string out;
  auto add_part = [&](uint64_t n, std::string_view what) {
    if (n == 0) {
      return;
    }
    out += out.empty() ? "rejected " : ", ";
    out += std::to_string(n);
    out += ' ';
    out += what;
  };
  if (series_rejected > 0) {
    add_part(series_rejected,
             "of " + std::to_string(series_accepted + series_rejected) + " series");
    std::string reasons;
    for (size_t i = 0; i < series_rejected_by_reason.size(); ++i) {
      if (series_rejected_by_reason[i] == 0) {
        continue;
      }
      reasons += reasons.empty() ? " (" : ", ";
      reasons += RejectReasonName(static_cast<RejectReason>(i));
      reasons += ": ";
      reasons += std::to_string(series_rejected_by_reason[i]);
    }
    out += reasons + ")";
  }
  add_part(samples_rejected_by_reason[static_cast<size_t>(RejectReason::kTooFarInFuture)],
           "samples too far in the future");
  add_part(histograms_rejected, "histograms");
  add_part(exemplars_rejected, "exemplars");
  if (!first_rejection.empty()) {
    out += "; first: ";
    out += first_rejection;
  }
  return out;
}

void RemoteWriteDecoder::RecordRejection(DecodeReport& report, RejectReason reason,
                                         uint64_t samples, uint64_t histograms, uint64_t exemplars,
                                         std::string_view detail) {
  report.samples_rejected += samples;
  report.samples_rejected_by_reason[static_cast<size_t>(reason)] += samples;
  report.histograms_rejected += histograms;
  report.exemplars_rejected += exemplars;
  if (report.first_rejection.empty()) {
    report.first_rejection = FormatLabelViews(labels_);
    report.first_rejection += ": ";
    report.first_rejection += ReasonText(reason);
    if (!detail.empty()) {
      report.first_rejection += " (";
      report.first_rejection += detail;
      report.first_rejection += ')';
    }
  }
}

void RemoteWriteDecoder::RejectSeries(DecodeReport& report, RejectReason reason,
                                      const SeriesTally& t, model::SeriesBatch& batch) {
  batch.samples.resize(t.first_sample);
  ++report.series_rejected;
  ++report.series_rejected_by_reason[static_cast<size_t>(reason)];
  RecordRejection(report, reason, t.num_samples + t.future_samples, t.histograms, t.exemplars, {});
}

void RemoteWriteDecoder::AcceptSeries(DecodeReport& report, const SeriesTally& t,
                                      model::BatchSeries series, model::SeriesBatch& batch) {
  // The series stays; what was wrong inside it is rejected piece by piece.
  auto reject_part = [&](RejectReason reason, uint64_t n, uint64_t samples, uint64_t histograms,
                         uint64_t exemplars) {
    if (n == 0) {
      return;
    }
    RecordRejection(
        report, reason, samples, histograms, exemplars,
        reason == RejectReason::kTooFarInFuture ? std::to_string(n) + " samples" : std::string());
  };
  if (t.future_samples + t.bad_exemplars + t.bad_histograms > 0 &&
      series.labels.data() != nullptr && report.first_rejection.empty()) {
    // A series taken on the fast path left labels_ untouched: refill it for the message.
    labels_.clear();
    model::LabelKeyReader reader(series.labels);
    for (LabelView l; reader.Next(l);) {
      labels_.push_back(l);
    }
  }
  reject_part(RejectReason::kTooFarInFuture, t.future_samples, t.future_samples, 0, 0);
  reject_part(RejectReason::kInvalidExemplar, t.bad_exemplars, 0, 0, t.bad_exemplars);
  reject_part(RejectReason::kInvalidHistogram, t.bad_histograms, 0, t.bad_histograms, 0);
  series.first_sample = t.first_sample;
  series.num_samples = t.num_samples;
  batch.series.push_back(series);
  ++report.series_accepted;
  report.samples_accepted += t.num_samples;
  report.histograms_accepted += t.histograms - t.bad_histograms;
  report.exemplars_accepted += t.exemplars - t.bad_exemplars;
}

bool RemoteWriteDecoder::FastKeyV2(size_t& offset, size_t& size) {
  // The common case in one pass over refs_: names sorted and distinct, nothing empty, every ref
  // in range and valid UTF-8, __name__ present. Anything else returns false and takes the
  // general path (sorting, dropping empty values, naming the reason).
  if (refs_.size() % 2 != 0) {
    return false;
  }
  const size_t num_symbols = symbols_.size();
  std::string_view prev;
  bool has_name = false;
  size_t total = 0;
  for (size_t i = 0; i < refs_.size(); i += 2) {
    if (refs_[i] >= num_symbols || refs_[i + 1] >= num_symbols) {
      return false;
    }
    const SymbolInfo& n = symbols_[refs_[i]];
    const SymbolInfo& v = symbols_[refs_[i + 1]];
    if (!n.valid_utf8 || !v.valid_utf8 || n.text.empty() || v.text.empty() ||
        (prev.data() != nullptr && !NameLess(prev, n.text))) {
      return false;
    }
    prev = n.text;
    has_name |= n.text.size() == 8 && std::memcmp(n.text.data(), "__name__", 8) == 0;
    const size_t inner = 4 + n.text.size() + v.text.size();
    // With one-byte lengths (names and values under 128 bytes together) the size is direct.
    total += inner < 0x80 ? 2 + inner : model::EncodedLabelSize(n.text.size(), v.text.size());
  }
  if (!has_name) {
    return false;
  }
  offset = key_arena_.size();
  size = total;
  key_arena_.resize(offset + total);
  char* out = key_arena_.data() + offset;
  for (size_t i = 0; i < refs_.size(); i += 2) {
    const std::string_view name = symbols_[refs_[i]].text;
    const std::string_view value = symbols_[refs_[i + 1]].text;
    const size_t inner = 4 + name.size() + value.size();
    if (inner >= 0x80) {
      out = model::WriteLabel(out, name, value);
      continue;
    }
    out[0] = '\x0a';
    out[1] = static_cast<char>(inner);
    out[2] = '\x0a';
    out[3] = static_cast<char>(name.size());
    std::memcpy(out + 4, name.data(), name.size());
    out += 4 + name.size();
    out[0] = '\x12';
    out[1] = static_cast<char>(value.size());
    std::memcpy(out + 2, value.data(), value.size());
    out += 2 + value.size();
  }
  return true;
}

bool RemoteWriteDecoder::BuildKey(RejectReason& reason, size_t& offset, size_t& size) {
  if (!std::is_sorted(labels_.begin(), labels_.end(),
                      [](const LabelView& a, const LabelView& b) { return a.name < b.name; })) {
    std::sort(labels_.begin(), labels_.end(),
              [](const LabelView& a, const LabelView& b) { return a.name < b.name; });
  }
  bool has_name = false;
  for (size_t i = 0; i < labels_.size(); ++i) {
    if (i > 0 && labels_[i].name == labels_[i - 1].name) {
      reason = RejectReason::kDuplicateLabel;
      return false;
    }
    if (labels_[i].name == "__name__" && !labels_[i].value.empty()) {
      has_name = true;
    }
  }
  if (!has_name) {
    reason = RejectReason::kMissingName;
    return false;
  }
  offset = key_arena_.size();
  size = 0;
  for (const auto& l : labels_) {
    if (!l.value.empty()) {
      size += model::EncodedLabelSize(l.name.size(), l.value.size());
    }
  }
  key_arena_.resize(offset + size);
  char* out = key_arena_.data() + offset;
  for (const auto& l : labels_) {
    if (!l.value.empty()) {
      out = model::WriteLabel(out, l.name, l.value);
    }
  }
  return true;
}

Result<void> RemoteWriteDecoder::Decode(ProtocolVersion version, std::string_view body,
                                        const DecodeLimits& limits, model::SeriesBatch& batch,
                                        DecodeReport& report) {
  batch.Clear();
  report.Clear();
  key_arena_.clear();
  fixups_.clear();
  auto result = version == ProtocolVersion::kV1 ? DecodeV1(body, limits, batch, report)
                                                : DecodeV2(body, limits, batch, report);
  if (!result) {
    batch.Clear();
    return result;
  }
  for (const auto& f : fixups_) {
    batch.series[f.series_index].labels = std::string_view(key_arena_.data() + f.offset, f.size);
  }
  return {};
}

Result<void> RemoteWriteDecoder::DecodeV1(std::string_view body, const DecodeLimits& limits,
                                          model::SeriesBatch& batch, DecodeReport& report) {
  wire::Reader top(body);
  while (!top.AtEnd()) {
    uint32_t field, wt;
    if (!top.ReadTag(field, wt)) {
      return make_error_code(ErrorOf(top));
    }
    if (field == 3 && wt == wire::kLen) {  // MetricMetadata
      std::string_view md;
      if (!top.ReadBytes(md) || !WalkMessage(md)) {
        return make_error_code(ErrorOf(top));
      }
      ++report.metadata_accepted;
      continue;
    }
    if (field != 1 || wt != wire::kLen) {
      if (!top.Skip(field, wt)) {
        return make_error_code(ErrorOf(top));
      }
      continue;
    }
    std::string_view ts;
    if (!top.ReadBytes(ts)) {
      return make_error_code(ErrorOf(top));
    }

    // ---- one TimeSeries ----
    // Labels are checked on the fly; only a series that is not already canonical (sorted,
    // minimal, contiguous, ASCII) is walked a second time into labels_ for the general path.
    const char* labels_begin = nullptr;
    const char* labels_end = nullptr;
    bool canonical = true;
    bool sorted_unique = true;
    bool empty_name = false;
    bool has_name = false;
    std::string_view prev_name;
    SeriesTally tally;
    tally.first_sample = static_cast<uint32_t>(batch.samples.size());

    // Fast walk over the leading run of labels in the shape every sender writes them:
    // `0a <len> 0a <len> name 12 <len> value` with one-byte lengths. It stops at the first field
    // that is anything else, and the general loop below takes over from there.
    const char* p = ts.data();
    const char* const ts_end = ts.data() + ts.size();
    while (ts_end - p >= 6 && p[0] == '\x0a') {
      const auto len = static_cast<uint8_t>(p[1]);
      const char* msg = p + 2;
      if (len >= 0x80 || ts_end - msg < len || len < 4 || msg[0] != '\x0a') {
        break;
      }
      const auto nlen = static_cast<uint8_t>(msg[1]);
      if (nlen >= 0x80 || 4u + nlen > len || msg[2 + nlen] != '\x12') {
        break;
      }
      const auto vlen = static_cast<uint8_t>(msg[3 + nlen]);
      if (vlen >= 0x80 || 4u + nlen + vlen != len) {
        break;
      }
      const std::string_view name(msg + 2, nlen);
      if (vlen == 0) {
        canonical = false;  // empty value: dropped from the key, so the bytes are not the key
      }
      if (prev_name.data() != nullptr && !NameLess(prev_name, name)) {
        sorted_unique = false;
      }
      prev_name = name;
      empty_name |= nlen == 0;
      has_name |= nlen == 8 && std::memcmp(name.data(), "__name__", 8) == 0;
      if (labels_begin == nullptr) {
        labels_begin = p;
      }
      p = msg + len;
      labels_end = p;
    }

    wire::Reader r(std::string_view(p, static_cast<size_t>(ts_end - p)));
    while (!r.AtEnd()) {
      const char* field_start = r.pos();
      uint32_t f, fwt;
      if (!r.ReadTag(f, fwt)) {
        return make_error_code(ErrorOf(r));
      }
      if (fwt != wire::kLen || f > 4) {
        if (!r.Skip(f, fwt)) {
          return make_error_code(ErrorOf(r));
        }
        continue;
      }
      std::string_view msg;
      if (!r.ReadBytes(msg)) {
        return make_error_code(ErrorOf(r));
      }
      switch (f) {
        case 1: {
          LabelView l;
          bool fast = false;
          if (!DecodeLabel(msg, l, canonical, &fast)) {
            return make_error_code(Errc::kTruncated);
          }
          if (labels_end != nullptr && labels_end != field_start) {
            canonical = false;  // labels interleaved with other fields
          }
          if (labels_begin == nullptr) {
            labels_begin = field_start;
          }
          labels_end = r.pos();
          const auto consumed = static_cast<size_t>(labels_end - field_start);
          // On the fast path the inner lengths are minimal; the outer one must be too.
          const size_t canonical_size =
              fast ? 1 + model::VarintSize(msg.size()) + msg.size()
                   : model::EncodedLabelSize(l.name.size(), l.value.size());
          if (l.value.empty() || consumed != canonical_size) {
            canonical = false;
          }
          if (prev_name.data() != nullptr && !NameLess(prev_name, l.name)) {
            sorted_unique = false;
          }
          prev_name = l.name;
          empty_name |= l.name.empty();
          has_name |= l.name.size() == 8 && std::memcmp(l.name.data(), "__name__", 8) == 0;
          break;
        }
        case 2: {
          model::Sample s;
          if (!DecodeSample(msg, s)) {
            return make_error_code(Errc::kTruncated);
          }
          if (s.timestamp_ms > limits.max_timestamp_ms) {
            ++tally.future_samples;
          } else {
            batch.samples.push_back(s);
          }
          break;
        }
        case 3: {  // Exemplar: labels must be valid; the exemplar itself is counted, not stored
          auto ex =
              TallyExemplar(msg, limits, tally, [](wire::Reader& e, uint32_t lwt, bool& valid) {
                if (lwt != wire::kLen) {
                  return e.Skip(1, lwt);
                }
                std::string_view lm;
                LabelView el;
                bool ignored = true;
                if (!e.ReadBytes(lm) || !DecodeLabel(lm, el, ignored)) {
                  return false;
                }
                valid &=
                    !el.name.empty() && model::IsValidUtf8(el.name) && model::IsValidUtf8(el.value);
                return true;
              });
          if (!ex) {
            return ex;
          }
          break;
        }
        case 4:
          if (auto h = TallyHistogram(msg, limits, tally); !h) {
            return h;
          }
          break;
        default:
          break;
      }
    }

    tally.num_samples = static_cast<uint32_t>(batch.samples.size() - tally.first_sample);
    RejectReason reason{};
    model::BatchSeries out;
    const std::string_view label_region =
        labels_begin == nullptr
            ? std::string_view()
            : std::string_view(labels_begin, static_cast<size_t>(labels_end - labels_begin));
    bool ok = true;
    if (canonical && sorted_unique && has_name && !empty_name && IsAscii(label_region)) {
      // The request's own bytes are the canonical key: hash them in place.
      out.labels = label_region;
      const auto h = model::HashLabelKey128(out.labels);
      out.hash = h.lo;
      out.hash_hi = h.hi;
    } else {
      labels_.clear();
      wire::Reader again(ts);
      uint32_t f, fwt;
      while (again.ReadTag(f, fwt)) {
        if (f == 1 && fwt == wire::kLen) {
          std::string_view msg;
          LabelView l;
          bool ignored = true;
          again.ReadBytes(msg);
          DecodeLabel(msg, l, ignored);
          labels_.push_back(l);
        } else {
          again.Skip(f, fwt);
        }
      }
      ok = CheckLabelText(labels_, /*text_known_valid=*/false, reason);
    }
    if (ok && out.labels.data() == nullptr) {
      size_t offset = 0, size = 0;
      ok = BuildKey(reason, offset, size);
      if (ok) {
        const auto h = model::HashLabelKey128(std::string_view(key_arena_.data() + offset, size));
        out.hash = h.lo;
        out.hash_hi = h.hi;
        fixups_.push_back({static_cast<uint32_t>(batch.series.size()),
                           static_cast<uint32_t>(offset), static_cast<uint32_t>(size)});
      }
    }
    if (!ok) {
      RejectSeries(report, reason, tally, batch);
      continue;
    }
    AcceptSeries(report, tally, out, batch);
  }
  return {};
}

Result<void> RemoteWriteDecoder::DecodeV2(std::string_view body, const DecodeLimits& limits,
                                          model::SeriesBatch& batch, DecodeReport& report) {
  // Pass 1: the symbol table (field 4 may come after the series that use it) and structure.
  symbols_.clear();
  {
    wire::Reader top(body);
    while (!top.AtEnd()) {
      uint32_t field, wt;
      if (!top.ReadTag(field, wt)) {
        return make_error_code(ErrorOf(top));
      }
      if (field == 4 && wt == wire::kLen) {
        std::string_view sym;
        if (!top.ReadBytes(sym)) {
          return make_error_code(ErrorOf(top));
        }
        symbols_.push_back({sym, model::IsValidUtf8(sym)});
      } else if (!top.Skip(field, wt)) {
        return make_error_code(ErrorOf(top));
      }
    }
  }
  if (!symbols_.empty() && !symbols_[0].text.empty()) {
    return make_error_code(Errc::kBadSymbolTable);
  }
  const auto num_symbols = static_cast<uint64_t>(symbols_.size());

  // Pass 2: the series.
  wire::Reader top(body);
  while (!top.AtEnd()) {
    uint32_t field, wt;
    if (!top.ReadTag(field, wt)) {
      return make_error_code(ErrorOf(top));
    }
    if (field != 5 || wt != wire::kLen) {
      if (!top.Skip(field, wt)) {
        return make_error_code(ErrorOf(top));
      }
      continue;
    }
    std::string_view ts;
    if (!top.ReadBytes(ts)) {
      return make_error_code(ErrorOf(top));
    }

    // ---- one TimeSeries ----
    refs_.clear();
    SeriesTally tally;
    tally.first_sample = static_cast<uint32_t>(batch.samples.size());
    bool bad_metadata_ref = false;

    wire::Reader r(ts);
    while (!r.AtEnd()) {
      uint32_t f, fwt;
      if (!r.ReadTag(f, fwt)) {
        return make_error_code(ErrorOf(r));
      }
      if (f == 1 && (fwt == wire::kLen || fwt == wire::kVarint)) {
        // uint32: libprotobuf keeps the low 32 bits of a longer varint.
        if (!wire::ForEachVarint(r, fwt,
                                 [&](uint64_t v) { refs_.push_back(static_cast<uint32_t>(v)); })) {
          return make_error_code(ErrorOf(r));
        }
        continue;
      }
      // Field 6 (legacy created_timestamp) and the samples' start timestamps are valid input
      // but not used by canaryd yet: the generic skip below accepts them.
      if (fwt != wire::kLen || f < 2 || f > 5) {
        if (!r.Skip(f, fwt)) {
          return make_error_code(ErrorOf(r));
        }
        continue;
      }
      std::string_view msg;
      if (!r.ReadBytes(msg)) {
        return make_error_code(ErrorOf(r));
      }
      switch (f) {
        case 2: {
          model::Sample s;
          if (!DecodeSample(msg, s)) {  // 2.0's start_timestamp (field 3) is skipped
            return make_error_code(Errc::kTruncated);
          }
          if (s.timestamp_ms > limits.max_timestamp_ms) {
            ++tally.future_samples;
          } else {
            batch.samples.push_back(s);
          }
          break;
        }
        case 3:
          if (auto h = TallyHistogram(msg, limits, tally); !h) {
            return h;
          }
          break;
        case 4: {
          uint64_t nrefs = 0;
          auto ex = TallyExemplar(
              msg, limits, tally,
              [&](wire::Reader& e, uint32_t lwt, bool& valid) {
                if (lwt != wire::kLen && lwt != wire::kVarint) {
                  return e.Skip(1, lwt);
                }
                return wire::ForEachVarint(e, lwt, [&](uint64_t v) {
                  const auto ref = static_cast<uint32_t>(v);
                  valid &=
                      ref < num_symbols && symbols_[ref].valid_utf8 && (nrefs % 2 != 0 || ref != 0);
                  ++nrefs;
                });
              },
              [&] { return nrefs % 2 == 0; });
          if (!ex) {
            return ex;
          }
          break;
        }
        case 5: {
          wire::Reader m(msg);
          while (!m.AtEnd()) {
            uint32_t mf, mwt;
            if (!m.ReadTag(mf, mwt)) {
              return make_error_code(ErrorOf(m));
            }
            if ((mf == 3 || mf == 4) && mwt == wire::kVarint) {
              uint64_t ref;
              if (!m.ReadVarint(ref)) {
                return make_error_code(ErrorOf(m));
              }
              if ((ref & 0xffffffffULL) >= num_symbols) {
                bad_metadata_ref = true;
              }
            } else if (!m.Skip(mf, mwt)) {
              return make_error_code(ErrorOf(m));
            }
          }
          break;
        }
        default:
          break;
      }
    }

    // Labels from symbol references.
    tally.num_samples = static_cast<uint32_t>(batch.samples.size() - tally.first_sample);
    const bool mixed = tally.num_samples + tally.future_samples > 0 && tally.histograms > 0;
    size_t offset = 0, size = 0;
    if (!mixed && !bad_metadata_ref && FastKeyV2(offset, size)) {
      model::BatchSeries out;
      // Valid until the arena grows; AcceptSeries may read it now, the fixup repoints it later.
      out.labels = std::string_view(key_arena_.data() + offset, size);
      const auto h = model::HashLabelKey128(out.labels);
      out.hash = h.lo;
      out.hash_hi = h.hi;
      fixups_.push_back({static_cast<uint32_t>(batch.series.size()), static_cast<uint32_t>(offset),
                         static_cast<uint32_t>(size)});
      AcceptSeries(report, tally, out, batch);
      continue;
    }
    labels_.clear();
    RejectReason reason{};
    bool ok = true;
    if (refs_.size() % 2 != 0) {
      ok = false;
      reason = RejectReason::kOddLabelRefs;
    } else if (bad_metadata_ref) {
      ok = false;
      reason = RejectReason::kBadSymbolRef;
    } else {
      for (size_t i = 0; i < refs_.size(); i += 2) {
        if (refs_[i] >= num_symbols || refs_[i + 1] >= num_symbols) {
          ok = false;
          reason = RejectReason::kBadSymbolRef;
          break;
        }
        const auto& n = symbols_[refs_[i]];
        const auto& v = symbols_[refs_[i + 1]];
        if (!n.valid_utf8 || !v.valid_utf8) {
          ok = false;
          reason = RejectReason::kInvalidUtf8;
        }
        labels_.push_back({n.text, v.text});
      }
    }
    if (ok) {
      ok = CheckLabelText(labels_, /*text_known_valid=*/true, reason);
    }
    if (ok && mixed) {
      ok = false;
      reason = RejectReason::kSamplesAndHistograms;
    }
    if (ok) {
      ok = BuildKey(reason, offset, size);
    }
    if (!ok) {
      RejectSeries(report, reason, tally, batch);
      continue;
    }
    model::BatchSeries out;
    const auto h = model::HashLabelKey128(std::string_view(key_arena_.data() + offset, size));
    out.hash = h.lo;
    out.hash_hi = h.hi;
    fixups_.push_back({static_cast<uint32_t>(batch.series.size()), static_cast<uint32_t>(offset),
                       static_cast<uint32_t>(size)});
    AcceptSeries(report, tally, out, batch);
  }
  return {};
}

}  // namespace canaryd::codec
