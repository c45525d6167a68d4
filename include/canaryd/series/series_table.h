#pragma once
// The series table: every label set canaryd has seen recently, keyed by the 128-bit hash of its
// canonical label key (model/labels.h), mapped to a compact, stable SeriesId.
//
// Layout (measured bytes per series in docs/benchmarks.md): 64 shards, each an open-addressing
// table with linear probing of 24-byte slots holding everything a hit needs: 64 hash bits, the
// id, the last-seen time, and a tagged pointer whose top 16 bits are 16 more hash bits. A hit
// touches one slot and no key bytes: two label sets are the same series when their 80 hash bits
// match (with a per-process random seed; a false match among a million series has a probability
// near 4e-13). Keys are kept, length-prefixed, in per-shard arenas of 4-16 KiB chunks (no per-key
// allocation), compacted when half of an arena's bytes belong to expired series; later stages
// match selectors against them. Deletion uses backward shifting, so there are no tombstones.
//
// Each series also has an attachment: one 64-bit word owned by the layer above (scope selection
// caches there what a series feeds, so a hit needs no second lookup). It is 0 for a new series.
//
// Thread safety: all methods are thread-safe. Each shard has its own mutex; ResolveBatch takes
// each shard's lock once per batch, not once per series, and prefetches slots ahead.

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
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
  /// When `attachments` is given, it receives each series' attachment (0 for new ones).
  size_t ResolveBatch(const model::SeriesBatch& batch, uint32_t now_s, std::vector<SeriesId>& ids,
                      std::vector<uint64_t>* attachments = nullptr);

  /// Sets a series' attachment to `desired` if it is `expected`; returns the attachment after
  /// the call (`desired` on success). Ids are reused after expiry, so callers must not let
  /// ExpireBefore run between learning `id` and this call.
  uint64_t CompareExchangeAttachment(SeriesId id, uint64_t expected, uint64_t desired);

  /// Calls fn(id, label_key, attachment) for every series; fn may change the attachment. Holds
  /// one shard lock at a time; fn must not call back into the table.
  void ForEachAttached(const std::function<void(SeriesId, std::string_view, uint64_t&)>& fn);

  /// Looks up (inserting if new) one series. `hash` is HashLabelKey(label_key); the rest of the
  /// 128-bit hash is computed here.
  SeriesId Resolve(std::string_view label_key, uint64_t hash, uint32_t now_s,
                   bool* inserted = nullptr);

  /// The id of a series, if present. Compares the full key (not only hashes).
  bool Find(std::string_view label_key, uint64_t hash, SeriesId& id) const;

  /// Removes series last seen before `cutoff_s`; returns how many. Their ids may be reused.
  /// `on_removed(id, attachment)` is called, under the shard's lock, for each removed series
  /// whose attachment is not 0.
  size_t ExpireBefore(uint32_t cutoff_s,
                      const std::function<void(SeriesId, uint64_t)>& on_removed = {});

  /// Number of series in the table.
  size_t size() const { return size_.load(std::memory_order_relaxed); }

  /// Calls fn(id, label_key) for every series; holds one shard lock at a time.
  void ForEach(const std::function<void(SeriesId, std::string_view)>& fn) const;

  /// Bytes used by the table: slots, key arenas (including not yet reclaimed keys of expired
  /// series), attachments and id free lists (not the mutexes).
  size_t MemoryBytes() const;

 private:
  struct Slot {
    uint64_t hash = 0;
    SeriesId id = 0;
    uint32_t last_seen_s = 0;
    uint64_t key = 0;  // 0 = empty slot; else (16 check bits << 48) | address of the arena entry
  };
  static_assert(sizeof(Slot) == 24);
  // Keys live in chunks; an entry is a 4-byte length followed by the key bytes.
  struct KeyArena {
    std::vector<std::unique_ptr<char[]>> chunks;
    size_t chunk_used = 0;   // bytes used in chunks.back()
    size_t chunk_size = 0;   // size of chunks.back()
    size_t total_bytes = 0;  // bytes handed out, live or dead
    size_t live_bytes = 0;
    size_t capacity_bytes = 0;
    const char* Store(std::string_view key);
  };
  struct alignas(64) Shard {
    mutable std::mutex mu;
    std::vector<Slot> slots;  // size is a power of two
    size_t used = 0;
    KeyArena keys;
    uint32_t next_local_id = 0;
    std::vector<uint32_t> free_ids;
    std::vector<uint64_t> attachments;  // indexed by local id
  };

  static size_t ShardOf(uint64_t hash) { return hash >> (64 - kShardBits); }
  SeriesId ResolveLocked(Shard& shard, size_t shard_index, std::string_view key, uint64_t hash,
                         uint64_t check_tag, uint32_t now_s, bool& inserted);
  static void Grow(Shard& shard);
  static void CompactKeys(Shard& shard);

  std::array<Shard, kShards> shards_;
  std::atomic<size_t> size_{0};
};

}  // namespace canaryd::series
