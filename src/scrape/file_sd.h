#pragma once
// file_sd_configs target files: the format Prometheus reads (a list of {targets, labels}), as
// JSON (*.json) or YAML (*.yml, *.yaml).

#include <string>
#include <vector>

#include "canaryd/scrape/scrape_config.h"

namespace canaryd::scrape {

/// Reads and parses one target file. Returns "" on success, else a message naming the file and,
/// where known, the line and the field.
std::string ReadTargetGroupFile(const std::string& path, std::vector<TargetGroup>& out);

/// Parses the text of a target file; `path` decides the format and names it in messages.
std::string ParseTargetGroups(const std::string& path, const std::string& text,
                              std::vector<TargetGroup>& out);

}  // namespace canaryd::scrape
