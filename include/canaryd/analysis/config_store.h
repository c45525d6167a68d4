#pragma once
// Stored canary configs (Kayenta's /canaryConfig), persisted as
// <data_dir>/canary-configs/<id>.json with the same atomic writes as analyses.
//
// Thread safety: all methods are thread-safe.

#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "canaryd/canaryconfig/canary_config.h"
#include "canaryd/common/clock.h"

namespace canaryd::analysis {

struct StoredConfig {
  canaryconfig::CanaryConfig config;  // config.id is the store's id
  int64_t updated_ms = 0;
};

class ConfigStore {
 public:
  /// `data_dir` empty: kept in memory only. Loads what the directory holds (a file that cannot
  /// be read is logged and skipped).
  ConfigStore(const Clock& clock, std::filesystem::path data_dir);

  /// Stores a new config (a fresh id unless it carries an unused one); returns the id.
  std::string Create(canaryconfig::CanaryConfig config);
  /// Replaces config `id`; false if unknown.
  bool Update(const std::string& id, canaryconfig::CanaryConfig config);
  bool Delete(const std::string& id);
  std::optional<StoredConfig> Get(const std::string& id) const;
  /// The config with this id, or else the one with this name (the newest if several).
  std::optional<StoredConfig> Find(const std::string& id_or_name) const;
  /// All configs, optionally only those listing `application`.
  std::vector<StoredConfig> List(const std::string& application = "") const;

 private:
  void Persist(const StoredConfig& c);

  const Clock& clock_;
  const std::filesystem::path dir_;
  mutable std::mutex mu_;
  std::map<std::string, StoredConfig> configs_;
};

/// Writes `text` to `path` so that a crash leaves either the old file or the new one (temp file,
/// fsync, rename, fsync of the directory). False (errno set) on failure.
bool WriteFileAtomically(const std::filesystem::path& path, const std::string& text);

/// 32 random hex digits.
std::string RandomId();

}  // namespace canaryd::analysis
