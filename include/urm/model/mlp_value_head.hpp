// MlpValueHead — INF-ORM's head (INFORMForSequenceClassification, from
// allenai/reward-bench rewardbench/models/inform.py):
//
//   score = Sequential(Linear(h, h), ReLU, Linear(h, 1))
//   hidden = relu(score.0.weight · x + score.0.bias)       [h]
//   reward = score.2.weight · hidden + score.2.bias        [1]
//
// x is the final-norm hidden state at the pooled position (the older
// "token before the first pad" rule, pooling.hpp). A point prediction: the
// Score has no attributes and no uncertainty.
#pragma once

#include <algorithm>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/io/checkpoint.hpp"
#include "urm/io/llama_config.hpp"
#include "urm/model/linear_layer.hpp"
#include "urm/model/model_family.hpp"
#include "urm/model/score.hpp"

namespace urm {

class MlpValueHead {
 public:
  struct Evaluation {
    std::vector<float> hidden;  // relu(score.0(x))
    float reward = 0.0f;
  };

  // first [h, h] with bias, second [1, h] with bias (the family's shapes,
  // checked by validate_checkpoint).
  MlpValueHead(LinearLayer first, LinearLayer second) : first_(std::move(first)), second_(std::move(second)) {}

  static MlpValueHead from_checkpoint(const Checkpoint& ckpt, const LlamaConfig& cfg, const ModelFamily& family) {
    const ModelTensors tensors = head_tensors(family, cfg);
    const auto layer = [&](std::size_t i) {
      return LinearLayer::of(ckpt.tensor(find_tensor(tensors, TensorRole::HeadWeight, i)->name),
                             &ckpt.tensor(find_tensor(tensors, TensorRole::HeadBias, i)->name));
    };
    return MlpValueHead(layer(0), layer(1));
  }

  std::size_t hidden_size() const { return first_.in(); }

  Evaluation evaluate_parts(std::span<const float> x, ThreadPool& pool) const {
    if (x.size() != hidden_size())
      throw Error("value head: hidden state has " + std::to_string(x.size()) + " values, expected " +
                  std::to_string(hidden_size()));
    Evaluation e;
    e.hidden = first_(x, pool);
    for (float& v : e.hidden) v = std::max(v, 0.0f);
    e.reward = second_(e.hidden, pool)[0];
    return e;
  }

  Score evaluate(std::span<const float> x, ThreadPool& pool) const {
    Score s;
    s.reward = evaluate_parts(x, pool).reward;
    return s;
  }

 private:
  LinearLayer first_, second_;
};

}  // namespace urm
