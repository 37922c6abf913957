// BpeWordCache — a thread-safe memo of BPE results: word bytes -> token ids.
//
// Words that are whole vocabulary entries cost one lookup already; the rest
// (rare words, identifiers, text in scripts the vocabulary covers byte by
// byte) need a full BPE merge, dozens of lookups in a table of megabytes, and
// recur often in real text. Hugging Face keeps a similar cache.
//
// Concurrency: the cache is split into shards by hash, each behind its own
// mutex, so threads encoding at once rarely wait for each other. Memory is
// bounded: words longer than kMaxWordBytes are not cached, and a shard that
// reaches kMaxEntriesPerShard is emptied before the next insertion.
//
// Layout: a lookup is on the path of every word that is not one token, so
// each shard is a flat open-addressing table (linear probing, at most half
// full) of small slots keyed by the word's hash_bytes, which the caller has
// already computed; the words and their ids sit back to back in two
// arenas. A hit then touches the slot, the word's bytes and its ids, with no
// hashing and no allocation (a std::unordered_map hashed the word again and
// chased a node per entry).
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace urm::detail {

class BpeWordCache {
 public:
  static constexpr std::size_t kShards = 16;
  static constexpr std::size_t kMaxEntriesPerShard = 4096;
  static constexpr std::size_t kMaxWordBytes = 64;
  // Slots per shard: twice the entries, so probe sequences stay short.
  static constexpr std::size_t kSlotsPerShard = 2 * kMaxEntriesPerShard;

  // Appends the cached ids of `word` (whose hash_bytes is `hash`) to out;
  // false if not cached.
  bool find(std::string_view word, std::uint64_t hash, std::vector<std::int32_t>& out) const {
    if (word.size() > kMaxWordBytes) return false;
    Shard& s = shard(hash);
    const std::lock_guard<std::mutex> lock(s.mutex);
    if (s.slots.empty()) return false;
    for (std::size_t i = hash & kSlotMask;; i = (i + 1) & kSlotMask) {
      const Slot& e = s.slots[i];
      if (e.n_ids == 0) return false;
      if (holds(s, e, word, hash)) {
        const std::int32_t* ids = s.ids.data() + e.ids;
        out.insert(out.end(), ids, ids + e.n_ids);
        return true;
      }
    }
  }

  void insert(std::string_view word, std::uint64_t hash, std::span<const std::int32_t> ids) const {
    if (word.size() > kMaxWordBytes || ids.empty()) return;  // (a word of n bytes has 1..n ids)
    Shard& s = shard(hash);
    const std::lock_guard<std::mutex> lock(s.mutex);
    if (s.slots.empty() || s.size >= kMaxEntriesPerShard) {
      s.slots.assign(kSlotsPerShard, Slot{});
      s.words.clear();
      s.ids.clear();
      s.size = 0;
    }
    std::size_t i = hash & kSlotMask;
    for (; s.slots[i].n_ids != 0; i = (i + 1) & kSlotMask)
      if (holds(s, s.slots[i], word, hash)) return;  // another thread put it there first
    s.slots[i] = {hash, static_cast<std::uint32_t>(s.words.size()), static_cast<std::uint32_t>(s.ids.size()),
                  static_cast<std::uint16_t>(word.size()), static_cast<std::uint16_t>(ids.size())};
    s.words.append(word);
    s.ids.insert(s.ids.end(), ids.begin(), ids.end());
    ++s.size;
  }

 private:
  static constexpr std::size_t kSlotMask = kSlotsPerShard - 1;
  static_assert((kSlotsPerShard & kSlotMask) == 0, "kSlotsPerShard must be a power of two");

  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t word = 0, ids = 0;              // offsets in the shard's arenas
    std::uint16_t word_len = 0, n_ids = 0;        // n_ids == 0: empty (a word has >= 1 id)
  };
  struct Shard {
    std::mutex mutex;
    std::vector<Slot> slots;            // kSlotsPerShard once used
    std::string words;                  // at most kMaxEntriesPerShard * kMaxWordBytes bytes
    std::vector<std::int32_t> ids;      // as many ids at most
    std::size_t size = 0;
  };
  static bool holds(const Shard& s, const Slot& e, std::string_view word, std::uint64_t hash) {
    return e.hash == hash && e.word_len == word.size() && std::memcmp(s.words.data() + e.word, word.data(), word.size()) == 0;
  }
  // The shard is chosen by the top bits of the hash (the slots use the low ones).
  Shard& shard(std::uint64_t hash) const { return shards_[hash >> 60]; }

  mutable std::array<Shard, kShards> shards_;
};

}  // namespace urm::detail
