#pragma once
// ISO-8601 instants in UTC, as Kayenta and Spinnaker write them ("2019-03-29T01:08:34Z",
// optionally with a fraction of a second). Thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

namespace canaryd {

/// Milliseconds since the epoch; false if `text` is not of that form.
bool ParseIsoInstant(std::string_view text, int64_t& ms);

/// "YYYY-MM-DDThh:mm:ss.mmmZ".
std::string FormatIsoInstant(int64_t ms);

}  // namespace canaryd
