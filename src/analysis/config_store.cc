#include "canaryd/analysis/config_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include <spdlog/spdlog.h>

namespace canaryd::analysis {

bool WriteFileAtomically(const std::filesystem::path& path, const std::string& text) {
  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      ::close(fd);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) return false;
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return false;
  const int dir = ::open(path.parent_path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return false;
  const bool ok = ::fsync(dir) == 0;
  ::close(dir);
  return ok;
}

std::string RandomId() {
  // 128 random bits: unguessable, so ids can appear in URLs handed to others.
  static thread_local std::mt19937_64 rng(std::random_device{}() ^
                                          (static_cast<uint64_t>(std::random_device{}()) << 32));
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

ConfigStore::ConfigStore(const Clock& clock, std::filesystem::path data_dir)
    : clock_(clock), dir_(data_dir.empty() ? data_dir : data_dir / "canary-configs") {
  if (dir_.empty()) return;
  std::filesystem::create_directories(dir_);
  for (const auto& file : std::filesystem::directory_iterator(dir_)) {
    if (file.path().extension() != ".json") continue;
    std::ifstream in(file.path());
    std::stringstream text;
    text << in.rdbuf();
    auto config = canaryconfig::ParseCanaryConfig(text.str());
    if (!config) {
      spdlog::error("{}: cannot load canary config: {}", file.path().string(), config.error().ToString());
      continue;
    }
    StoredConfig c{std::move(*config), clock_.NowMillis()};  // mtime is not kept: "loaded at"
    c.config.id = file.path().stem().string();
    configs_[c.config.id] = std::move(c);
  }
}

void ConfigStore::Persist(const StoredConfig& c) {
  if (dir_.empty()) return;
  if (!WriteFileAtomically(dir_ / (c.config.id + ".json"), canaryconfig::SerializeCanaryConfig(c.config))) {
    spdlog::error("cannot write canary config {}: {}", c.config.id, std::strerror(errno));
  }
}

std::string ConfigStore::Create(canaryconfig::CanaryConfig config) {
  std::lock_guard lock(mu_);
  // Kayenta keeps a client-chosen id; only ids safe as file names are taken.
  const bool usable = !config.id.empty() && config.id.size() <= 128 && !configs_.contains(config.id) &&
                      std::all_of(config.id.begin(), config.id.end(), [](char ch) {
                        return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '-' || ch == '_';
                      });
  if (!usable) config.id = RandomId();
  StoredConfig c{std::move(config), clock_.NowMillis()};
  Persist(c);
  const std::string id = c.config.id;
  configs_[id] = std::move(c);
  return id;
}

bool ConfigStore::Update(const std::string& id, canaryconfig::CanaryConfig config) {
  std::lock_guard lock(mu_);
  const auto it = configs_.find(id);
  if (it == configs_.end()) return false;
  config.id = id;
  it->second = StoredConfig{std::move(config), clock_.NowMillis()};
  Persist(it->second);
  return true;
}

bool ConfigStore::Delete(const std::string& id) {
  std::lock_guard lock(mu_);
  if (configs_.erase(id) == 0) return false;
  if (!dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove(dir_ / (id + ".json"), ec);
  }
  return true;
}

std::optional<StoredConfig> ConfigStore::Get(const std::string& id) const {
  std::lock_guard lock(mu_);
  const auto it = configs_.find(id);
  if (it == configs_.end()) return std::nullopt;
  return it->second;
}

std::optional<StoredConfig> ConfigStore::Find(const std::string& id_or_name) const {
  std::lock_guard lock(mu_);
  if (const auto it = configs_.find(id_or_name); it != configs_.end()) return it->second;
  const StoredConfig* best = nullptr;
  for (const auto& [id, c] : configs_) {
    if (c.config.name == id_or_name && (best == nullptr || c.updated_ms > best->updated_ms)) best = &c;
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

std::vector<StoredConfig> ConfigStore::List(const std::string& application) const {
  std::lock_guard lock(mu_);
  std::vector<StoredConfig> out;
  for (const auto& [id, c] : configs_) {
    const auto& apps = c.config.applications;
    if (application.empty() || std::find(apps.begin(), apps.end(), application) != apps.end()) {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace canaryd::analysis
