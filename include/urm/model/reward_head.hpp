// RewardHead — a checkpoint's value head, whichever family it is: the
// positions of an input it reads (model_family.hpp's pooling rule, and
// ArmoRM's gating position) and the Score it makes of the final-norm hidden
// states there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/io/checkpoint.hpp"
#include "urm/io/llama_config.hpp"
#include "urm/model/armorm_head.hpp"
#include "urm/model/mlp_value_head.hpp"
#include "urm/model/model_family.hpp"
#include "urm/model/pooling.hpp"
#include "urm/model/score.hpp"
#include "urm/model/value_head.hpp"

namespace urm {

// Where in an input a head reads.
struct HeadPositions {
  std::size_t pooled = 0;               // the pooling rule's position
  std::optional<std::size_t> gating;    // ArmoRM: where the last assistant header starts

  // The distinct positions, ascending: the rows to ask LlamaModel::forward for.
  std::vector<std::size_t> rows() const {
    if (!gating || *gating == pooled) return {pooled};
    return *gating < pooled ? std::vector<std::size_t>{*gating, pooled} : std::vector<std::size_t>{pooled, *gating};
  }
};

class RewardHead {
 public:
  using Head = std::variant<UncertainValueHead, MlpValueHead, ArmoRmHead>;

  RewardHead(ModelFamily family, std::optional<std::int64_t> pad_token_id, Head head)
      : family_(std::move(family)), pad_(pad_token_id), head_(std::move(head)) {}

  // The head of a checkpoint validate_checkpoint accepted as `family`.
  // prior_weights: the fixed weights of a URM head without a gate (empty: the model's).
  static RewardHead from_checkpoint(const Checkpoint& ckpt, const LlamaConfig& cfg, const ModelFamily& family,
                                    std::vector<float> prior_weights = {}) {
    if (!prior_weights.empty() && family.head != ValueHeadKind::UrmPrior && family.head != ValueHeadKind::Scalar)
      throw Error(ckpt.dir() + ": prior weights are given, but a " + std::string(to_string(family.head)) +
                  " head has no fixed attribute weights to replace");
    switch (family.head) {
      case ValueHeadKind::InformMlp:
        return {family, cfg.pad_token_id, MlpValueHead::from_checkpoint(ckpt, cfg, family)};
      case ValueHeadKind::ArmoRM:
        return {family, cfg.pad_token_id, ArmoRmHead::from_checkpoint(ckpt, cfg, family)};
      default:
        return {family, cfg.pad_token_id,
                UncertainValueHead::from_checkpoint(ckpt, cfg, family, std::move(prior_weights))};
    }
  }

  const ModelFamily& family() const { return family_; }
  const Head& head() const { return head_; }

  // The positions of ids (not empty) the head reads; throws urm::Error if ids
  // lack what the head needs (ArmoRM's assistant header).
  HeadPositions positions(std::span<const std::int32_t> ids) const {
    HeadPositions p;
    p.pooled = pooled_position(family_.traits().pooling, ids, pad_);
    if (std::holds_alternative<ArmoRmHead>(head_)) p.gating = ArmoRmHead::gating_position(ids);
    return p;
  }

  // hidden: the final-norm hidden states of p.rows(), [rows, hidden] in that order.
  Score evaluate(const HeadPositions& p, std::span<const float> hidden, ThreadPool& pool) const {
    const std::vector<std::size_t> rows = p.rows();
    if (rows.empty() || hidden.size() % rows.size() != 0)
      throw Error("value head: " + std::to_string(hidden.size()) + " hidden values for " +
                  std::to_string(rows.size()) + " positions");
    const std::size_t d = hidden.size() / rows.size();
    const auto at = [&](std::size_t position) {
      const std::size_t i = position == rows.front() ? 0 : rows.size() - 1;
      return hidden.subspan(i * d, d);
    };
    if (const auto* armo = std::get_if<ArmoRmHead>(&head_)) return armo->evaluate(at(p.pooled), at(*p.gating), pool);
    if (const auto* mlp = std::get_if<MlpValueHead>(&head_)) return mlp->evaluate(at(p.pooled), pool);
    return std::get<UncertainValueHead>(head_).evaluate(at(p.pooled), pool);
  }

 private:
  ModelFamily family_;
  std::optional<std::int64_t> pad_;
  Head head_;
};

}  // namespace urm
