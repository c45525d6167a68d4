#include "subprocess.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace canaryd::testing {

namespace {

std::string Errno(const std::string& what) { return what + ": " + std::strerror(errno); }

// Everything the child does between fork and exec is async-signal-safe (the parent is
// multi-threaded: canaryd's server threads run in-process).
[[noreturn]] void ChildExec(char* const* argv, int log_fd, int null_fd, int err_fd,
                            pid_t parent, int max_fd) {
  // Die with the test binary, even if it is SIGKILLed (ctest timeout) or crashes.
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent) {
    _exit(126);
  }
  setpgid(0, 0);  // own group: Stop() signals the group, SIGINT from a terminal does not reach it
  // Error pipe to fd 3 (close-on-exec), log to 1 and 2, /dev/null to 0, close everything else
  // (canaryd's listening socket must not leak into the peer).
  // First move the three out of the way: any of them may itself be fd 0-3 (the parent may have
  // had nothing else open), and a dup2 onto it would clobber it.
  err_fd = fcntl(err_fd, F_DUPFD, 10);
  log_fd = fcntl(log_fd, F_DUPFD, 10);
  null_fd = fcntl(null_fd, F_DUPFD, 10);
  if (err_fd < 0 || log_fd < 0 || null_fd < 0) {
    _exit(126);
  }
  if (dup2(err_fd, 3) < 0 || fcntl(3, F_SETFD, FD_CLOEXEC) != 0 || dup2(null_fd, 0) < 0 ||
      dup2(log_fd, 1) < 0 || dup2(log_fd, 2) < 0) {
    _exit(126);
  }
  for (int fd = 4; fd < max_fd; ++fd) {
    close(fd);
  }
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execv(argv[0], argv);
  const int e = errno;
  ssize_t ignored = write(3, &e, sizeof e);
  (void)ignored;
  _exit(127);
}

}  // namespace

bool Subprocess::Start(const std::vector<std::string>& argv, const std::filesystem::path& log_path,
                       std::string& error) {
  Stop();
  pid_ = -1;
  exited_ = false;
  wait_status_ = 0;
  if (argv.empty()) {
    error = "empty argv";
    return false;
  }
  name_ = std::filesystem::path(argv[0]).filename().string();
  log_path_ = log_path;

  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) {
    cargv.push_back(a.data());
  }
  cargv.push_back(nullptr);

  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) {
    error = Errno("open " + log_path.string());
    return false;
  }
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  int err_pipe[2];
  if (null_fd < 0 || pipe2(err_pipe, O_CLOEXEC) != 0) {
    error = Errno("open /dev/null or pipe2");
    close(log_fd);
    if (null_fd >= 0) {
      close(null_fd);
    }
    return false;
  }
  rlimit lim{};
  int max_fd = 1024;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    max_fd = static_cast<int>(std::min<rlim_t>(lim.rlim_cur, 65536));
  }
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) {
    ChildExec(cargv.data(), log_fd, null_fd, err_pipe[1], parent, max_fd);
  }
  const int fork_errno = errno;
  close(log_fd);
  close(null_fd);
  close(err_pipe[1]);
  if (pid < 0) {
    close(err_pipe[0]);
    errno = fork_errno;
    error = Errno("fork");
    return false;
  }
  pid_ = pid;
  // The pipe closes on a successful exec; otherwise the child reports errno first.
  int child_errno = 0;
  ssize_t n;
  do {
    n = read(err_pipe[0], &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  close(err_pipe[0]);
  if (n == static_cast<ssize_t>(sizeof child_errno)) {
    Stop();
    error = "exec " + argv[0] + ": " + std::strerror(child_errno);
    return false;
  }
  return true;
}

void Subprocess::Stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0 || !Running()) {
    return;
  }
  kill(-pid_, SIGTERM);
  kill(pid_, SIGTERM);  // in case setpgid did not happen yet
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!Running()) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill(-pid_, SIGKILL);
  kill(pid_, SIGKILL);
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, 0);
  } while (r < 0 && errno == EINTR);
  exited_ = true;
  wait_status_ = status;
}

bool Subprocess::Running() {
  if (pid_ <= 0 || exited_) {
    return false;
  }
  int status = 0;
  const pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    exited_ = true;
    wait_status_ = status;
    return false;
  }
  return true;
}

std::string Subprocess::Status() {
  if (pid_ <= 0) {
    return "not started";
  }
  if (Running()) {
    return "running (pid " + std::to_string(pid_) + ")";
  }
  if (WIFEXITED(wait_status_)) {
    return "exited with " + std::to_string(WEXITSTATUS(wait_status_));
  }
  if (WIFSIGNALED(wait_status_)) {
    return "killed by signal " + std::to_string(WTERMSIG(wait_status_));
  }
  return "ended";
}

std::string Subprocess::LogTail(size_t max_bytes) const {
  std::ifstream in(log_path_, std::ios::binary);
  if (!in) {
    return "(no log at " + log_path_.string() + ")";
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.size() > max_bytes) {
    text = "...\n" + text.substr(text.size() - max_bytes);
  }
  return text;
}

uint16_t FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw std::runtime_error(Errno("socket"));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const std::string e = Errno("bind 127.0.0.1:0");
    close(fd);
    throw std::runtime_error(e);
  }
  close(fd);
  return ntohs(addr.sin_port);
}

TempDir::TempDir(const std::string& prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / (prefix + "XXXXXX")).string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    throw std::runtime_error(Errno("mkdtemp " + tmpl));
  }
  path_ = tmpl;
}

TempDir::~TempDir() {
  if (!keep_) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    throw std::runtime_error("cannot write " + path.string());
  }
}

}  // namespace canaryd::testing
