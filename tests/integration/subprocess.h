#pragma once
// Helpers for integration tests that run real peers (prometheus, vmagent, node_exporter) as child
// processes next to an in-process canaryd.
//
// Subprocess: fork/exec with stdin from /dev/null and stdout+stderr appended to a log file. The
// child gets PR_SET_PDEATHSIG(SIGKILL), so it dies with the test binary even if that crashes or is
// killed by a ctest timeout. Destruction (or Stop()) sends SIGTERM, waits a bounded time, then
// SIGKILL, and always reaps the child with waitpid.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace canaryd::testing {

class Subprocess {
 public:
  /// Starts `argv[0]` (an absolute path) with `argv`. On failure returns false and sets `error`;
  /// the object is then not running.
  bool Start(const std::vector<std::string>& argv, const std::filesystem::path& log_path,
             std::string& error);

  Subprocess() = default;
  ~Subprocess() { Stop(); }
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;

  /// SIGTERM, then SIGKILL after `grace`; reaps the child. Idempotent.
  void Stop(std::chrono::milliseconds grace = std::chrono::seconds(10));

  /// True while the child has not exited (reaps it if it has).
  bool Running();
  /// How the child ended, for messages ("running", "exited with 1", "killed by signal 9").
  std::string Status();

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }
  const std::filesystem::path& log_path() const { return log_path_; }
  /// The last `max_bytes` of the log file.
  std::string LogTail(size_t max_bytes = 4000) const;

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
  int wait_status_ = 0;
  std::string name_;
  std::filesystem::path log_path_;
};

/// A loopback TCP port that was free a moment ago (bind 127.0.0.1:0, read it, close).
uint16_t FreeLoopbackPort();

/// A fresh directory under the system temp directory; removed by the destructor unless Keep().
class TempDir {
 public:
  explicit TempDir(const std::string& prefix);
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  void Keep() { keep_ = true; }

 private:
  std::filesystem::path path_;
  bool keep_ = false;
};

/// Writes `text` to `path`; throws std::runtime_error on failure.
void WriteFile(const std::filesystem::path& path, const std::string& text);

}  // namespace canaryd::testing
