#pragma once
// The series table: every label set canaryd has seen recently, keyed by the 128-bit hash of its
// canonical label key (model/labels.h), mapped to a compact, stable SeriesId.
//
// Layout (measured bytes per series in docs/benchmarks.md): 64 shards, each an open-addressing
// table with linear probing of 32-byte slots holding everything a hit needs: the hash (64 bits
// plus 32 more for verification), the id, the last-seen time and a pointer to the label key.
// A hit therefore touches one slot and no key bytes: two label sets are the same series when
// their 96 hash bits match (a false match among a million series has a probability near 1e-17).
// Keys are kept (one allocation each) so later stages can match selectors against existing
// series. Deletion uses backward shifting, so there are no tombstones.
//
// Thread safety: all methods are thread-safe. Each shard has its own mutex; ResolveBatch takes
// each shard's lock once per batch, not once per series, and prefetches slots ahead.

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

  /// Looks up (inserting if new) one series. `hash` is HashLabelKey(label_key); the rest of the
  /// 128-bit hash is computed here.
  SeriesId Resolve(std::string_view label_key, uint64_t hash, uint32_t now_s,
                   bool* inserted = nullptr);

  /// The id of a series, if present. Compares the full key (not only hashes).
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
  struct Slot {
    uint64_t hash = 0;
    uint32_t hash_check = 0;  // bits 64..95 of the 128-bit hash
    SeriesId id = 0;
    uint32_t last_seen_s = 0;
    uint32_t key_len = 0;
    char* key = nullptr;  // nullptr = empty slot; malloc'd, owned by the table
  };
  static_assert(sizeof(Slot) == 32);
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
                         uint32_t hash_check, uint32_t now_s, bool& inserted);
  static void Grow(Shard& shard);

  std::array<Shard, kShards> shards_;
  std::atomic<size_t> size_{0};
};

}  // namespace canaryd::series
