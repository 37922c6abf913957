// Fuzzes the Jinja interpreter: any input is a template, parsed and rendered
// (with and without a generation prompt) on a fixed conversation with tool
// calls, tools and documents, under tight step and memory limits. Every
// input must either render or throw urm::Error; anything else (another
// exception, a sanitizer report, a stack overflow, a hang past libFuzzer's
// timeout) is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "urm/text/jinja/template.hpp"

namespace {

using namespace urm::detail::jinja;

Map variables(bool add_generation_prompt) {
  const Value call(Map{{"type", "function"},
                       {"function", Value(Map{{"name", "get_weather"}, {"arguments", Value(Map{{"city", "Paris"}})}})}});
  List messages{Value(Map{{"role", "system"}, {"content", "Be brief."}}),
                Value(Map{{"role", "user"}, {"content", "  Hi there \n"}}),
                Value(Map{{"role", "assistant"}, {"content", "<think>r</think>Hello!"}, {"reasoning_content", "r"},
                          {"tool_calls", Value(List{call})}}),
                Value(Map{{"role", "tool"}, {"content", "{\"t\": 1}"}, {"name", "get_weather"}})};
  const Value tool(Map{{"type", "function"}, {"function", Value(Map{{"name", "get_weather"}, {"parameters", Value(Map{})}})}});
  return Map{{"messages", Value(std::move(messages))},
             {"tools", Value(List{tool})},
             {"documents", Value(List{Value(Map{{"title", "t"}, {"text", "x"}})})},
             {"add_generation_prompt", add_generation_prompt},
             {"bos_token", "<s>"},
             {"eos_token", "</s>"},
             {"enable_thinking", false}};
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view source(reinterpret_cast<const char*>(data), size);
  Limits limits;
  limits.max_steps = 200'000;
  limits.max_bytes = 16u << 20;
  RenderContext context;
  context.now = DateTime{2024, 7, 26, 0, 0, 0};
  try {
    const Template t = Template::parse(source, "fuzz", limits);
    for (const bool prompt : {false, true}) {
      try {
        (void)t.render(variables(prompt), context);
      } catch (const urm::Error&) {
      }
    }
  } catch (const urm::Error&) {
  }
  return 0;
}
