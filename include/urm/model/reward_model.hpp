// RewardModel — a Hugging Face reward-model checkpoint folder, ready to score.
//
//   auto rm = urm::RewardModel::load("/models/URM-LLaMa-3-8B");
//   urm::Score s = rm.score({{"user", "…"}, {"assistant", "…"}});
//
// Scoring = the final-norm hidden state at the position(s) the family's head
// reads (the last token for URM; the pooling rule of the model's code for
// the others, model_family.hpp) → value head. The family's model-card
// pipeline turns a conversation into ids (Options::bos_policy overrides it).
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
#include "urm/io/llama_config.hpp"
#include "urm/kernels/finite.hpp"
#include "urm/kernels/linear_dispatch.hpp"
#include "urm/model/llama_model.hpp"
#include "urm/model/model_family.hpp"
#include "urm/model/reward_head.hpp"
#include "urm/model/score.hpp"
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
  Exact,  // float32-level arithmetic, matches the reference to ~1e-5 (kernels::exact_mode_path: float32
          // FMA on the stored weights; BF16 and F16 weights on AMX: exact bfloat16 products of 3-part
          // activations, F16 weights split exactly into 2 bfloat16 parts)
  Fast,   // the projections on the fastest path this CPU has that keeps scores within ~0.02 of
          // exact (kernels::fast_mode_path: bfloat16 on AMX tiles, weights packed once at load,
          // F16 weights in 2 parts; benchmarks/RESULTS.md)
  Int8,   // the projections in int8 (kernels::int8_mode_path: weights quantized per output channel at
          // load, activations per token in two int8 parts, int32 sums on VNNI/AVX2, massive channels
          // in float32 from a calibration pass at load); rank correlation >= 0.999 with exact, max
          // deviation ~6-10% of the scores' spread on random models (benchmarks/RESULTS.md)
};

// The names programs and the C ABI take ("exact", "fast", "int8").
inline constexpr std::array<std::pair<std::string_view, ComputeMode>, 3> kComputeModes = {
    {{"exact", ComputeMode::Exact}, {"fast", ComputeMode::Fast}, {"int8", ComputeMode::Int8}}};

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

// How error messages name the options of a RewardModel, so that each front
// end speaks its own language: urm-score says "--tokenizer-dir", the C ABI
// "urm_load_options.tokenizer_dir", C++ "Options::tokenizer_dir".
struct RewardModelOptionNames {
  std::string threads = "Options::threads";
  std::string tokenizer_dir = "Options::tokenizer_dir";
  std::string max_tokens = "Options::max_tokens";
  std::string truncate_left = "Truncation::Left";
};

struct RewardModelOptions {
  std::size_t threads = 0;  // compute threads, counting the caller; 0 = all cores
  ComputeMode compute = ComputeMode::Exact;
  std::string tokenizer_dir;   // tokenizer.json + tokenizer_config.json; empty = the model folder
                               // (without tokenizer.json there, only score_ids works)
  std::size_t max_tokens = 0;  // 0 = max_position_embeddings (a larger value is an error)
  Truncation truncation = Truncation::Error;
  // How a conversation becomes ids; unset: the family's model-card pipeline
  // (HeadTraits::bos: two <|begin_of_text|> for URM, one for the others).
  std::optional<BosPolicy> bos_policy;
  std::string date;  // "YYYY-MM-DD" for a chat template's strftime_now(); empty = today (scores then depend on the date)
  std::vector<float> prior_weights;  // override the fixed attribute weights (URM heads without a gate)
  RewardModelOptionNames names;      // how error messages call these options
  std::optional<kernels::LinearPath> fast_path;  // fast mode's path; unset: kernels::fast_mode_path() for
                                                 // the projections' dtype (the fastest one this CPU runs
                                                 // that keeps the contract; set by benchmarks and tests)
  std::optional<kernels::LinearPath> exact_path;  // exact mode's path; unset: kernels::exact_mode_path() for
                                                  // the projections' dtype (set by benchmarks and tests)
  std::optional<kernels::LinearPath> int8_path;  // int8 mode's path; unset: kernels::int8_mode_path()
};

class RewardModel {
 public:
  using Options = RewardModelOptions;

  static RewardModel load(const std::string& dir, const Options& options = {}) {
    namespace fs = std::filesystem;
    // Before anything is opened or started.
    if (options.threads > ThreadPool::kMaxThreads)
      throw Error(options.names.threads + " is " + std::to_string(options.threads) + ", at most " +
                  std::to_string(ThreadPool::kMaxThreads));
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
    std::vector<HeadPositions> read;
    kept.reserve(batch.size());
    read.reserve(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      try {
        kept.push_back(checked(*d_, batch[i]));
        read.push_back(d_->head.positions(kept.back()));
      } catch (const Error& e) {
        throw Error("input " + std::to_string(i) + ": " + e.what());
      }
    }
    std::vector<Score> out;
    out.reserve(batch.size());
    if (kept.empty()) return out;

    // p = longest common prefix, leaving every position a head reads to run
    // after it (its final hidden state is computed then).
    std::size_t p = kept[0].size() - 1;
    for (std::size_t i = 0; i < kept.size(); ++i) {
      const auto& k = kept[i];
      p = std::min(p, read[i].rows().front());
      p = static_cast<std::size_t>(
          std::mismatch(k.begin(), k.begin() + static_cast<std::ptrdiff_t>(p), kept[0].begin()).first - k.begin());
    }
    Lease st(*d_);
    st->clear();
    try {
      if (kept.size() > 1 && p > 0)
        d_->model.forward(kept[0].first(p), *st, LlamaOutput::None, *d_->pool);
      else
        p = 0;
    } catch (const Error& e) {
      throw Error("input 0: " + std::string(e.what()));
    }
    for (std::size_t i = 0; i < kept.size(); ++i) {
      try {
        out.push_back(score_tail(*d_, kept[i], read[i], *st, p));
      } catch (const Error& e) {
        throw Error("input " + std::to_string(i) + ": " + e.what());
      }
    }
    return out;
  }

  // --- For callers that keep K/V between calls (serve/prefix_cache.hpp) ---

  // The ids score_ids runs for `ids`: checked for emptiness and length, and
  // truncated on the left if the options say so (a view into ids).
  std::span<const std::int32_t> scored_ids(std::span<const std::int32_t> ids) const { return checked(*d_, ids); }

  // Scores `ids` (as scored_ids returns them) on a state that already holds
  // the K/V of its first st.n_past() positions — restored by the caller with
  // LlamaState::append_kv — running only the rest. Positions the head reads
  // (the last token, ArmoRM's gating position, ...) always run: the state is
  // rewound to the first of them if it holds more. With n_past() = 0 this is
  // score_ids. Afterwards st holds the K/V of all of ids.
  Score score_continuation(std::span<const std::int32_t> ids, LlamaState& st) const {
    if (st.n_past() >= ids.size())
      throw Error("RewardModel::score_continuation: the state holds " + std::to_string(st.n_past()) +
                  " positions, the input has " + std::to_string(ids.size()) + " (at least one must be left to run)");
    const HeadPositions read = d_->head.positions(ids);
    return score_tail(*d_, ids, read, st, std::min(st.n_past(), read.rows().front()));
  }

  const RewardHead& head() const { return d_->head; }
  const ModelFamily& family() const { return d_->head.family(); }
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
          family(validate_checkpoint(ckpt, config)),  // names, shapes and dtypes, with the file at fault
          model(LlamaModel::from_validated_checkpoint(ckpt, config)),
          head(RewardHead::from_checkpoint(ckpt, config, family, o.prior_weights)),
          pool(std::make_unique<ThreadPool>(o.threads)) {
      const std::size_t limit = model.shape().max_positions;
      if (o.max_tokens > limit)
        throw Error(ckpt.dir() + ": " + o.names.max_tokens + " " + std::to_string(o.max_tokens) +
                    " is more than the model's max_position_embeddings (" + std::to_string(limit) + ")");
      max_tokens = o.max_tokens == 0 ? limit : o.max_tokens;
      if (o.compute == ComputeMode::Fast)
        model.pack_projections(*pool, o.fast_path.value_or(kernels::fast_mode_path(model.projection_dtype())));
      if (o.compute == ComputeMode::Exact) {
        const kernels::LinearPath p = o.exact_path.value_or(kernels::exact_mode_path(model.projection_dtype()));
        if (p != kernels::kStoredPath) model.pack_projections(*pool, p);
      }
      if (o.compute == ComputeMode::Int8)
        model.pack_projections(*pool, o.int8_path.value_or(kernels::int8_mode_path()));
      // A tokenizer folder given explicitly must load; the model folder is
      // used if it has a tokenizer (test fixtures and id-only uses have none).
      namespace fs = std::filesystem;
      std::error_code ec;
      if (!o.tokenizer_dir.empty() || fs::exists(fs::symlink_status(fs::path(ckpt.dir()) / "tokenizer.json", ec))) {
        ConversationEncoder::Options eo;
        eo.bos_policy = o.bos_policy.value_or(family.traits().bos);
        eo.date = o.date;
        encoder.emplace(ConversationEncoder::load(o.tokenizer_dir.empty() ? ckpt.dir() : o.tokenizer_dir, eo));
      }
    }

    Checkpoint ckpt;  // owns the mapped bytes every weight view points into
    LlamaConfig config;
    Options options;
    ModelFamily family;
    LlamaModel model;
    RewardHead head;
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
                  "tokenizer.json and tokenizer_config.json: set " +
                  d.options.names.tokenizer_dir + ")");
    // A chat template writes at least a header token for every message, so
    // more messages than max_tokens cannot fit. Said here, before the
    // template runs: rendering a million messages would instead end at one of
    // the template engine's limits, an error that seems to blame the template.
    if (d.options.truncation == Truncation::Error && conversation.size() > d.max_tokens)
      throw Error("conversation has " + std::to_string(conversation.size()) + " messages, more than the maximum of " +
                  std::to_string(d.max_tokens) + " tokens (every message takes at least one)");
    // All of it, even past max_tokens: the error then says how long the
    // input is, and Truncation::Left needs every id. Memory stays bounded by
    // the tokenizer's byte limits (Tokenizer::Options::max_input_bytes,
    // max_word_bytes).
    return d.encoder->encode(conversation);
  }

  static Score score_ids(Data& d, std::span<const std::int32_t> ids) {
    const std::span<const std::int32_t> kept = checked(d, ids);
    const HeadPositions read = d.head.positions(kept);
    Lease st(d);
    st->clear();
    return score_tail(d, kept, read, *st, 0);
  }

  // The tokens to run: ids checked for empty and length, truncated on the left
  // if the options say so. (The range of each id is checked once, where the
  // model looks it up: LlamaModel::forward.)
  static std::span<const std::int32_t> checked(const Data& d, std::span<const std::int32_t> ids) {
    if (ids.empty()) throw Error("empty input: there is no token to score");
    const std::size_t max = d.max_tokens;
    if (ids.size() <= max) return ids;
    if (d.options.truncation == Truncation::Left) return ids.last(max);
    throw Error("input has " + std::to_string(ids.size()) + " tokens, more than the maximum of " + std::to_string(max) +
                " (choose " + d.options.names.truncate_left + " to keep the last " + std::to_string(max) + " tokens)");
  }

  // Runs ids[n_past …] after the n_past positions already in st (which
  // precede every position the head reads) and scores them.
  static Score score_tail(const Data& d, std::span<const std::int32_t> ids, const HeadPositions& read, LlamaState& st,
                          std::size_t n_past) {
    st.rewind(n_past);
    std::vector<std::size_t> rows = read.rows();
    for (std::size_t& r : rows) r -= n_past;
    const auto h = d.model.forward(ids.subspan(n_past), st, rows, *d.pool);
    Score s = d.head.evaluate(read, h, *d.pool);
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
      if (what.empty() && !(std::isfinite(a.mean) && (!s.has_uncertainty || std::isfinite(a.log_std))))
        what = (s.has_uncertainty ? "the mean or log-std of " : "the mean of ") + a.name + " is not finite";
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
