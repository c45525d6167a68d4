#pragma once
// Parser for the two text exposition formats a scrape target can answer with:
//   - Prometheus text format 0.0.4 (`text/plain; version=0.0.4`): integer millisecond timestamps,
//     no exemplars, no `# EOF`;
//   - OpenMetrics 1.0 (`application/openmetrics-text; version=1.0.0`): float second timestamps,
//     `# UNIT`, exemplars, mandatory `# EOF`.
//
// The parser reads untrusted bytes (it has a libFuzzer target). It never throws and never reads
// outside `body`. An exposition that is invalid anywhere is invalid as a whole (OpenMetrics: "partial
// or invalid expositions MUST be considered erroneous in their entirety"; Prometheus rolls the
// whole scrape back on a parse error): Parse reports the first error, with its 1-based line, and the
// caller discards what the visitor saw.
//
// Syntax accepted (Prometheus 2.42's promparse/openmetricsparse, with the differences marked *):
//   - Text 0.0.4: blanks and tabs separate tokens in any number (also before `{`, around `=` and
//     `,`, and at the start of a line); empty lines are skipped; `# HELP`/`# TYPE` descriptors
//     (types counter, gauge, histogram, summary, untyped; the text starts one character after the
//     name, as in promparse), every other `#` line is a comment; a trailing comma in a label set;
//     the timestamp is an integer in ms (* a leading `-` is accepted: the format says int64,
//     promparse takes digits only). Every line must end in `\n`, except a final comment.
//     `\r` is an ordinary byte, so CRLF bodies fail as in Prometheus; * so is NUL (promparse's
//     lexer ends the body, successfully, at a NUL where a token or a comment's byte would be).
//   - OpenMetrics 1.0: single spaces, no empty lines, only `# HELP`/`# TYPE`/`# UNIT`/`# EOF`
//     (types counter, gauge, histogram, gaugehistogram, stateset, info, summary, unknown; a UNIT
//     must be a `_`-suffix of the name), `# EOF` last (one `\n` may follow), float-second
//     timestamps (NaN/Inf and * values beyond int64 ms are errors), exemplars `# {labels} value
//     [timestamp]` validated (names, UTF-8, no duplicates, <= 128 code points) and dropped.
//   - Both: values as Go's ParseFloat without hex floats or `_` (inf/infinity/nan in any case,
//     out-of-range is an error, underflow is 0); every NaN becomes Prometheus's normal NaN
//     (0x7ff8000000000001), so a target cannot send a stale marker. Label values escape `\\`,
//     `\"`, `\n` (other escapes stay as written); * a raw newline inside a quoted string is an
//     error (promparse 2.42 took it). Quoted UTF-8 names (Prometheus 3): `{"a.b", "c.d"="v"}`, the
//     metric name anywhere in the braces once, also in HELP/TYPE/UNIT. `{__name__="x"}` names the
//     metric when no other name is given. Duplicate label names (and `__name__` beside a metric
//     name) are errors; label values must be valid UTF-8. * Labels must be separated by commas
//     (promparse 2.42 took `{a="1" b="2"}`; Prometheus 3 does not).
//
// Thread safety: an ExpositionParser is not thread-safe; use one per thread (it keeps buffers
// between calls so a steady scrape does not allocate).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "canaryd/model/labels.h"

namespace canaryd::scrape {

enum class ExpositionFormat {
  kPrometheusText,  // text/plain; version=0.0.4 (and anything that is not OpenMetrics)
  kOpenMetrics,     // application/openmetrics-text (version 0.0.1 or 1.0.0)
};

/// The format of a response from its Content-Type header value. Prometheus 2.42 semantics: an
/// `application/openmetrics-text` media type (any parameters, case-insensitive) is OpenMetrics;
/// anything else, including a missing header, is the Prometheus text format.
ExpositionFormat FormatFromContentType(std::string_view content_type);

/// One sample line, as views into the parser's buffers and the body. Valid only during the
/// OnSample call.
struct ExpositionSample {
  /// The metric name (for quoted UTF-8 names, the unquoted, unescaped name).
  std::string_view name;
  /// The labels in exposition order, values unescaped, excluding the metric name. May contain
  /// empty values (OpenMetrics: "SHOULD be treated as absent"; the caller drops them).
  std::span<const model::LabelView> labels;
  /// The raw bytes of the series part of the line: from the first byte of the metric name (or of
  /// `{` for a name inside the braces) through the closing `}` (or the end of the name when there
  /// are no labels). Two lines with equal series_text have equal name and labels, so callers may
  /// cache per series_text what they derive from a series.
  std::string_view series_text;
  double value = 0;
  bool has_timestamp = false;
  /// Milliseconds since the epoch. 0.0.4: the integer as written. OpenMetrics: seconds (float)
  /// times 1000, truncated toward zero, as Prometheus does.
  int64_t timestamp_ms = 0;
};

/// Receives the samples of one exposition, in order.
class ExpositionVisitor {
 public:
  virtual ~ExpositionVisitor() = default;
  virtual void OnSample(const ExpositionSample& sample) = 0;
};

struct ParseError {
  size_t line = 0;      // 1-based line of the error (0: the exposition as a whole, e.g. no # EOF)
  std::string message;  // e.g. `expected label value after "le=", got "abc"`; names what it saw
};

struct ParseStats {
  size_t samples = 0;   // OnSample calls
  size_t families = 0;  // distinct TYPE/HELP/UNIT metric names seen
};

class ExpositionParser {
 public:
  /// Parses the whole body, calling visitor.OnSample for every sample line. Returns true on
  /// success; on failure returns false and fills `error` (samples already passed to the visitor
  /// must then be discarded by the caller). `stats` may be null.
  bool Parse(std::string_view body, ExpositionFormat format, ExpositionVisitor& visitor,
             ParseError& error, ParseStats* stats = nullptr);

 private:
  std::vector<model::LabelView> labels_;  // the current line's labels (then its exemplar's)
  // Backing store for unescaped names and values of the current line. Reserved to the line's
  // length before the first unescape of a line, so it never reallocates while views into it live.
  std::string unescaped_;
  std::vector<std::string_view> names_scratch_;  // duplicate-name check of long label sets
  // Hashes of the family names seen by this Parse (open addressing, 0 = empty slot).
  std::vector<uint64_t> family_slots_;
};

}  // namespace canaryd::scrape
