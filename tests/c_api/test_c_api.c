/* The C ABI, used from C (C99, linked against liburm_c.so only): loading,
 * scoring ids and a conversation on the demo model against the reference
 * numbers, reading every field, sampling, and every error path with its exact
 * message (bad model path, bad conversation, NULL arguments, wrong sizes),
 * including that the last error is per thread.
 *
 * Reference: tests/data/models/model_golden.json, tiny-urm-llama3 case 0 (the
 * model card's pipeline, two <|begin_of_text|>). */
#define _GNU_SOURCE /* pthread_getattr_default_np */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "urm/c_api.h"

static int failures = 0;
static int checks = 0;

#define CHECK(cond)                                                   \
  do {                                                                \
    ++checks;                                                         \
    if (!(cond)) {                                                    \
      ++failures;                                                     \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
    }                                                                 \
  } while (0)

/* The call failed and urm_last_error() is exactly `expected`. */
#define CHECK_ERROR(expected)                                                                   \
  do {                                                                                          \
    ++checks;                                                                                   \
    if (strcmp(urm_last_error(), (expected)) != 0) {                                            \
      ++failures;                                                                               \
      fprintf(stderr, "%s:%d: last error \"%s\", expected \"%s\"\n", __FILE__, __LINE__,        \
              urm_last_error(), (expected));                                                    \
    }                                                                                           \
  } while (0)

#define CHECK_NEAR(a, b, tol) CHECK(fabs((double)(a) - (double)(b)) <= (tol))

static const int32_t kIds[24] = {128000, 128000, 128006, 882,   128007, 271,    9493,  1051,
                                 279,    1176,   25944,  11871, 5762,   30,     128009, 128006,
                                 78191,  128007, 271,    29146, 220,    9378,   21,    128009};
static const float kReward = -0.5780088901519775f;
static const float kMean[5] = {-1.1029465198516846f, -0.5447741150856018f, -0.39766421914100647f,
                               0.24057181179523468f, -0.6844384670257568f};
static const float kLogStd[5] = {-1.9136643409729004f, 0.8707314729690552f, 0.8438138961791992f,
                                 0.719353199005127f, -0.7444047331809998f};
static const char* const kNames[5] = {"helpfulness", "correctness", "coherence", "complexity", "verbosity"};

static void test_load_errors(void) {
  CHECK(urm_model_load(NULL, NULL) == NULL);
  CHECK_ERROR("urm_model_load: dir is NULL");
  CHECK(urm_model_load("/nonexistent/urm-model", NULL) == NULL);
  CHECK_ERROR("/nonexistent/urm-model: not a checkpoint folder (not a directory)");
  CHECK(urm_model_load(URM_TEST_DATA_DIR, NULL) == NULL);
  CHECK_ERROR(URM_TEST_DATA_DIR ": no model.safetensors or model.safetensors.index.json in the folder");
}

/* Thread counts are checked before anything starts, and a thread the system
 * refuses is an error: before, the pool's constructor threw with threads
 * running, which ended the host (or, caught, left it waiting for good). */
static void test_thread_errors(void) {
  urm_load_options options;
  urm_load_options_init(&options);
  options.threads = 100000;
  CHECK(urm_model_load(URM_DEMO_MODEL_DIR, &options) == NULL);
  CHECK_ERROR("urm_load_options.threads is 100000, at most 1024");
  options.threads = (size_t)-1;
  CHECK(urm_model_load(URM_DEMO_MODEL_DIR, &options) == NULL);
  CHECK_ERROR("urm_load_options.threads is 18446744073709551615, at most 1024");

  /* Every new thread's stack 1 TiB: the system refuses the first one. */
  pthread_attr_t saved, huge;
  CHECK(pthread_getattr_default_np(&saved) == 0);
  CHECK(pthread_attr_init(&huge) == 0);
  CHECK(pthread_attr_setstacksize(&huge, (size_t)1 << 40) == 0);
  CHECK(pthread_setattr_default_np(&huge) == 0);
  options.threads = 4;
  urm_model* m = urm_model_load(URM_DEMO_MODEL_DIR, &options);
  CHECK(pthread_setattr_default_np(&saved) == 0);
  pthread_attr_destroy(&huge);
  pthread_attr_destroy(&saved);
  CHECK(m == NULL);
  CHECK_ERROR("ThreadPool: cannot start thread 2 of 4: Resource temporarily unavailable");
  m = urm_model_load(URM_DEMO_MODEL_DIR, &options); /* and the host goes on */
  CHECK(m != NULL);
  urm_model_free(m);

  /* Messages name the C fields. */
  m = urm_model_load(URM_TEST_DATA_DIR "/models/tiny-urm-llama3", NULL);
  CHECK(m != NULL);
  const char* roles[1] = {"user"};
  const char* contents[1] = {"hi"};
  CHECK(urm_score_conversation(m, roles, contents, 1) == NULL);
  CHECK_ERROR(URM_TEST_DATA_DIR
              "/models/tiny-urm-llama3: no tokenizer.json in the model folder (scoring a conversation needs "
              "tokenizer.json and tokenizer_config.json: set urm_load_options.tokenizer_dir)");
  urm_model_free(m);
}

static void test_score_ids(const urm_model* m) {
  urm_score* s = urm_score_ids(m, kIds, 24);
  CHECK(s != NULL);
  CHECK_ERROR("");
  if (!s) return;
  float reward = 0, variance = 0;
  CHECK(urm_score_reward(s, &reward, &variance) == URM_OK);
  CHECK_NEAR(reward, kReward, 1e-4);
  size_t n_tokens = 0, k = 0;
  int uncertain = 0;
  CHECK(urm_score_n_tokens(s, &n_tokens) == URM_OK && n_tokens == 24);
  CHECK(urm_score_n_attributes(s, &k) == URM_OK && k == 5);
  CHECK(urm_score_has_uncertainty(s, &uncertain) == URM_OK && uncertain == 1);
  CHECK(urm_score_has_uncertainty(s, NULL) == URM_ERROR);
  CHECK_ERROR("urm_score_has_uncertainty: has_uncertainty is NULL");
  CHECK(urm_score_has_uncertainty(NULL, &uncertain) == URM_ERROR);
  CHECK_ERROR("urm_score_has_uncertainty: score is NULL");

  float means[5], log_stds[5];
  CHECK(urm_score_attributes(s, means, log_stds, 5) == URM_OK);
  double expected_variance = 0;
  for (size_t i = 0; i < 5; ++i) {
    const char* name = NULL;
    float mean = 0, log_std = 0, weight = 0;
    CHECK(urm_score_attribute(s, i, &name, &mean, &log_std, &weight) == URM_OK);
    CHECK(name != NULL && strcmp(name, kNames[i]) == 0);
    CHECK_NEAR(mean, kMean[i], 1e-4);
    CHECK_NEAR(log_std, kLogStd[i], 1e-4);
    CHECK(means[i] == mean && log_stds[i] == log_std);
    expected_variance += (double)weight * weight * exp(2.0 * log_std);
  }
  CHECK_NEAR(variance, expected_variance, 1e-5);
  CHECK(urm_score_reward(s, NULL, NULL) == URM_OK); /* NULL outputs are skipped */
  CHECK(urm_score_attributes(s, NULL, log_stds, 5) == URM_OK);

  /* Sampling: deterministic per seed; eps = 0 gives the means, eps = 1 mean + std. */
  float a[64], b[64], c[64];
  CHECK(urm_score_sample_rewards(s, 42, a, 64) == URM_OK);
  CHECK(urm_score_sample_rewards(s, 42, b, 64) == URM_OK);
  CHECK(urm_score_sample_rewards(s, 43, c, 64) == URM_OK);
  CHECK(memcmp(a, b, sizeof a) == 0);
  CHECK(memcmp(a, c, sizeof a) != 0);
  const float zeros[5] = {0, 0, 0, 0, 0}, ones[5] = {1, 1, 1, 1, 1};
  float out[5];
  CHECK(urm_score_sample_attributes(s, zeros, out, 5) == URM_OK);
  for (size_t i = 0; i < 5; ++i) CHECK(out[i] == means[i]);
  CHECK(urm_score_sample_attributes(s, ones, out, 5) == URM_OK);
  for (size_t i = 0; i < 5; ++i) CHECK_NEAR(out[i], means[i] + exp(log_stds[i]), 1e-5);

  /* Errors on a valid score. */
  CHECK(urm_score_attribute(s, 5, NULL, NULL, NULL, NULL) == URM_ERROR);
  CHECK_ERROR("urm_score_attribute: i is 5, the score has 5 attributes");
  CHECK(urm_score_attributes(s, means, log_stds, 4) == URM_ERROR);
  CHECK_ERROR("urm_score_attributes: n is 4, the score has 5 attributes");
  CHECK(urm_score_sample_attributes(s, zeros, out, 3) == URM_ERROR);
  CHECK_ERROR("urm_score_sample_attributes: n is 3, the score has 5 attributes");
  CHECK(urm_score_sample_attributes(s, NULL, out, 5) == URM_ERROR);
  CHECK_ERROR("urm_score_sample_attributes: eps is NULL");
  CHECK(urm_score_sample_rewards(s, 1, NULL, 3) == URM_ERROR);
  CHECK_ERROR("urm_score_sample_rewards: out is NULL");
  CHECK(urm_score_n_tokens(s, NULL) == URM_ERROR);
  CHECK_ERROR("urm_score_n_tokens: n_tokens is NULL");
  CHECK(urm_score_n_attributes(s, NULL) == URM_ERROR);
  CHECK_ERROR("urm_score_n_attributes: n_attributes is NULL");
  /* A success clears the last error. */
  CHECK(urm_score_sample_rewards(s, 1, NULL, 0) == URM_OK);
  CHECK_ERROR("");
  urm_score_free(s);
}

/* ArmoRM (zoo fixture): 19 objectives, point values: no uncertainty, log-std -INFINITY. */
static void test_point_scores(void) {
  urm_model* m = urm_model_load(URM_TEST_DATA_DIR "/zoo/models/armorm-llama3", NULL);
  CHECK(m != NULL);
  if (!m) return;
  /* zoo golden case 2: the gating pattern at 0 */
  static const int32_t ids[7] = {128009, 128006, 78191, 128007, 271, 39570, 106867};
  urm_score* s = urm_score_ids(m, ids, 7);
  CHECK(s != NULL);
  int uncertain = 1;
  size_t k = 0;
  float reward = 0, variance = 1, sum = 0;
  CHECK(urm_score_has_uncertainty(s, &uncertain) == URM_OK && uncertain == 0);
  CHECK(urm_score_n_attributes(s, &k) == URM_OK && k == 19);
  CHECK(urm_score_reward(s, &reward, &variance) == URM_OK && variance == 0.0f);
  CHECK_NEAR(reward, -0.15697816014289856, 1e-4);
  for (size_t i = 0; i < k; ++i) {
    const char* name = NULL;
    float mean = 0, log_std = 0, weight = 0;
    CHECK(urm_score_attribute(s, i, &name, &mean, &log_std, &weight) == URM_OK);
    CHECK(isinf(log_std) && log_std < 0);
    if (i == 0) CHECK(strcmp(name, "helpsteer-helpfulness") == 0);
    sum += weight * mean;
  }
  CHECK_NEAR(sum, reward, 1e-5);
  float samples[3];
  CHECK(urm_score_sample_rewards(s, 9, samples, 3) == URM_OK);
  CHECK(samples[0] == reward && samples[2] == reward);
  urm_score_free(s);
  static const int32_t no_header[3] = {1, 2, 3};
  CHECK(urm_score_ids(m, no_header, 3) == NULL);
  CHECK(strstr(urm_last_error(), "ArmoRM: the input does not contain the token pattern") == urm_last_error());
  urm_model_free(m);
}

/* The demo model's score of the Olympic Games conversation (24 tokens,
 * reward kReward), then freed; `what` names the call that made it. */
static void check_olympics_score(urm_score* s, const char* what) {
  if (!s) fprintf(stderr, "%s: %s\n", what, urm_last_error());
  CHECK(s != NULL);
  if (s) {
    float reward = 0;
    size_t n_tokens = 0;
    CHECK(urm_score_reward(s, &reward, NULL) == URM_OK);
    CHECK_NEAR(reward, kReward, 1e-4);
    CHECK(urm_score_n_tokens(s, &n_tokens) == URM_OK && n_tokens == 24);
    urm_score_free(s);
  }
}

static void test_score_conversation(const urm_model* m) {
  const char* roles[2] = {"user", "assistant"};
  const char* contents[2] = {"when were the first Olympic Games held?", "April 1896"};
  check_olympics_score(urm_score_conversation(m, roles, contents, 2), "urm_score_conversation");

  /* Bad conversations. */
  CHECK(urm_score_conversation(m, NULL, contents, 2) == NULL);
  CHECK_ERROR("urm_score_conversation: roles is NULL");
  CHECK(urm_score_conversation(m, roles, NULL, 2) == NULL);
  CHECK_ERROR("urm_score_conversation: contents is NULL");
  const char* roles_with_null[2] = {"user", NULL};
  CHECK(urm_score_conversation(m, roles_with_null, contents, 2) == NULL);
  CHECK_ERROR("urm_score_conversation: roles[1] is NULL");
  const char* contents_with_null[2] = {NULL, "x"};
  CHECK(urm_score_conversation(m, roles, contents_with_null, 2) == NULL);
  CHECK_ERROR("urm_score_conversation: contents[0] is NULL");
  CHECK(urm_score_conversation(NULL, roles, contents, 2) == NULL);
  CHECK_ERROR("urm_score_conversation: model is NULL");
  CHECK(urm_score_conversation(m, NULL, NULL, 0) == NULL); /* no arrays are needed for 0 messages */
  CHECK_ERROR("empty conversation: there is no message to score");
}

/* urm_score_json: the object a urm-score line holds; message fields and
 * template variables reach the chat template (the demo model's Llama-3
 * template reads neither, so the score is the plain conversation's). */
static void test_score_json(const urm_model* m) {
  const char* json =
      "{\"messages\": [{\"role\": \"user\", \"content\": \"when were the first Olympic Games held?\"},"
      " {\"role\": \"assistant\", \"content\": \"April 1896\", \"reasoning_content\": \"unused\"}],"
      " \"chat_template_kwargs\": {\"enable_thinking\": false}}";
  check_olympics_score(urm_score_json(m, json), "urm_score_json");
  urm_score* s = urm_score_json(m, "{\"input_ids\": [128000, 9906]}");
  CHECK(s != NULL);
  urm_score_free(s);
  CHECK(urm_score_json(m, "{\"messages\": [{\"role\": 1, \"content\": \"x\"}]}") == NULL);
  CHECK_ERROR("urm_score_json: messages[0].role: expected a string, got 1");
  CHECK(urm_score_json(m, NULL) == NULL);
  CHECK_ERROR("urm_score_json: json is NULL");
  CHECK(urm_score_json(NULL, "{}") == NULL);
  CHECK_ERROR("urm_score_json: model is NULL");
}

static void test_null_and_bad_arguments(const urm_model* m) {
  CHECK(urm_score_ids(m, kIds, 0) == NULL);
  CHECK_ERROR("empty input: there is no token to score");
  const int32_t bad[2] = {128000, 128257};
  CHECK(urm_score_ids(m, bad, 2) == NULL);
  CHECK_ERROR("token id 128257 at position 1 is out of range [0, 128257)");
  CHECK(urm_score_ids(m, NULL, 3) == NULL);
  CHECK_ERROR("urm_score_ids: ids is NULL");
  CHECK(urm_score_ids(NULL, kIds, 24) == NULL);
  CHECK_ERROR("urm_score_ids: model is NULL");

  float f;
  size_t n;
  const char* name;
  CHECK(urm_score_reward(NULL, &f, &f) == URM_ERROR);
  CHECK_ERROR("urm_score_reward: score is NULL");
  CHECK(urm_score_n_tokens(NULL, &n) == URM_ERROR);
  CHECK_ERROR("urm_score_n_tokens: score is NULL");
  CHECK(urm_score_n_attributes(NULL, &n) == URM_ERROR);
  CHECK_ERROR("urm_score_n_attributes: score is NULL");
  CHECK(urm_score_attribute(NULL, 0, &name, &f, &f, &f) == URM_ERROR);
  CHECK_ERROR("urm_score_attribute: score is NULL");
  CHECK(urm_score_attributes(NULL, &f, &f, 1) == URM_ERROR);
  CHECK_ERROR("urm_score_attributes: score is NULL");
  CHECK(urm_score_sample_rewards(NULL, 0, &f, 1) == URM_ERROR);
  CHECK_ERROR("urm_score_sample_rewards: score is NULL");
  CHECK(urm_score_sample_attributes(NULL, &f, &f, 1) == URM_ERROR);
  CHECK_ERROR("urm_score_sample_attributes: score is NULL");
  urm_score_free(NULL);
  urm_model_free(NULL);
  urm_load_options_init(NULL);
}

/* Another thread's failure does not show in this thread's last error. */
static void* fail_on_other_thread(void* arg) {
  (void)arg;
  urm_score_reward(NULL, NULL, NULL);
  return (void*)(strcmp(urm_last_error(), "urm_score_reward: score is NULL") == 0 ? "ok" : NULL);
}

static void test_thread_local_error(void) {
  CHECK(urm_score_ids(NULL, kIds, 24) == NULL);
  pthread_t t;
  void* result = NULL;
  CHECK(pthread_create(&t, NULL, fail_on_other_thread, NULL) == 0);
  CHECK(pthread_join(t, &result) == 0);
  CHECK(result != NULL);
  CHECK_ERROR("urm_score_ids: model is NULL");
}

int main(void) {
  CHECK_ERROR("");
  test_load_errors();
  test_thread_errors();

  urm_load_options options;
  urm_load_options_init(&options);
  CHECK(options.threads == 0 && options.tokenizer_dir == NULL && options.max_tokens == 0 && options.date == NULL);
  options.threads = 2;
  urm_model* m = urm_model_load(URM_DEMO_MODEL_DIR, &options);
  if (!m) {
    fprintf(stderr, "cannot load the demo model (made by scripts/setup): %s\n", urm_last_error());
    return 1;
  }
  test_score_ids(m);
  test_score_conversation(m);
  test_score_json(m);
  test_null_and_bad_arguments(m);
  test_thread_local_error();
  test_point_scores();

  /* Load options reach the model: max_tokens 10 rejects the 24-token input. */
  options.max_tokens = 10;
  urm_model* short_model = urm_model_load(URM_DEMO_MODEL_DIR, &options);
  CHECK(short_model != NULL);
  CHECK(urm_score_ids(short_model, kIds, 24) == NULL);
  CHECK_ERROR(
      "input has 24 tokens, more than the maximum of 10 (choose urm_load_options.truncate_left = 1 to keep the last 10 "
      "tokens)");
  options.truncate_left = 1;
  urm_model* truncating = urm_model_load(URM_DEMO_MODEL_DIR, &options);
  urm_score* s = urm_score_ids(truncating, kIds, 24);
  size_t n_tokens = 0;
  CHECK(s != NULL && urm_score_n_tokens(s, &n_tokens) == URM_OK && n_tokens == 10);
  urm_score_free(s);

  /* single_bos: apply_chat_template's ids (one <|begin_of_text|>), golden case 1. */
  urm_load_options_init(&options);
  options.single_bos = 1;
  urm_model* single = urm_model_load(URM_DEMO_MODEL_DIR, &options);
  const char* roles[2] = {"user", "assistant"};
  const char* contents[2] = {"when were the first Olympic Games held?", "April 1896"};
  s = urm_score_conversation(single, roles, contents, 2);
  float reward = 0;
  CHECK(s != NULL && urm_score_n_tokens(s, &n_tokens) == URM_OK && n_tokens == 23);
  CHECK(urm_score_reward(s, &reward, NULL) == URM_OK);
  CHECK_NEAR(reward, -0.5893764495849609, 1e-4);
  urm_score_free(s);
  urm_model_free(single);

  /* tokenizer_dir reaches the model: a folder without tokenizer.json fails to load. */
  urm_load_options_init(&options);
  options.tokenizer_dir = URM_TEST_DATA_DIR;
  CHECK(urm_model_load(URM_DEMO_MODEL_DIR, &options) == NULL);
  CHECK_ERROR(URM_TEST_DATA_DIR "/tokenizer_config.json: cannot open: No such file or directory");

  /* mode: fast mode scores within its documented 0.02 of exact; a wrong name is a load error. */
  urm_load_options_init(&options);
  CHECK(options.mode == NULL);
  options.mode = "fast";
  urm_model* fast = urm_model_load(URM_DEMO_MODEL_DIR, &options);
  CHECK(fast != NULL);
  float exact_reward = 0;
  s = urm_score_ids(fast, kIds, 24);
  CHECK(s != NULL && urm_score_reward(s, &reward, NULL) == URM_OK);
  urm_score_free(s);
  s = urm_score_ids(m, kIds, 24);
  CHECK(s != NULL && urm_score_reward(s, &exact_reward, NULL) == URM_OK);
  CHECK_NEAR(reward, exact_reward, 0.02);
  urm_score_free(s);
  urm_model_free(fast);
  options.mode = "slow";
  CHECK(urm_model_load(URM_DEMO_MODEL_DIR, &options) == NULL);
  CHECK_ERROR("compute mode \"slow\" is not one of exact, fast, int8");

  urm_model_free(truncating);
  urm_model_free(short_model);
  urm_model_free(m);

  printf("test_c_api: %d checks, %d failed\n", checks, failures);
  return failures ? 1 : 0;
}
