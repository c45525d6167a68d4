#pragma once
// Runs a command line (e.g. the canaryd binary with arguments) through the shell and collects
// its exit code, stdout and stderr, for end-to-end CLI tests.

#include <string>

namespace canaryd::testutil {

struct CommandResult {
  int exit_code = -1;  // -1 if it did not exit normally
  std::string out;     // stdout
  std::string err;     // stderr
};

/// Runs `binary` with `args` (shell syntax). Safe to call from tests that ctest runs in parallel
/// processes: stderr goes through a file unique to this process and call.
CommandResult RunCommand(const std::string& binary, const std::string& args);

}  // namespace canaryd::testutil
