/* urm.cpp C ABI — a small extern "C" surface for hosts that speak C (Unity via
 * P/Invoke, Godot GDExtension, Lua FFI, Python ctypes, ...).
 *
 * Built as the shared library urm_c (liburm_c.so) by the CMake option
 * URM_BUILD_C_API=ON; its one source is src/c_api.cpp. Plain C99 types only:
 * opaque handles, const char* (UTF-8), size_t, int32_t, uint64_t and float.
 *
 *   urm_model* m = urm_model_load("/models/URM-LLaMa-3-8B", NULL);
 *   const char* roles[] = {"user", "assistant"};
 *   const char* contents[] = {"when were the first Olympic Games held?", "April 1896"};
 *   urm_score* s = urm_score_conversation(m, roles, contents, 2);
 *   float reward;
 *   if (!s || urm_score_reward(s, &reward) != URM_OK) fprintf(stderr, "%s\n", urm_last_error());
 *   urm_score_free(s);
 *   urm_model_free(m);
 *
 * Errors. A function that returns a pointer returns NULL on failure; one that
 * returns int returns URM_OK (0) or URM_ERROR (-1). Either way
 * urm_last_error() then gives the message, which names what was wrong
 * ("urm_score_conversation: roles[1] is NULL", or the library's own message).
 * The message is thread-local (each thread sees its own last error), set by
 * every failing call and cleared by every successful one; the pointer stays
 * valid until the next urm_ call on the same thread. No C++ exception ever
 * crosses this boundary.
 *
 * Threads. A urm_model may be used by several threads at once (scoring is
 * thread-safe); a urm_score is immutable once returned. Free each handle once,
 * after its last use; free functions accept NULL.
 */
#ifndef URM_C_API_H
#define URM_C_API_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define URM_C_EXPORT __declspec(dllexport)
#else
#define URM_C_EXPORT __attribute__((visibility("default")))
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define URM_OK 0
#define URM_ERROR (-1)

typedef struct urm_model urm_model; /* a loaded reward model */
typedef struct urm_score urm_score; /* what it says about one input */

/* Load options; urm_load_options_init fills in the defaults. */
typedef struct urm_load_options {
  size_t threads;            /* compute threads counting the caller; 0 = all cores */
  const char* tokenizer_dir; /* tokenizer.json + tokenizer_config.json; NULL = the model folder */
  size_t max_tokens;         /* longest input; 0 = the model's max_position_embeddings */
  int truncate_left;         /* nonzero: keep the last max_tokens tokens of longer inputs (else error) */
  int single_bos;            /* nonzero: apply_chat_template's ids, one BOS (default: the model family's
                                card pipeline: two <|begin_of_text|> for URM, one for the others) */
  const char* mode;          /* compute mode: "exact" (NULL: the default), "fast" or "int8" */
  const char* date;          /* "YYYY-MM-DD": the date a chat template's strftime_now() prints;
                                NULL = today (a template that prints it makes scores depend on the date) */
} urm_load_options;

URM_C_EXPORT void urm_load_options_init(urm_load_options* options);

/* The message of the last failed call on this thread ("" if the last call succeeded). */
URM_C_EXPORT const char* urm_last_error(void);

/* Loads a Hugging Face checkpoint folder; options may be NULL (defaults). */
URM_C_EXPORT urm_model* urm_model_load(const char* dir, const urm_load_options* options);
URM_C_EXPORT void urm_model_free(urm_model* model);

/* Scores a conversation of n_messages messages: message i has role roles[i]
 * ("system", "user", "assistant", ...) and content contents[i] (UTF-8). */
URM_C_EXPORT urm_score* urm_score_conversation(const urm_model* model, const char* const* roles,
                                               const char* const* contents, size_t n_messages);
/* Scores one JSON object, the same a urm-score input line holds (UTF-8):
 * {"messages": [{"role": ..., "content": ..., "tool_calls": ..., ...}, ...],
 *  "tools": [...], "documents": [...], "chat_template_kwargs": {...}} or {"input_ids": [...]}.
 * Every message field, the tools, documents and template variables reach the chat template. */
URM_C_EXPORT urm_score* urm_score_json(const urm_model* model, const char* json);
/* Scores token ids as given (no special tokens added). */
URM_C_EXPORT urm_score* urm_score_ids(const urm_model* model, const int32_t* ids, size_t n_ids);
URM_C_EXPORT void urm_score_free(urm_score* score);

/* reward = sum_i w_i mean_i; variance = sum_i w_i^2 exp(2 log_std_i). Either
 * out-pointer may be NULL. */
URM_C_EXPORT int urm_score_reward(const urm_score* score, float* reward, float* variance);
/* 1 if the model predicts a distribution (URM heads: log-stds, a variance),
 * 0 if it predicts point values (scalar, INF-ORM, ArmoRM heads): then every
 * log-std is -INFINITY (a standard deviation of 0), the variance is 0 and
 * samples equal the reward and the means. */
URM_C_EXPORT int urm_score_has_uncertainty(const urm_score* score, int* has_uncertainty);
/* The number of tokens the model read. */
URM_C_EXPORT int urm_score_n_tokens(const urm_score* score, size_t* n_tokens);
/* The number K of attributes (5 for URM-LLaMa-3-8B, 19 objectives for ArmoRM;
 * 0 for a scalar head). */
URM_C_EXPORT int urm_score_n_attributes(const urm_score* score, size_t* n_attributes);
/* Attribute i's name (valid while the score lives), mean, log-std and combination
 * weight. Any out-pointer may be NULL. */
URM_C_EXPORT int urm_score_attribute(const urm_score* score, size_t i, const char** name, float* mean,
                                     float* log_std, float* weight);
/* All K means and log-stds at once: n must equal K; either array may be NULL. */
URM_C_EXPORT int urm_score_attributes(const urm_score* score, float* means, float* log_stds, size_t n);

/* n reward samples sum_i w_i (mean_i + eps_i exp(log_std_i)), eps ~ N(0, 1)
 * drawn from std::mt19937_64(seed): the same seed gives the same samples (with
 * the same C++ standard library). */
URM_C_EXPORT int urm_score_sample_rewards(const urm_score* score, uint64_t seed, float* out, size_t n);
/* One attribute sample with caller-supplied eps: out[i] = mean_i + eps[i] exp(log_std_i);
 * eps and out have n = K entries. */
URM_C_EXPORT int urm_score_sample_attributes(const urm_score* score, const float* eps, float* out, size_t n);

#ifdef __cplusplus
}
#endif

#endif /* URM_C_API_H */
