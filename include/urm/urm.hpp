// urm.cpp — everything a program that scores with reward models needs, in
// one include:
//
//   #include "urm/urm.hpp"
//   auto rm = urm::RewardModel::load("/models/URM-LLaMa-3-8B");
//   urm::Score s = rm.score({{"user", "…"}, {"assistant", "…"}});
//
// The layers (core → kernels → io, text → model) can also be included one
// header at a time.
#pragma once

#include "urm/core/error.hpp"
#include "urm/core/tensor_view.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/io/checkpoint.hpp"
#include "urm/io/llama_config.hpp"
#include "urm/io/safetensors.hpp"
#include "urm/model/llama_model.hpp"
#include "urm/model/model_family.hpp"
#include "urm/model/reward_head.hpp"
#include "urm/model/reward_model.hpp"
#include "urm/model/score.hpp"
#include "urm/model/value_head.hpp"
#include "urm/text/conversation.hpp"
#include "urm/text/conversation_encoder.hpp"
#include "urm/text/tokenizer.hpp"
