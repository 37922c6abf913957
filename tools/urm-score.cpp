// urm-score — score conversations (or token ids) with a reward model, JSON
// Lines in, JSON Lines out.
//
// Each input line is {"messages": [{"role": …, "content": …}, …]} or
// {"input_ids": [...]}; each output line is, in order,
//   {"reward": r, "reward_variance": v, "attributes": [{"name", "mean",
//    "log_std"}, …], "weights": [...], "n_tokens": n}   (+ "input_ids" with --emit-ids)
// or {"error": "line N: …"} for a line that could not be scored; the others
// continue and the exit status is 1 at the end if any line failed. Blank lines
// are skipped.
//
// Without --model it scores with the bundled demo model (the tiny-urm-llama3
// test fixture, made by scripts/setup in .cache/demo-model): its weights are
// random, so its rewards mean nothing.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "urm/kernels/linear_dispatch.hpp"
#include "urm/model/reward_model.hpp"
#include "urm/serve/score_json.hpp"

#ifndef URM_DEMO_MODEL_DIR
#define URM_DEMO_MODEL_DIR ".cache/demo-model"
#endif

namespace {

constexpr const char* kUsage =
    "usage: urm-score [--model DIR] [--tokenizer-dir DIR] [--threads N] [--input FILE|-] [--output FILE|-]\n"
    "                 [--emit-ids] [--max-tokens N] [--truncate-left] [--single-bos] [--mode exact|fast] [--stats]\n"
    "\n"
    "Reads JSON Lines, one input per line: {\"messages\": [{\"role\": ..., \"content\": ...}, ...]} or\n"
    "{\"input_ids\": [...]}. Writes one JSON object per input line, in order: the reward, its variance,\n"
    "the per-attribute mean and log-std, the attribute weights and the number of tokens, or\n"
    "{\"error\": ...} for a line that failed (exit status 1 at the end if any did).\n"
    "\n"
    "  --model DIR          Hugging Face checkpoint folder (default: the bundled demo model, whose\n"
    "                       random weights make its rewards meaningless)\n"
    "  --tokenizer-dir DIR  folder with tokenizer.json and tokenizer_config.json (default: the model's)\n"
    "  --threads N          compute threads (default: all cores)\n"
    "  --input FILE|-       input (default: - = standard input)\n"
    "  --output FILE|-      output (default: - = standard output)\n"
    "  --emit-ids           add the scored \"input_ids\" to each result\n"
    "  --max-tokens N       longest input accepted (default: max_position_embeddings)\n"
    "  --truncate-left      keep the last max-tokens tokens of a longer input instead of failing\n"
    "  --single-bos         one <|begin_of_text|> (default: the model card's pipeline, which has two)\n"
    "  --mode exact|fast    float32 arithmetic (default) or reduced-precision kernels\n"
    "  --stats              print throughput to standard error at the end\n";

struct Args {
  std::optional<std::string> model;
  urm::RewardModel::Options options;
  std::string input = "-", output = "-";
  bool emit_ids = false, stats = false;
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::cerr << "urm-score: " << msg << "\n\n" << kUsage;
  std::exit(2);
}

std::size_t parse_count(const std::string& flag, const std::string& v, std::size_t min) {
  std::size_t pos = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(v, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos != v.size() || v.empty() || v[0] == '-' || n < min || n > 1'000'000'000ull)
    usage_error(flag + " expects a whole number >= " + std::to_string(min) + ", got \"" + v + "\"");
  return static_cast<std::size_t>(n);
}

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(f + " needs a value");
      return argv[++i];
    };
    if (f == "--help" || f == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else if (f == "--model") {
      a.model = value();
    } else if (f == "--tokenizer-dir") {
      a.options.tokenizer_dir = value();
    } else if (f == "--threads") {
      a.options.threads = parse_count(f, value(), 1);
    } else if (f == "--input") {
      a.input = value();
    } else if (f == "--output") {
      a.output = value();
    } else if (f == "--emit-ids") {
      a.emit_ids = true;
    } else if (f == "--max-tokens") {
      a.options.max_tokens = parse_count(f, value(), 1);
    } else if (f == "--truncate-left") {
      a.options.truncation = urm::Truncation::Left;
    } else if (f == "--single-bos") {
      a.options.bos_policy = urm::BosPolicy::Single;
    } else if (f == "--mode") {
      const std::string m = value();
      try {
        a.options.compute = urm::parse_compute_mode(m);
      } catch (const urm::Error&) {
        usage_error("--mode expects " + urm::compute_mode_names(" or ") + ", got \"" + m + "\"");
      }
    } else if (f == "--stats") {
      a.stats = true;
    } else {
      usage_error("unknown argument \"" + f + "\"");
    }
  }
  return a;
}

std::size_t count_lines(const std::string& path) {
  std::ifstream f(path);
  std::size_t n = 0;
  std::string line;
  while (std::getline(f, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) ++n;
  return n;
}

// "[=========>          ] 12/40" on one line of standard error, or "12 lines"
// when the number of lines is not known in advance (standard input).
void progress(std::size_t done, std::optional<std::size_t> total) {
  if (!total) {
    std::fprintf(stderr, "\r%zu lines", done);
  } else {
    constexpr std::size_t width = 30;
    const std::size_t fill = *total ? std::min(done, *total) * width / *total : width;
    std::string bar(fill, '=');
    if (fill < width) bar += '>' + std::string(width - fill - 1, ' ');
    std::fprintf(stderr, "\r[%s] %zu/%zu", bar.c_str(), done, *total);
  }
  std::fflush(stderr);
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv);
  const bool demo = !args.model;
  if (demo) {
    args.model = URM_DEMO_MODEL_DIR;
    std::cerr << "urm-score: no --model given, using the bundled demo model (" << *args.model
              << "). Its weights are random: its rewards are meaningless. Pass --model DIR to score with a real "
                 "reward model.\n";
  }

  std::ifstream in_file;
  std::istream* in = &std::cin;
  std::optional<std::size_t> total;  // lines to score, when known (for the progress bar)
  if (args.input != "-") {
    in_file.open(args.input);
    if (!in_file) {
      std::cerr << "urm-score: cannot open input " << args.input << "\n";
      return 2;
    }
    in = &in_file;
    total = count_lines(args.input);
  }
  std::ofstream out_file;
  std::ostream* out = &std::cout;
  if (args.output != "-") {
    out_file.open(args.output);
    if (!out_file) {
      std::cerr << "urm-score: cannot open output " << args.output << "\n";
      return 2;
    }
    out = &out_file;
  }

  std::optional<urm::RewardModel> rm;
  try {
    rm.emplace(urm::RewardModel::load(*args.model, args.options));
  } catch (const urm::Error& e) {
    std::cerr << "urm-score: " << e.what() << "\n";
    if (demo) std::cerr << "urm-score: the demo model is made by scripts/setup (scripts/make-demo-model)\n";
    return 1;
  }

  // Only for a person watching, and only when there is more than one line.
  const bool show_progress = ::isatty(STDERR_FILENO) && (!total || *total > 1);
  bool progress_shown = false;
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> first_start;
  Clock::time_point last_end{};
  std::size_t line_no = 0, done = 0, failed = 0, scored = 0, tokens = 0;
  std::string line;
  while (std::getline(*in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::ordered_json result;
    try {
      const urm::ScoreInput input = urm::parse_score_input(line);
      const auto start = Clock::now();
      if (!first_start) first_start = start;
      const std::vector<std::int32_t> ids = urm::score_input_ids(*rm, input);
      const urm::Score s = rm->score_ids(ids);
      last_end = Clock::now();
      result = urm::score_to_json(s);
      if (args.emit_ids) {
        // The ids the model read (the end of the input if it was truncated).
        result["input_ids"] = std::vector<std::int32_t>(ids.end() - static_cast<std::ptrdiff_t>(s.n_tokens), ids.end());
      }
      ++scored;
      tokens += s.n_tokens;
    } catch (const urm::Error& e) {
      result = {{"error", "line " + std::to_string(line_no) + ": " + e.what()}};
      ++failed;
    }
    *out << urm::json_line(result) << '\n' << std::flush;
    ++done;
    if (show_progress && (total || done > 1)) {
      progress(done, total);
      progress_shown = true;
    }
  }
  if (progress_shown) std::fputc('\n', stderr);

  if (args.stats) {
    const double secs = first_start && scored ? std::chrono::duration<double>(last_end - *first_start).count() : 0.0;
    std::fprintf(stderr, "scored %zu inputs, %zu tokens in %.3f s, %.1f tokens/s\n", scored, tokens, secs,
                 secs > 0 ? static_cast<double>(tokens) / secs : 0.0);
    // Which path the projections took (fast mode's depends on the CPU: urm-inspect --cpu).
    const urm::kernels::LinearPath& path = rm->model().path();
    std::fprintf(stderr, "%s mode, matmul path %s (%s)\n",
                 std::string(urm::compute_mode_name(args.options.compute)).c_str(),
                 urm::kernels::linear_path_name(path).c_str(), urm::kernels::linear_path_description(path).c_str());
  }
  if (failed) std::cerr << "urm-score: " << failed << " of " << done << " lines failed\n";
  return failed ? 1 : 0;
}
