#pragma once
// The webhook outbox: an append-only, fsync'd log of deliveries and their completions, so that a
// delivery accepted by Enqueue survives kill -9 and a restart resumes it.
//
// Durability: Append and Complete return only after write() and fdatasync() succeeded. After a
// crash, Open replays the log; a torn or corrupt record ends the replay: it and everything after it
// are truncated away and counted in corrupt_records(). Only a record that was being written when
// the process died can be lost that way, and its Append had not returned yet.
//
// Compaction: when the log grows past `compaction_bytes`, it is rewritten with only the pending
// deliveries (and per-URL sequence marks) into outbox.log.tmp, fsync'd, renamed over outbox.log,
// and the directory fsync'd, so the log is always either the old or the new file.

#include <canaryd/deliver/types.h>

#include <boost/system/result.hpp>
#include <cstdint>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace canaryd::deliver {

struct OutboxOptions {
  std::filesystem::path dir;             // created if missing; holds outbox.log
  uint64_t compaction_bytes = 4u << 20;  // compact when the log exceeds this size
};

/// Thread-safe: every method may be called from any thread.
class Outbox {
 public:
  /// Opens (creating if needed) `options.dir`/outbox.log and replays it. Holds an exclusive
  /// flock on `options.dir`/outbox.lock until destroyed.
  /// Errors: DeliverErrc::kIo if the directory or file cannot be created, read or truncated;
  /// kLocked if another Outbox (in this or another process) has the directory open.
  static boost::system::result<std::unique_ptr<Outbox>> Open(const OutboxOptions& options);
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  /// Durably appends `d` as pending. Assigns d.seq (next per-URL sequence); d.id must be
  /// non-empty and unique. Returns the stored delivery once it is on disk.
  boost::system::result<Delivery> Append(Delivery d);

  /// Durably records that delivery `id` is done. Unknown ids are ignored (a duplicate completion
  /// after a restart is harmless). May compact the log.
  boost::system::result<void> Complete(const std::string& id, Completion how);

  /// Every pending delivery, in enqueue order (so per-URL in sequence order).
  std::vector<Delivery> Pending() const;
  size_t PendingCount() const;
  /// Corrupt or torn records truncated away by Open (0 or 1 per open).
  uint64_t corrupt_records() const { return corrupt_records_; }
  /// Current size of outbox.log in bytes.
  uint64_t LogBytes() const;
  /// Number of compactions since Open.
  uint64_t compactions() const;

  /// Compacts now regardless of size (tests, and operators via the integrator if wanted).
  boost::system::result<void> CompactForTest();

 private:
  explicit Outbox(OutboxOptions options);
  boost::system::result<void> Replay();
  boost::system::result<void> WriteDurably(const std::string& frame);  // REQUIRES: mu_
  boost::system::result<void> CompactLocked();                         // REQUIRES: mu_

  const OutboxOptions options_;
  const std::filesystem::path path_;
  uint64_t corrupt_records_ = 0;  // set once in Open

  mutable std::mutex mu_;
  int lock_fd_ = -1;  // holds flock(LOCK_EX) on outbox.lock for the Outbox's lifetime
  int fd_ = -1;
  uint64_t bytes_ = 0;
  uint64_t compact_at_ = 0;
  uint64_t compactions_ = 0;
  std::list<Delivery> pending_;
  std::unordered_map<std::string, std::list<Delivery>::iterator> by_id_;
  std::map<std::string, uint64_t> next_seq_;  // per URL
};

}  // namespace canaryd::deliver
