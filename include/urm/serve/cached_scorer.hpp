// CachedScorer — a RewardModel with an automatic prefix cache: every input
// scored leaves its K/V in a PrefixCache (prefix_cache.hpp), and an input
// that starts like one scored before runs only the tokens after the shared
// prefix.
//
//   auto model = std::make_shared<const urm::RewardModel>(urm::RewardModel::load(dir));
//   urm::CachedScorer scorer(model, 1024 << 20);         // at most 1 GiB of K/V
//   urm::Score a = scorer.score_ids(prompt_and_response_1);
//   urm::Score b = scorer.score_ids(prompt_and_response_2);  // the prompt is not run again
//
// The scores equal RewardModel::score_ids bit for bit when the kernels are
// batch-invariant (a row's result does not depend on the rows computed with
// it); the cache only changes which positions are run in which call. At least
// the last token always runs (the score is read from its hidden state).
//
// Thread safety: score_ids may be called from several threads at once; each
// call borrows a LlamaState of its own (a pool that grows to the number of
// concurrent callers), the cache locks itself, and the model's compute pool
// runs one job at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <utility>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/model/llama_model.hpp"
#include "urm/model/reward_model.hpp"
#include "urm/model/score.hpp"
#include "urm/serve/prefix_cache.hpp"
#include "urm/text/conversation.hpp"

namespace urm {

class CachedScorer {
 public:
  // capacity_bytes = 0: no cache (every input runs whole, as RewardModel::score_ids).
  CachedScorer(std::shared_ptr<const RewardModel> model, std::size_t capacity_bytes)
      : model_(checked(std::move(model))),
        cache_(std::make_unique<PrefixCache>(model_->model().shape(), capacity_bytes)),
        states_(std::make_unique<States>()) {}

  // Token ids as given (RewardModel::score_ids: checked, truncated if the
  // options say so; the cache is keyed by the ids that are scored).
  Score score_ids(std::span<const std::int32_t> ids) const {
    const std::span<const std::int32_t> kept = model_->scored_ids(ids);
    Lease st(*states_);
    cache_->restore(kept, kept.size() - 1, *st);
    Score s = model_->score_continuation(kept, *st);
    cache_->insert(kept, *st);
    return s;
  }

  Score score(const Conversation& conversation) const { return score_ids(model_->tokenize(conversation)); }

  const RewardModel& model() const { return *model_; }
  std::shared_ptr<const RewardModel> shared_model() const { return model_; }
  PrefixCache& cache() const { return *cache_; }

 private:
  static std::shared_ptr<const RewardModel> checked(std::shared_ptr<const RewardModel> model) {
    if (!model) throw Error("CachedScorer: no model (the shared_ptr is empty)");
    return model;
  }

  struct States {
    std::mutex mutex;
    std::vector<std::unique_ptr<LlamaState>> free;
  };

  // A LlamaState borrowed for one call, returned on scope exit.
  class Lease {
   public:
    explicit Lease(States& s) : s_(s) {
      std::lock_guard lock(s_.mutex);
      if (!s_.free.empty()) {
        st_ = std::move(s_.free.back());
        s_.free.pop_back();
      }
      if (!st_) st_ = std::make_unique<LlamaState>();
    }
    ~Lease() {
      std::lock_guard lock(s_.mutex);
      s_.free.push_back(std::move(st_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    LlamaState& operator*() { return *st_; }

   private:
    States& s_;
    std::unique_ptr<LlamaState> st_;
  };

  std::shared_ptr<const RewardModel> model_;
  std::unique_ptr<PrefixCache> cache_;  // unique_ptr: the scorer stays movable
  std::unique_ptr<States> states_;
};

}  // namespace urm
