#include <canaryd/deliver/outbox.h>
#include <canaryd/deliver/outbox_record.h>
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

namespace canaryd::deliver {
namespace {

using boost::system::result;

boost::system::error_code IoError(const char* what, const std::filesystem::path& path) {
  spdlog::error("webhook outbox: {} {}: {}", what, path.string(), std::strerror(errno));
  return DeliverErrc::kIo;
}

bool WriteAll(int fd, const char* data, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) {
        continue;
      }
      return false;
    }
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool FsyncDir(const std::filesystem::path& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

Outbox::Outbox(OutboxOptions options)
    : options_(std::move(options)),
      path_(options_.dir / "outbox.log"),
      compact_at_(options_.compaction_bytes) {}

Outbox::~Outbox() {
  if (fd_ >= 0) {
    ::close(fd_);
  }
  if (lock_fd_ >= 0) {
    ::close(lock_fd_);  // releases the flock
  }
}

result<std::unique_ptr<Outbox>> Outbox::Open(const OutboxOptions& options) {
  std::error_code ec;
  std::filesystem::create_directories(options.dir, ec);
  if (ec) {
    spdlog::error("webhook outbox: create {}: {}", options.dir.string(), ec.message());
    return DeliverErrc::kIo;
  }
  std::unique_ptr<Outbox> box(new Outbox(options));
  if (auto r = box->Replay(); !r) {
    return r.error();
  }
  return box;
}

result<void> Outbox::Replay() {
  std::lock_guard lock(mu_);
  // A separate lock file, because compaction replaces outbox.log (a lock on it would go with the
  // old inode). Two processes appending to one log would interleave and corrupt it.
  const std::filesystem::path lock_path = options_.dir / "outbox.lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd_ < 0) {
    return IoError("open", lock_path);
  }
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    spdlog::error("webhook outbox {}: in use by another process or Outbox (flock: {})",
                  options_.dir.string(), std::strerror(errno));
    return DeliverErrc::kLocked;
  }
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    return IoError("open", path_);
  }
  struct stat st {};
  if (::fstat(fd_, &st) != 0) {
    return IoError("stat", path_);
  }
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < data.size()) {
    const ssize_t r = ::pread(fd_, data.data() + got, data.size() - got, static_cast<off_t>(got));
    if (r < 0 && errno == EINTR) {
      continue;
    }
    if (r <= 0) {
      return IoError("read", path_);
    }
    got += static_cast<size_t>(r);
  }
  const auto* base = reinterpret_cast<const uint8_t*>(data.data());
  size_t off = 0;
  while (off < data.size()) {
    ParsedFrame f = ParseFrame({base + off, data.size() - off});
    if (f.status != ParsedFrame::Status::kOk) {
      break;
    }
    Record& rec = f.record;
    Delivery& d = rec.delivery;
    switch (rec.type) {
      case RecordType::kEnqueue: {
        auto& next = next_seq_[d.endpoint.url];
        next = std::max(next, d.seq + 1);
        if (!by_id_.contains(d.id)) {
          const std::string id = d.id;
          pending_.push_back(std::move(d));
          by_id_.emplace(id, std::prev(pending_.end()));
        }
        break;
      }
      case RecordType::kComplete:
        if (auto it = by_id_.find(d.id); it != by_id_.end()) {
          pending_.erase(it->second);
          by_id_.erase(it);
        }
        break;
      case RecordType::kSeqMark: {
        auto& next = next_seq_[d.endpoint.url];
        next = std::max(next, d.seq);
        break;
      }
    }
    off += f.size;
  }
  if (off < data.size()) {
    // A torn write (crash mid-append) or a damaged record: nothing after it can be trusted to be
    // framed correctly, and none of it was acknowledged to a caller after the damage, so cut it.
    corrupt_records_ = 1;
    spdlog::warn("webhook outbox {}: corrupt or torn record at offset {} ({} bytes), truncating",
                 path_.string(), off, data.size() - off);
    if (::ftruncate(fd_, static_cast<off_t>(off)) != 0 || ::fsync(fd_) != 0) {
      return IoError("truncate", path_);
    }
  }
  bytes_ = off;
  compact_at_ = std::max<uint64_t>(options_.compaction_bytes, 2 * bytes_);
  spdlog::info("webhook outbox {}: {} pending deliveries", path_.string(), pending_.size());
  return {};
}

result<void> Outbox::WriteDurably(const std::string& frame) {
  if (!WriteAll(fd_, frame.data(), frame.size())) {
    const auto ec = IoError("write", path_);
    // Cut a partial write so the next record does not land after garbage.
    (void)::ftruncate(fd_, static_cast<off_t>(bytes_));
    return ec;
  }
  if (::fdatasync(fd_) != 0) {
    return IoError("fdatasync", path_);
  }
  bytes_ += frame.size();
  return {};
}

result<Delivery> Outbox::Append(Delivery d) {
  std::lock_guard lock(mu_);
  if (d.id.empty() || by_id_.contains(d.id)) {
    return DeliverErrc::kCorruptRecord;
  }
  auto& next = next_seq_[d.endpoint.url];
  d.seq = next;
  Record rec{RecordType::kEnqueue, d, Completion::kDelivered};
  const std::string frame = EncodeFrame(rec);
  if (frame.size() - kFrameHeaderBytes > kMaxRecordBytes) {
    return DeliverErrc::kRecordTooLarge;
  }
  if (auto r = WriteDurably(frame); !r) {
    return r.error();
  }
  ++next;
  pending_.push_back(d);
  by_id_.emplace(d.id, std::prev(pending_.end()));
  return d;
}

result<void> Outbox::Complete(const std::string& id, Completion how) {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) {
    return {};
  }
  Record rec;
  rec.type = RecordType::kComplete;
  rec.delivery.id = id;
  rec.completion = how;
  if (auto r = WriteDurably(EncodeFrame(rec)); !r) {
    return r.error();
  }
  pending_.erase(it->second);
  by_id_.erase(it);
  if (bytes_ > compact_at_) {
    if (auto r = CompactLocked(); !r) {
      // The old log is intact and still correct; compaction is retried at the next threshold.
      compact_at_ = 2 * bytes_;
    }
  }
  return {};
}

result<void> Outbox::CompactForTest() {
  std::lock_guard lock(mu_);
  return CompactLocked();
}

result<void> Outbox::CompactLocked() {
  const std::filesystem::path tmp = options_.dir / "outbox.log.tmp";
  std::string out;
  for (const auto& [url, next] : next_seq_) {
    Record mark;
    mark.type = RecordType::kSeqMark;
    mark.delivery.endpoint.url = url;
    mark.delivery.seq = next;
    out += EncodeFrame(mark);
  }
  for (const Delivery& d : pending_) {
    out += EncodeFrame(Record{RecordType::kEnqueue, d, Completion::kDelivered});
  }
  // The temp file's fd becomes the log's fd after the rename (same inode), so there is no
  // reopen that could fail after the switch.
  const int tfd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (tfd < 0) {
    return IoError("open", tmp);
  }
  if (!WriteAll(tfd, out.data(), out.size()) || ::fsync(tfd) != 0) {
    const auto ec = IoError("write", tmp);
    ::close(tfd);
    ::unlink(tmp.c_str());
    return ec;
  }
  if (::rename(tmp.c_str(), path_.c_str()) != 0) {
    const auto ec = IoError("rename", tmp);
    ::close(tfd);
    ::unlink(tmp.c_str());
    return ec;
  }
  ::close(fd_);
  fd_ = tfd;
  if (!FsyncDir(options_.dir)) {
    // The rename is done in memory; only its durability is in doubt, and both files hold every
    // pending delivery, so carry on with the new one.
    (void)IoError("fsync dir", options_.dir);
  }
  bytes_ = out.size();
  compact_at_ = std::max<uint64_t>(options_.compaction_bytes, 2 * bytes_);
  ++compactions_;
  return {};
}

std::vector<Delivery> Outbox::Pending() const {
  std::lock_guard lock(mu_);
  return {pending_.begin(), pending_.end()};
}

size_t Outbox::PendingCount() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

uint64_t Outbox::LogBytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

uint64_t Outbox::compactions() const {
  std::lock_guard lock(mu_);
  return compactions_;
}

}  // namespace canaryd::deliver
