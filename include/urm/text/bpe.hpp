// Byte-level BPE — turns one pre-tokenized word (raw bytes) into token ids,
// exactly as Hugging Face `tokenizers`' BPE model does with dropout off and no
// unknown token.
//
// The vocabulary is held as raw bytes (each byte-level token string mapped
// back through the ByteLevel alphabet), so a word is looked up and merged
// without spelling it in the byte-level alphabet first.
//
// Algorithm (HF's BPE::merge_word): start from one symbol per byte; keep a
// min-heap of adjacent pairs that have a merge, ordered by (merge rank, left
// position); pop the best, skip it if either side has changed since it was
// pushed, else merge the two symbols and push the new symbol's pairs with its
// neighbours. O(n log n) for a word of n bytes.
// With ignore_merges (Llama-3), a word that is itself in the vocabulary is
// that one token, before any merging.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "urm/text/string_id_map.hpp"

namespace urm::detail {

// (left id, right id) -> (rank, merged id), open addressing like StringIdMap.
class MergeMap {
 public:
  struct Merge {
    std::uint32_t rank;
    std::int32_t id;
  };

  // Room for n pairs (the table is kept at most 3/4 full).
  void reserve(std::size_t n) {
    std::size_t cap = 16;
    while (3 * cap < 4 * n) cap *= 2;
    if (cap <= slots_.size()) return;
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    size_ = 0;
    for (const Slot& s : old)
      if (s.merge.id >= 0) insert(static_cast<std::int32_t>(s.key >> 32), static_cast<std::int32_t>(s.key), s.merge);
  }

  // Sets (a, b) -> m. A pair listed twice keeps its last rank, as in HF
  // (whose merge table is a HashMap collected in file order).
  void insert(std::int32_t a, std::int32_t b, Merge m) {
    if (4 * (size_ + 1) > 3 * slots_.size()) reserve(2 * (size_ + 1));
    const std::uint64_t k = key(a, b);
    for (std::size_t i = slot_of(k);; i = (i + 1) & mask_) {
      if (slots_[i].merge.id < 0) {
        slots_[i] = Slot{k, m};
        ++size_;
        return;
      }
      if (slots_[i].key == k) {
        slots_[i].merge = m;
        return;
      }
    }
  }

  const Merge* find(std::int32_t a, std::int32_t b) const {
    if (size_ == 0) return nullptr;
    const std::uint64_t k = key(a, b);
    for (std::size_t i = slot_of(k);; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.merge.id < 0) return nullptr;
      if (s.key == k) return &s.merge;
    }
  }

  void prefetch(std::int32_t a, std::int32_t b) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[slot_of(key(a, b))]);
  }

  std::size_t size() const { return size_; }

 private:
  struct Slot {
    std::uint64_t key = 0;
    Merge merge{0, -1};  // id -1: empty
  };
  static std::uint64_t key(std::int32_t a, std::int32_t b) {
    return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(a)) << 32) | static_cast<std::uint32_t>(b);
  }
  std::size_t slot_of(std::uint64_t k) const {
    k *= 0x9E3779B97F4A7C15ull;
    return (k ^ (k >> 32)) & mask_;
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

// Per-call working memory of BytePairModel::encode_word.
struct BpeScratch {
  struct Symbol {
    std::int32_t id;
    std::int32_t prev, next;  // neighbours (indices into symbols), -1 at the ends
    std::uint32_t len;         // bytes covered; 0 once merged into its left neighbour
  };
  struct Candidate {
    std::uint32_t rank;
    std::int32_t pos;                // index of the left symbol
    std::int32_t new_id;             // what the pair merges into
    std::int32_t left_id, right_id;  // the pair when pushed
    // std::push_heap builds a max-heap: "greater" = lower rank, then further left.
    bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
};

struct BytePairModel {
  StringIdMap vocab;                         // raw bytes -> id (tokens spelt in the ByteLevel alphabet)
  std::array<std::int32_t, 256> byte_id{};   // id of each single-byte token
  MergeMap merges;
  // The merges of two single bytes, indexed by 256 * first + second (id -1:
  // none): a word's first pass looks up only such pairs, and this 512 KB
  // table stays in cache where the big one would not.
  std::vector<MergeMap::Merge> byte_pair_merges;
  bool ignore_merges = false;

  // Fills byte_pair_merges from merges and byte_id (after loading).
  void index_byte_pairs() {
    byte_pair_merges.assign(256 * 256, MergeMap::Merge{0, -1});
    for (std::size_t a = 0; a < 256; ++a)
      for (std::size_t b = 0; b < 256; ++b)
        if (const MergeMap::Merge* m = merges.find(byte_id[a], byte_id[b])) byte_pair_merges[256 * a + b] = *m;
  }

  // If `word` (raw bytes, not empty; hash = hash_bytes(word)) is one token
  // without merging (a single byte, or with ignore_merges a vocabulary
  // entry), appends its id to out and returns true.
  bool encode_whole_word(std::string_view word, std::uint64_t hash, std::vector<std::int32_t>& out) const {
    if (word.size() == 1) {
      out.push_back(byte_id[static_cast<std::uint8_t>(word[0])]);
      return true;
    }
    if (ignore_merges) {
      if (const auto id = vocab.find(word, hash)) {
        out.push_back(*id);
        return true;
      }
    }
    return false;
  }

  // Appends the ids of `word` (raw bytes, not empty) after BPE merging.
  void merge_word(std::string_view word, std::vector<std::int32_t>& out, BpeScratch& scratch) const {
    auto& sym = scratch.symbols;
    auto& heap = scratch.heap;
    sym.clear();
    heap.clear();
    const auto n = static_cast<std::int32_t>(word.size());
    const auto byte = [&](std::int32_t i) { return static_cast<std::uint8_t>(word[static_cast<std::size_t>(i)]); };
    const auto at = [&](std::int32_t i) -> BpeScratch::Symbol& { return sym[static_cast<std::size_t>(i)]; };
    const auto push = [&](const MergeMap::Merge& m, std::int32_t left, std::int32_t left_id, std::int32_t right_id) {
      heap.push_back({m.rank, left, m.id, left_id, right_id});
      std::push_heap(heap.begin(), heap.end());
    };
    for (std::int32_t i = 0; i < n; ++i) sym.push_back({byte_id[byte(i)], i - 1, i + 1 < n ? i + 1 : -1, 1});
    for (std::int32_t i = 0; i + 1 < n; ++i) {
      const MergeMap::Merge& m = byte_pair_merges[256u * byte(i) + byte(i + 1)];
      if (m.id >= 0) push(m, i, at(i).id, at(i + 1).id);
    }
    const auto push_pair = [&](std::int32_t left) {
      const std::int32_t right = at(left).next;
      if (right < 0) return;
      if (const MergeMap::Merge* m = merges.find(at(left).id, at(right).id)) push(*m, left, at(left).id, at(right).id);
    };

    while (!heap.empty()) {
      std::pop_heap(heap.begin(), heap.end());
      const BpeScratch::Candidate top = heap.back();
      heap.pop_back();
      auto& left = at(top.pos);
      if (left.len == 0 || left.next < 0) continue;  // merged away, or now last
      auto& right = at(left.next);
      // Still valid if the pair there still merges into new_id (HF's test),
      // certainly so if it is still the same pair.
      if (left.id != top.left_id || right.id != top.right_id) {
        const MergeMap::Merge* m = merges.find(left.id, right.id);
        if (m == nullptr || m->id != top.new_id) continue;
      }
      left.id = top.new_id;
      left.len += right.len;
      right.len = 0;
      left.next = right.next;
      if (left.next >= 0) at(left.next).prev = top.pos;
      if (left.prev >= 0) push_pair(left.prev);
      push_pair(top.pos);
    }
    for (std::int32_t i = 0; i >= 0; i = at(i).next) out.push_back(at(i).id);
  }
};

}  // namespace urm::detail
