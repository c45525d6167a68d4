#include "canaryd/series/series_table.h"

#include <cstdlib>
#include <cstring>
#include <new>

namespace canaryd::series {

struct SeriesTable::Block {
  SeriesId id;
  uint32_t last_seen_s;
  uint32_t key_len;
  // key bytes follow
  char* key() { return reinterpret_cast<char*>(this + 1); }
  std::string_view key_view() { return {key(), key_len}; }
};

namespace {

constexpr size_t kInitialSlots = 64;

// Slot index from the hash bits below the shard bits, so that shard and slot are independent.
inline size_t SlotOf(uint64_t hash, size_t mask) { return static_cast<size_t>(hash) & mask; }

}  // namespace

SeriesTable::SeriesTable() {
  for (auto& s : shards_) {
    s.slots.resize(kInitialSlots);
  }
}

SeriesTable::~SeriesTable() {
  for (auto& s : shards_) {
    for (auto& slot : s.slots) {
      std::free(slot.block);
    }
  }
}

void SeriesTable::Grow(Shard& shard) {
  std::vector<Slot> old(shard.slots.size() * 2);
  old.swap(shard.slots);
  const size_t mask = shard.slots.size() - 1;
  for (const auto& s : old) {
    if (s.block == nullptr) {
      continue;
    }
    size_t i = SlotOf(s.hash, mask);
    while (shard.slots[i].block != nullptr) {
      i = (i + 1) & mask;
    }
    shard.slots[i] = s;
  }
}

SeriesId SeriesTable::ResolveLocked(Shard& shard, size_t shard_index, std::string_view key,
                                    uint64_t hash, uint32_t now_s, bool& inserted) {
  size_t mask = shard.slots.size() - 1;
  size_t i = SlotOf(hash, mask);
  for (;;) {
    Slot& slot = shard.slots[i];
    if (slot.block == nullptr) {
      break;
    }
    if (slot.hash == hash && slot.block->key_len == key.size() &&
        std::memcmp(slot.block->key(), key.data(), key.size()) == 0) {
      slot.block->last_seen_s = now_s;
      inserted = false;
      return slot.block->id;
    }
    i = (i + 1) & mask;
  }
  // Keep the load factor at or below 7/8: beyond it linear probing degrades quickly.
  if ((shard.used + 1) * 8 > shard.slots.size() * 7) {
    Grow(shard);
    mask = shard.slots.size() - 1;
    i = SlotOf(hash, mask);
    while (shard.slots[i].block != nullptr) {
      i = (i + 1) & mask;
    }
  }
  auto* block = static_cast<Block*>(std::malloc(sizeof(Block) + key.size()));
  if (block == nullptr) {
    throw std::bad_alloc();
  }
  uint32_t local;
  if (!shard.free_ids.empty()) {
    local = shard.free_ids.back();
    shard.free_ids.pop_back();
  } else {
    local = shard.next_local_id++;
  }
  block->id = (local << kShardBits) | static_cast<uint32_t>(shard_index);
  block->last_seen_s = now_s;
  block->key_len = static_cast<uint32_t>(key.size());
  std::memcpy(block->key(), key.data(), key.size());
  shard.slots[i] = Slot{hash, block};
  ++shard.used;
  shard.key_bytes += key.size();
  size_.fetch_add(1, std::memory_order_relaxed);
  inserted = true;
  return block->id;
}

SeriesId SeriesTable::Resolve(std::string_view label_key, uint64_t hash, uint32_t now_s,
                              bool* inserted) {
  const size_t si = ShardOf(hash);
  Shard& shard = shards_[si];
  bool ins = false;
  std::lock_guard lock(shard.mu);
  const SeriesId id = ResolveLocked(shard, si, label_key, hash, now_s, ins);
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
  for (size_t si = 0; si < kShards; ++si) {
    if (start[si] == start[si + 1]) {
      continue;
    }
    Shard& shard = shards_[si];
    std::lock_guard lock(shard.mu);
    for (uint32_t k = start[si]; k < start[si + 1]; ++k) {
      const auto& s = batch.series[order[k]];
      bool inserted = false;
      ids[order[k]] = ResolveLocked(shard, si, s.labels, s.hash, now_s, inserted);
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
    if (slot.block == nullptr) {
      return false;
    }
    if (slot.hash == hash && slot.block->key_view() == label_key) {
      id = slot.block->id;
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
    while (shard.slots[begin].block != nullptr) {
      begin = (begin + 1) & mask;
    }
    for (size_t step = 0, i = (begin + 1) & mask; step < shard.slots.size();) {
      Slot& slot = shard.slots[i];
      if (slot.block == nullptr || slot.block->last_seen_s >= cutoff_s) {
        i = (i + 1) & mask;
        ++step;
        continue;
      }
      shard.free_ids.push_back(slot.block->id >> kShardBits);
      shard.key_bytes -= slot.block->key_len;
      std::free(slot.block);
      --shard.used;
      ++removed;
      // Backward-shift deletion: pull later members of the cluster into the hole when their
      // home slot allows it. Then re-examine slot i, which may now hold a moved entry.
      size_t hole = i;
      for (size_t j = (i + 1) & mask; shard.slots[j].block != nullptr; j = (j + 1) & mask) {
        const size_t home = SlotOf(shard.slots[j].hash, mask);
        // Movable if `home` is not cyclically within (hole, j].
        const bool home_in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
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
      if (slot.block != nullptr) {
        fn(slot.block->id, slot.block->key_view());
      }
    }
  }
}

size_t SeriesTable::MemoryBytes() const {
  size_t bytes = 0;
  for (const auto& shard : shards_) {
    std::lock_guard lock(shard.mu);
    bytes += shard.slots.capacity() * sizeof(Slot);
    // malloc rounds each block up to 16 bytes and adds an 8-byte header.
    bytes += shard.used * 8 + ((sizeof(Block) * shard.used + shard.key_bytes) + 15 * shard.used) / 16 * 16;
    bytes += shard.free_ids.capacity() * sizeof(uint32_t);
  }
  return bytes;
}

}  // namespace canaryd::series
