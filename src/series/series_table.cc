#include "canaryd/series/series_table.h"

#include <array>
#include <cstdlib>
#include <cstring>
#include <new>

#include "canaryd/model/labels.h"

namespace canaryd::series {
namespace {

constexpr size_t kInitialSlots = 64;

// Slot index from the hash bits below the shard bits, so that shard and slot are independent.
inline size_t SlotOf(uint64_t hash, size_t mask) { return static_cast<size_t>(hash) & mask; }

inline uint32_t CheckBits(uint64_t hash_hi) { return static_cast<uint32_t>(hash_hi); }

}  // namespace

SeriesTable::SeriesTable() {
  for (auto& s : shards_) {
    s.slots.resize(kInitialSlots);
  }
}

SeriesTable::~SeriesTable() {
  for (auto& s : shards_) {
    for (auto& slot : s.slots) {
      std::free(slot.key);
    }
  }
}

void SeriesTable::Grow(Shard& shard) {
  std::vector<Slot> old(shard.slots.size() * 2);
  old.swap(shard.slots);
  const size_t mask = shard.slots.size() - 1;
  for (const auto& s : old) {
    if (s.key == nullptr) {
      continue;
    }
    size_t i = SlotOf(s.hash, mask);
    while (shard.slots[i].key != nullptr) {
      i = (i + 1) & mask;
    }
    shard.slots[i] = s;
  }
}

SeriesId SeriesTable::ResolveLocked(Shard& shard, size_t shard_index, std::string_view key,
                                    uint64_t hash, uint32_t hash_check, uint32_t now_s,
                                    bool& inserted) {
  size_t mask = shard.slots.size() - 1;
  size_t i = SlotOf(hash, mask);
  for (;;) {
    Slot& slot = shard.slots[i];
    if (slot.key == nullptr) {
      break;
    }
    if (slot.hash == hash && slot.hash_check == hash_check) {
      slot.last_seen_s = now_s;
      inserted = false;
      return slot.id;
    }
    i = (i + 1) & mask;
  }
  // Keep the load factor at or below 7/8: beyond it linear probing degrades quickly.
  if ((shard.used + 1) * 8 > shard.slots.size() * 7) {
    Grow(shard);
    mask = shard.slots.size() - 1;
    i = SlotOf(hash, mask);
    while (shard.slots[i].key != nullptr) {
      i = (i + 1) & mask;
    }
  }
  // Keys are never empty (a series has at least __name__); allocate at least one byte anyway so
  // that a non-null pointer always marks a used slot.
  auto* copy = static_cast<char*>(std::malloc(key.empty() ? 1 : key.size()));
  if (copy == nullptr) {
    throw std::bad_alloc();
  }
  std::memcpy(copy, key.data(), key.size());
  uint32_t local;
  if (!shard.free_ids.empty()) {
    local = shard.free_ids.back();
    shard.free_ids.pop_back();
  } else {
    local = shard.next_local_id++;
  }
  Slot& slot = shard.slots[i];
  slot.hash = hash;
  slot.hash_check = hash_check;
  slot.id = (local << kShardBits) | static_cast<uint32_t>(shard_index);
  slot.last_seen_s = now_s;
  slot.key_len = static_cast<uint32_t>(key.size());
  slot.key = copy;
  ++shard.used;
  shard.key_bytes += key.size();
  size_.fetch_add(1, std::memory_order_relaxed);
  inserted = true;
  return slot.id;
}

SeriesId SeriesTable::Resolve(std::string_view label_key, uint64_t hash, uint32_t now_s,
                              bool* inserted) {
  const uint32_t check = CheckBits(model::HashLabelKey128(label_key).hi);
  const size_t si = ShardOf(hash);
  Shard& shard = shards_[si];
  bool ins = false;
  std::lock_guard lock(shard.mu);
  const SeriesId id = ResolveLocked(shard, si, label_key, hash, check, now_s, ins);
  if (inserted != nullptr) {
    *inserted = ins;
  }
  return id;
}

size_t SeriesTable::ResolveBatch(const model::SeriesBatch& batch, uint32_t now_s,
                                 std::vector<SeriesId>& ids) {
  const size_t n = batch.series.size();
  ids.resize(n);
  // Counting sort of the batch by shard, so each shard's lock is taken once.
  thread_local std::vector<uint32_t> order;
  std::array<uint32_t, kShards + 1> start{};
  for (const auto& s : batch.series) {
    ++start[ShardOf(s.hash) + 1];
  }
  for (size_t i = 1; i <= kShards; ++i) {
    start[i] += start[i - 1];
  }
  order.resize(n);
  std::array<uint32_t, kShards> fill{};
  for (size_t i = 0; i < n; ++i) {
    const size_t si = ShardOf(batch.series[i].hash);
    order[start[si] + fill[si]++] = static_cast<uint32_t>(i);
  }
  size_t inserted_count = 0;
  constexpr uint32_t kPrefetchDistance = 4;
  for (size_t si = 0; si < kShards; ++si) {
    if (start[si] == start[si + 1]) {
      continue;
    }
    Shard& shard = shards_[si];
    std::lock_guard lock(shard.mu);
    // Slots of big tables miss the cache; fetch a few ahead while resolving the current one.
    for (uint32_t k = start[si]; k < start[si] + kPrefetchDistance && k < start[si + 1]; ++k) {
      __builtin_prefetch(&shard.slots[SlotOf(batch.series[order[k]].hash, shard.slots.size() - 1)]);
    }
    for (uint32_t k = start[si]; k < start[si + 1]; ++k) {
      if (k + kPrefetchDistance < start[si + 1]) {
        __builtin_prefetch(&shard.slots[SlotOf(batch.series[order[k + kPrefetchDistance]].hash,
                                               shard.slots.size() - 1)]);
      }
      const auto& s = batch.series[order[k]];
      bool inserted = false;
      ids[order[k]] =
          ResolveLocked(shard, si, s.labels, s.hash, CheckBits(s.hash_hi), now_s, inserted);
      inserted_count += inserted ? 1 : 0;
    }
  }
  return inserted_count;
}

bool SeriesTable::Find(std::string_view label_key, uint64_t hash, SeriesId& id) const {
  const Shard& shard = shards_[ShardOf(hash)];
  std::lock_guard lock(shard.mu);
  const size_t mask = shard.slots.size() - 1;
  for (size_t i = SlotOf(hash, mask);; i = (i + 1) & mask) {
    const Slot& slot = shard.slots[i];
    if (slot.key == nullptr) {
      return false;
    }
    if (slot.hash == hash && std::string_view(slot.key, slot.key_len) == label_key) {
      id = slot.id;
      return true;
    }
  }
}

size_t SeriesTable::ExpireBefore(uint32_t cutoff_s) {
  size_t removed = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    const size_t mask = shard.slots.size() - 1;
    // Start right after an empty slot so that no cluster wraps around the start of the scan.
    size_t begin = 0;
    while (shard.slots[begin].key != nullptr) {
      begin = (begin + 1) & mask;
    }
    for (size_t step = 0, i = (begin + 1) & mask; step < shard.slots.size();) {
      Slot& slot = shard.slots[i];
      if (slot.key == nullptr || slot.last_seen_s >= cutoff_s) {
        i = (i + 1) & mask;
        ++step;
        continue;
      }
      shard.free_ids.push_back(slot.id >> kShardBits);
      shard.key_bytes -= slot.key_len;
      std::free(slot.key);
      --shard.used;
      ++removed;
      // Backward-shift deletion: pull later members of the cluster into the hole when their
      // home slot allows it. Then re-examine slot i, which may now hold a moved entry.
      size_t hole = i;
      for (size_t j = (i + 1) & mask; shard.slots[j].key != nullptr; j = (j + 1) & mask) {
        const size_t home = SlotOf(shard.slots[j].hash, mask);
        // Movable unless `home` lies cyclically within (hole, j].
        const bool home_in_range =
            hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!home_in_range) {
          shard.slots[hole] = shard.slots[j];
          hole = j;
        }
      }
      shard.slots[hole] = Slot{};
    }
  }
  size_.fetch_sub(removed, std::memory_order_relaxed);
  return removed;
}

void SeriesTable::ForEach(const std::function<void(SeriesId, std::string_view)>& fn) const {
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    for (const auto& slot : shard.slots) {
      if (slot.key != nullptr) {
        fn(slot.id, std::string_view(slot.key, slot.key_len));
      }
    }
  }
}

size_t SeriesTable::MemoryBytes() const {
  size_t bytes = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    bytes += shard.slots.capacity() * sizeof(Slot);
    // glibc malloc: 8 bytes of header per chunk, chunks rounded up to 16 bytes (min 32).
    bytes += shard.used * 8 + shard.key_bytes + shard.used * 8;
    bytes += shard.free_ids.capacity() * sizeof(uint32_t);
  }
  return bytes;
}

}  // namespace canaryd::series
