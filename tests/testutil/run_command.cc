#include "run_command.h"

#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace canaryd::testutil {

CommandResult RunCommand(const std::string& binary, const std::string& args) {
  static std::atomic<int> calls{0};
  const std::string err_path = (std::filesystem::temp_directory_path() /
                                ("canaryd_cli_" + std::to_string(getpid()) + "_" +
                                 std::to_string(++calls) + ".stderr"))
                                   .string();
  const std::string cmd = binary + " " + args + " 2>" + err_path;
  CommandResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) {
    r.out.append(buf.data(), n);
  }
  const int status = pclose(p);
  std::ifstream f(err_path);
  r.err.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  std::remove(err_path.c_str());
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace canaryd::testutil
