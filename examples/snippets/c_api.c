/* The README's C snippet as a whole program, linked against liburm_c only.
 *
 *   c_api_snippet MODEL_DIR */
#include <stdio.h>

#include "urm/c_api.h"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  const char* model_dir = argv[1];

  urm_model* model = urm_model_load(model_dir, NULL); /* NULL: default options */
  if (!model) {
    fprintf(stderr, "urm: %s\n", urm_last_error());
    return 1;
  }
  const char* roles[] = {"user", "assistant"};
  const char* contents[] = {"when were the first Olympic Games held?", "April 1896"};
  urm_score* score = urm_score_conversation(model, roles, contents, 2);
  float reward, variance, means[5], log_stds[5];
  if (!score || urm_score_reward(score, &reward, &variance) != URM_OK ||
      urm_score_attributes(score, means, log_stds, 5) != URM_OK) {
    fprintf(stderr, "urm: %s\n", urm_last_error());
  } else {
    printf("reward %.4f (variance %.4f), helpfulness %.4f\n", reward, variance, means[0]);
  }
  urm_score_free(score);
  urm_model_free(model);
  return 0;
}
