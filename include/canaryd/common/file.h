#pragma once
// Reading a whole (small) file: configuration, canary configs, target files, secrets.

#include <string>

namespace canaryd {

/// Reads the file at `path` into `out`. On failure returns false and sets `error` to the system's
/// reason ("No such file or directory"); never throws. Thread-safe.
bool ReadFile(const std::string& path, std::string& out, std::string& error);

}  // namespace canaryd
