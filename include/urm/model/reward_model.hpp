// RewardModel — a Hugging Face reward-model checkpoint folder, ready to score.
//
//   auto rm = urm::RewardModel::load("/models/URM-LLaMa-3-8B");
//   urm::Score s = rm.score({{"user", "…"}, {"assistant", "…"}});
//
// Scoring = final-norm hidden state of the LAST token (a conversation is
// scored unpadded, so this is HF's "last non-pad token") → value head.
//
// Thread safety: every scoring method is const and may be called from several
// threads at once. Each call borrows a LlamaState (activations + K/V) from a
// pool that grows to the number of concurrent callers and reuses them; the
// compute threads are one ThreadPool shared by all callers (its jobs run one at
// a time, so concurrent callers do not oversubscribe the cores).
//
// Asynchronous scoring (futures, callbacks, a bounded queue, cancellation)
// is urm::AsyncScorer (serve/async_scorer.hpp), over a model it shares.
// Threads a RewardModel starts: threads - 1 (the caller is one).
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/io/checkpoint.hpp"
#include "urm/io/llama_checkpoint.hpp"
#include "urm/io/llama_config.hpp"
#include "urm/kernels/finite.hpp"
#include "urm/kernels/linear_dispatch.hpp"
#include "urm/model/llama_model.hpp"
#include "urm/model/score.hpp"
#include "urm/model/value_head.hpp"
#include "urm/text/conversation.hpp"
#include "urm/text/conversation_encoder.hpp"

namespace urm {

// What to do with an input longer than the maximum number of tokens.
enum class Truncation {
  Error,  // throw urm::Error (the default: a silently shortened input gets a different score)
  Left,   // keep the LAST max_tokens tokens (the final turn is what a reward model judges)
};

// How matrix products are computed.
enum class ComputeMode {
  Exact,  // float32 arithmetic on the stored weights (matches the reference to ~1e-5)
  Fast,   // the projections on the fastest path this CPU has that keeps scores within ~0.02 of
          // exact (kernels::fast_mode_path: bfloat16 on AMX tiles, weights packed once at load;
          // benchmarks/RESULTS.md)
};

// The names programs and the C ABI take ("exact", "fast").
inline constexpr std::array<std::pair<std::string_view, ComputeMode>, 2> kComputeModes = {
    {{"exact", ComputeMode::Exact}, {"fast", ComputeMode::Fast}}};

inline std::string_view compute_mode_name(ComputeMode mode) {
  for (const auto& [name, m] : kComputeModes)
    if (m == mode) return name;
  return "?";
}

// "exact or fast" (separator " or "), for messages.
inline std::string compute_mode_names(std::string_view separator) {
  std::string names;
  for (const auto& [n, m] : kComputeModes) names += (names.empty() ? "" : std::string(separator)) + std::string(n);
  return names;
}

// Throws urm::Error listing the modes for a name that is none of them.
inline ComputeMode parse_compute_mode(std::string_view name) {
  for (const auto& [n, m] : kComputeModes)
    if (n == name) return m;
  throw Error("compute mode \"" + std::string(name) + "\" is not one of " + compute_mode_names(", "));
}

struct RewardModelOptions {
  std::size_t threads = 0;  // compute threads, counting the caller; 0 = all cores
  ComputeMode compute = ComputeMode::Exact;
  std::string tokenizer_dir;   // tokenizer.json + tokenizer_config.json; empty = the model folder
                               // (without tokenizer.json there, only score_ids works)
  std::size_t max_tokens = 0;  // 0 = max_position_embeddings (a larger value is an error)
  Truncation truncation = Truncation::Error;
  BosPolicy bos_policy = BosPolicy::CardPipeline;  // the model card's ids (two <|begin_of_text|> with URM's tokenizer)
  std::vector<float> prior_weights;                // override the fixed attribute weights (URM heads without a gate)
  std::optional<kernels::LinearPath> fast_path;    // fast mode's path; unset: kernels::fast_mode_path() (the
                                                   // fastest one this CPU runs; set by benchmarks and tests)
};

class RewardModel {
 public:
  using Options = RewardModelOptions;

  static RewardModel load(const std::string& dir, const Options& options = {}) {
    namespace fs = std::filesystem;
    Checkpoint ckpt = Checkpoint::open(dir);  // first: it reports a folder that is not there
    LlamaConfig config = LlamaConfig::load((fs::path(dir) / "config.json").string());
    return RewardModel(std::make_unique<Data>(std::move(ckpt), std::move(config), options));
  }

  // The token ids a conversation is scored with: the checkpoint's chat
  // template, then the tokenizer (see Options::bos_policy).
  std::vector<std::int32_t> tokenize(const Conversation& conversation) const { return tokenize(*d_, conversation); }

  Score score(const Conversation& conversation) const { return score_ids(*d_, tokenize(*d_, conversation)); }

  // Several conversations; see score_ids_batch.
  std::vector<Score> score_batch(std::span<const Conversation> conversations) const {
    std::vector<std::vector<std::int32_t>> ids;
    ids.reserve(conversations.size());
    for (std::size_t i = 0; i < conversations.size(); ++i) {
      try {
        ids.push_back(tokenize(conversations[i]));
      } catch (const Error& e) {
        throw Error("input " + std::to_string(i) + ": " + e.what());
      }
    }
    return score_ids_batch(ids);
  }

  // Scores token ids as given (no special tokens added).
  Score score_ids(std::span<const std::int32_t> ids) const { return score_ids(*d_, ids); }

  // Several inputs at once. Their longest common token prefix is run through
  // the model once and only each remainder after it. The scores are bitwise
  // those of score_ids: the kernels are batch invariant (a row's result does
  // not depend on how many rows ran with it), so only the split of the work
  // changes.
  std::vector<Score> score_ids_batch(std::span<const std::vector<std::int32_t>> batch) const {
    std::vector<std::span<const std::int32_t>> kept;
    kept.reserve(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      try {
        kept.push_back(checked(*d_, batch[i]));
      } catch (const Error& e) {
        throw Error("input " + std::to_string(i) + ": " + e.what());
      }
    }
    std::vector<Score> out;
    out.reserve(batch.size());
    if (kept.empty()) return out;

    // p = longest common prefix, leaving at least one token of every input to
    // run after it (the score is read at the last token).
    std::size_t p = kept[0].size() - 1;
    for (const auto& k : kept) {
      p = std::min(p, k.size() - 1);
      p = static_cast<std::size_t>(
          std::mismatch(k.begin(), k.begin() + static_cast<std::ptrdiff_t>(p), kept[0].begin()).first - k.begin());
    }
    Lease st(*d_);
    st->clear();
    if (kept.size() > 1 && p > 0)
      d_->model.forward(kept[0].first(p), *st, LlamaOutput::None, *d_->pool);
    else
      p = 0;
    for (const auto& k : kept) out.push_back(score_tail(*d_, k, *st, p));
    return out;
  }

  const UncertainValueHead& head() const { return d_->head; }
  const LlamaModel& model() const { return d_->model; }
  const LlamaConfig& config() const { return d_->config; }
  const Checkpoint& checkpoint() const { return d_->ckpt; }
  const Options& options() const { return d_->options; }
  std::size_t max_tokens() const { return d_->max_tokens; }
  std::size_t threads() const { return d_->pool->size(); }
  bool has_tokenizer() const { return d_->encoder.has_value(); }
  const ConversationEncoder* encoder() const { return d_->encoder ? &*d_->encoder : nullptr; }

 private:
  struct Data {
    Data(Checkpoint c, LlamaConfig cfg, const Options& o)
        : ckpt(std::move(c)),
          config(std::move(cfg)),
          options(o),
          model(validated_model(ckpt, config)),
          head(UncertainValueHead::from_checkpoint(ckpt, config, o.prior_weights)),
          pool(std::make_unique<ThreadPool>(o.threads)) {
      const std::size_t limit = model.shape().max_positions;
      if (o.max_tokens > limit)
        throw Error(ckpt.dir() + ": max_tokens " + std::to_string(o.max_tokens) +
                    " is more than the model's max_position_embeddings (" + std::to_string(limit) + ")");
      max_tokens = o.max_tokens == 0 ? limit : o.max_tokens;
      if (o.compute == ComputeMode::Fast)
        model.pack_projections(*pool, o.fast_path.value_or(kernels::fast_mode_path()));
      // A tokenizer folder given explicitly must load; the model folder is
      // used if it has a tokenizer (test fixtures and id-only uses have none).
      namespace fs = std::filesystem;
      std::error_code ec;
      if (!o.tokenizer_dir.empty() || fs::exists(fs::path(ckpt.dir()) / "tokenizer.json", ec)) {
        ConversationEncoder::Options eo;
        eo.bos_policy = o.bos_policy;
        encoder.emplace(ConversationEncoder::load(o.tokenizer_dir.empty() ? ckpt.dir() : o.tokenizer_dir, eo));
      }
    }

    static LlamaModel validated_model(const Checkpoint& ckpt, const LlamaConfig& config) {
      validate_llama_checkpoint(ckpt, config);  // names, shapes and dtypes, with the file at fault
      return LlamaModel::from_checkpoint(ckpt, config);
    }

    Checkpoint ckpt;  // owns the mapped bytes every weight view points into
    LlamaConfig config;
    Options options;
    LlamaModel model;
    UncertainValueHead head;
    std::unique_ptr<ThreadPool> pool;
    std::size_t max_tokens = 0;
    std::optional<ConversationEncoder> encoder;  // absent: the folder has no tokenizer
    std::mutex states_mutex;
    std::vector<std::unique_ptr<LlamaState>> free_states;  // reused by later calls

    Data(const Data&) = delete;
    Data& operator=(const Data&) = delete;
  };

  // A LlamaState borrowed from the pool for one call, returned on scope exit.
  class Lease {
   public:
    explicit Lease(Data& d) : d_(d) {
      std::lock_guard lock(d_.states_mutex);
      if (!d_.free_states.empty()) {
        st_ = std::move(d_.free_states.back());
        d_.free_states.pop_back();
      }
      if (!st_) st_ = std::make_unique<LlamaState>();
    }
    ~Lease() {
      std::lock_guard lock(d_.states_mutex);
      d_.free_states.push_back(std::move(st_));
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    LlamaState* operator->() { return st_.get(); }
    LlamaState& operator*() { return *st_; }

   private:
    Data& d_;
    std::unique_ptr<LlamaState> st_;
  };

  explicit RewardModel(std::unique_ptr<Data> d) : d_(std::move(d)) {}

  static std::vector<std::int32_t> tokenize(const Data& d, const Conversation& conversation) {
    // (The template would render it as "" and the post-processor add a BOS:
    // a score of nothing.)
    if (conversation.empty()) throw Error("empty conversation: there is no message to score");
    if (!d.encoder)
      throw Error(d.ckpt.dir() +
                  ": no tokenizer.json in the model folder (scoring a conversation needs "
                  "tokenizer.json and tokenizer_config.json: set Options::tokenizer_dir)");
    return d.encoder->encode(conversation);
  }

  static Score score_ids(Data& d, std::span<const std::int32_t> ids) {
    const std::span<const std::int32_t> kept = checked(d, ids);
    Lease st(d);
    st->clear();
    return score_tail(d, kept, *st, 0);
  }

  // The tokens to run: ids checked for range, empty and length, truncated on
  // the left if the options say so.
  static std::span<const std::int32_t> checked(const Data& d, std::span<const std::int32_t> ids) {
    if (ids.empty()) throw Error("empty input: there is no token to score");
    const std::size_t vocab = d.model.shape().vocab;
    for (std::size_t t = 0; t < ids.size(); ++t)
      if (ids[t] < 0 || static_cast<std::size_t>(ids[t]) >= vocab)
        throw Error("token id " + std::to_string(ids[t]) + " at position " + std::to_string(t) +
                    " is out of range [0, " + std::to_string(vocab) + ")");
    const std::size_t max = d.max_tokens;
    if (ids.size() <= max) return ids;
    if (d.options.truncation == Truncation::Left) return ids.last(max);
    throw Error("input has " + std::to_string(ids.size()) + " tokens, more than the maximum of " + std::to_string(max) +
                " (choose Truncation::Left to keep the last " + std::to_string(max) + " tokens)");
  }

  // Runs ids[n_past …] after the n_past positions already in st, scores the last token.
  static Score score_tail(const Data& d, std::span<const std::int32_t> ids, LlamaState& st, std::size_t n_past) {
    st.rewind(n_past);
    const auto h = d.model.forward(ids.subspan(n_past), st, LlamaOutput::Last, *d.pool);
    Score s = d.head.evaluate(h, *d.pool);
    require_finite(d, s);
    s.n_tokens = ids.size();
    return s;
  }

  // The head's outputs must be finite (the hidden state is, forward checks
  // it): else a weight of the head is NaN or infinite, or its sums
  // overflowed. The tensors outside the decoder ("model.") are searched for
  // the cause only when the check fails.
  static void require_finite(const Data& d, const Score& s) {
    std::string what;
    if (!std::isfinite(s.reward)) what = "the reward is not finite";
    for (const AttributeScore& a : s.attributes)
      if (what.empty() && !(std::isfinite(a.mean) && std::isfinite(a.log_std)))
        what = "the mean or log-std of " + a.name + " is not finite";
    if (what.empty()) return;
    for (const std::string& name : d.ckpt.names())
      if (!name.starts_with("model."))
        if (const auto bad = kernels::first_non_finite(d.ckpt.tensor(name)))
          throw Error("value head: " + what + ": " + kernels::describe_non_finite(d.ckpt.tensor(name), *bad));
    throw Error("value head: " + what + " (no weight of the head is NaN or infinite: its sums overflowed float32)");
  }

  std::unique_ptr<Data> d_;
};

}  // namespace urm
