#include "canaryd/common/file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace canaryd {

bool ReadFile(const std::string& path, std::string& out, std::string& error) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = errno != 0 ? std::strerror(errno) : "cannot open";
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) {
    error = errno != 0 ? std::strerror(errno) : "read error";
    return false;
  }
  out = std::move(ss).str();
  return true;
}

}  // namespace canaryd
