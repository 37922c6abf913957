// Conversation — what a reward model scores: a list of chat messages.
#pragma once

#include <string>
#include <vector>

namespace urm {

struct Message {
  std::string role;     // "system", "user", "assistant", …
  std::string content;  // UTF-8
};

using Conversation = std::vector<Message>;

}  // namespace urm
