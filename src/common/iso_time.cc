#include "canaryd/common/iso_time.h"

#include <cstdio>
#include <ctime>

namespace canaryd {

bool ParseIsoInstant(std::string_view text, int64_t& ms) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0;
  double sec = 0;
  char z = 0;
  const std::string str(text);
  if (std::sscanf(str.c_str(), "%d-%d-%dT%d:%d:%lf%c", &y, &mo, &d, &h, &mi, &sec, &z) != 7 || z != 'Z' ||
      mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || !(sec >= 0 && sec < 61)) {
    return false;
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  ms = static_cast<int64_t>(timegm(&tm)) * 1000 + static_cast<int64_t>(sec * 1000 + 0.5);
  return true;
}

std::string FormatIsoInstant(int64_t ms) {
  const auto secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

}  // namespace canaryd
