#pragma once
// The series table: every label set canaryd has seen recently, keyed by the hash of its canonical
// label key (model/labels.h), mapped to a compact, stable SeriesId.
//
// Layout (see docs/architecture.md for the measured bytes per series): 64 shards, each an
// open-addressing table with linear probing of 16-byte slots {hash, pointer}. The pointer leads to
// one heap block per series holding its id, last-seen time and label key, so a hit costs one
// slot probe plus one block read, and a lookup compares the full key (no false hits on hash
// collisions). Deletion uses backward shifting, so there are no tombstones.
//
// Thread safety: all methods are thread-safe. Each shard has its own mutex; ResolveBatch takes
// each shard's lock once per batch, not once per series.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string_view>
#include <vector>

#include "canaryd/model/series_batch.h"

namespace canaryd::series {

/// Stable for as long as the series stays in the table; reused after it expires.
using SeriesId = uint32_t;

class SeriesTable {
 public:
  static constexpr size_t kShardBits = 6;
  static constexpr size_t kShards = size_t{1} << kShardBits;

  SeriesTable();
  ~SeriesTable();
  SeriesTable(const SeriesTable&) = delete;
  SeriesTable& operator=(const SeriesTable&) = delete;

  /// Looks up (inserting if new) every series of `batch`, stamping each as seen at `now_s`
  /// (seconds, any monotonic origin). Writes one id per batch series into `ids` (resized) and
  /// returns how many series were new.
  size_t ResolveBatch(const model::SeriesBatch& batch, uint32_t now_s, std::vector<SeriesId>& ids);

  /// Looks up (inserting if new) one series.
  SeriesId Resolve(std::string_view label_key, uint64_t hash, uint32_t now_s, bool* inserted = nullptr);

  /// The id of a series, if present.
  bool Find(std::string_view label_key, uint64_t hash, SeriesId& id) const;

  /// Removes series last seen before `cutoff_s`; returns how many. Their ids may be reused.
  size_t ExpireBefore(uint32_t cutoff_s);

  /// Number of series in the table.
  size_t size() const { return size_.load(std::memory_order_relaxed); }

  /// Calls fn(id, label_key) for every series; holds one shard lock at a time.
  void ForEach(const std::function<void(SeriesId, std::string_view)>& fn) const;

  /// Bytes used by the table: slots, series blocks and id free lists (not the mutexes).
  size_t MemoryBytes() const;

 private:
  struct Block;  // heap block per series: id, last_seen, key_len, key bytes
  struct Slot {
    uint64_t hash = 0;
    Block* block = nullptr;  // nullptr = empty slot
  };
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::vector<Slot> slots;  // size is a power of two
    size_t used = 0;
    size_t key_bytes = 0;
    uint32_t next_local_id = 0;
    std::vector<uint32_t> free_ids;
  };

  static size_t ShardOf(uint64_t hash) { return hash >> (64 - kShardBits); }
  SeriesId ResolveLocked(Shard& shard, size_t shard_index, std::string_view key, uint64_t hash,
                         uint32_t now_s, bool& inserted);
  static void Grow(Shard& shard);

  std::array<Shard, kShards> shards_;
  std::atomic<size_t> size_{0};
};

}  // namespace canaryd::series
