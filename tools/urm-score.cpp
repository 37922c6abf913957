// urm-score — score conversations (or token ids) with a reward model, JSON
// Lines in, JSON Lines out.
//
// Each input line is {"messages": [{"role": …, "content": …}, …]},
// {"input_ids": [...]} or {"text": "…"}; each output line is, in order,
//   {"reward": r, "reward_variance": v, "attributes": [{"name", "mean",
//    "log_std"}, …], "weights": [...], "n_tokens": n}   (+ "input_ids" with --emit-ids)
// or {"error": "line N: …"} for a line that could not be scored; the others
// continue. Blank lines are skipped.
//
// Every non-blank line is answered, whatever it holds (a line longer than
// --max-line-bytes included). Exit status: 0 if every line was scored, 1 if
// any failed, 2 on a fatal error, after which no more lines are read: bad
// arguments, an input or output that cannot be opened (a directory, the same
// file as both), a model that does not load, a read or write that fails (a
// full disk, a reader that closed the pipe: SIGPIPE is ignored). See README
// "Reliability".
//
// Lines that start like an earlier line (the responses of one prompt) reuse
// its K/V through a prefix cache (serve/cached_scorer.hpp, --prefix-cache-mb):
// only the rest of the line runs, and the output is bitwise the same.
//
// Without --model it scores with the bundled demo model (the tiny-urm-llama3
// test fixture, made by scripts/setup in .cache/demo-model): its weights are
// random, so its rewards mean nothing.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "urm/core/regular_file.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/kernels/linear_dispatch.hpp"
#include "urm/model/reward_model.hpp"
#include "urm/serve/cached_scorer.hpp"
#include "urm/serve/line_stream.hpp"
#include "urm/serve/score_json.hpp"

#ifndef URM_DEMO_MODEL_DIR
#define URM_DEMO_MODEL_DIR ".cache/demo-model"
#endif

namespace {

constexpr const char* kUsage =
    "usage: urm-score [--model DIR] [--tokenizer-dir DIR] [--threads N] [--input FILE|-] [--output FILE|-]\n"
    "                 [--emit-ids] [--max-tokens N] [--truncate-left] [--bos card|single] [--mode exact|fast|int8]\n"
    "                 [--date YYYY-MM-DD] [--max-line-bytes N] [--stats] [--prefix-cache-mb N] [--samples N [--seed S]]\n"
    "\n"
    "Reads JSON Lines, one input per line: {\"messages\": [{\"role\": ..., \"content\": ...}, ...]} (with\n"
    "optional \"tools\", \"documents\", \"chat_template_kwargs\" and any message fields), {\"input_ids\": [...]}\n"
    "or {\"text\": \"...\"} (a string already in the chat format, tokenized with the model card's pipeline).\n"
    "Writes one JSON object per input line, in order: the reward, its variance,\n"
    "the per-attribute mean and log-std (no log-std for heads without uncertainty), the attribute\n"
    "weights and the number of tokens, or\n"
    "{\"error\": ...} for a line that failed. Exit status 0 if every line was scored, 1 if any failed,\n"
    "2 on a fatal error (bad arguments, input or output unusable, model not loaded, a read or write failed).\n"
    "\n"
    "  --model DIR          Hugging Face checkpoint folder (default: the bundled demo model, whose\n"
    "                       random weights make its rewards meaningless)\n"
    "  --tokenizer-dir DIR  folder with tokenizer.json and tokenizer_config.json (default: the model's)\n"
    "  --threads N          compute threads, at most 1024 (default: all cores)\n"
    "  --input FILE|-       input (default: - = standard input)\n"
    "  --output FILE|-      output (default: - = standard output)\n"
    "  --emit-ids           add the scored \"input_ids\" to each result\n"
    "  --max-tokens N       longest input accepted (default: max_position_embeddings)\n"
    "  --truncate-left      keep the last max-tokens tokens of a longer input instead of failing\n"
    "  --bos card|single    the token pipeline: card (default) = the model card's for the model's family\n"
    "                       (URM: two <|begin_of_text|>; Skywork-Reward-V2: the template's removed, one added;\n"
    "                       ArmoRM, INF-ORM: apply_chat_template's ids), single = apply_chat_template's ids\n"
    "  --single-bos         the same as --bos single\n"
    "  --mode exact|fast|int8\n"
    "                       float32 arithmetic (default), bf16 (fast) or int8 kernels\n"
    "  --date YYYY-MM-DD    the date a chat template's strftime_now() prints (default: today, so a\n"
    "                       template that prints the date gives scores that depend on the day)\n"
    "  --max-line-bytes N   longest input line read (default: 16777216, 16 MiB); a longer one gets an error\n"
    "  --stats              print throughput to standard error at the end\n"
    "  --prefix-cache-mb N  keep the K/V of scored lines, at most N MiB, so lines that start like an\n"
    "                       earlier one run only the rest (default 1024; 0 = off; scores are unchanged)\n"
    "  --samples N          add \"reward_samples\": N seeded draws from the reward's distribution\n"
    "  --seed S             the k-th scored line (from 0) draws with seed S + k (default 0)\n";

struct Args {
  std::optional<std::string> model;
  urm::RewardModel::Options options;
  std::string input = "-", output = "-";
  std::size_t max_line_bytes = urm::kDefaultMaxLineBytes;
  bool emit_ids = false, stats = false;
  std::size_t prefix_cache_mb = 1024, samples = 0;
  std::uint64_t seed = 0;
};

[[noreturn]] void usage_error(const std::string& msg) {
  std::cerr << "urm-score: " << msg << "\n\n" << kUsage;
  std::exit(2);
}

std::size_t parse_count(const std::string& flag, const std::string& v, std::size_t min, std::size_t max) {
  if (const auto n = urm::cli::whole_number(v, min, max)) return *n;
  usage_error(urm::cli::expects_whole_number(flag, v, min, max));
}

Args parse_args(int argc, char** argv) {
  Args a;
  a.options.names = {"--threads", "--tokenizer-dir", "--max-tokens", "--truncate-left"};
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage_error(f + " needs a value");
      return argv[++i];
    };
    if (f == "--help" || f == "-h") {
      std::cout << kUsage << std::flush;
      std::exit(std::cout ? 0 : 2);
    } else if (f == "--model") {
      a.model = value();
    } else if (f == "--tokenizer-dir") {
      a.options.tokenizer_dir = value();
    } else if (f == "--threads") {
      a.options.threads = parse_count(f, value(), 1, urm::ThreadPool::kMaxThreads);
    } else if (f == "--input") {
      a.input = value();
    } else if (f == "--output") {
      a.output = value();
    } else if (f == "--emit-ids") {
      a.emit_ids = true;
    } else if (f == "--max-tokens") {
      a.options.max_tokens = parse_count(f, value(), 1, 1'000'000'000);
    } else if (f == "--max-line-bytes") {
      a.max_line_bytes = parse_count(f, value(), 1, std::size_t{1} << 40);
    } else if (f == "--truncate-left") {
      a.options.truncation = urm::Truncation::Left;
    } else if (f == "--single-bos") {
      a.options.bos_policy = urm::BosPolicy::Single;
    } else if (f == "--bos") {
      const std::string b = value();
      if (b == "card") a.options.bos_policy.reset();
      else if (b == "single") a.options.bos_policy = urm::BosPolicy::Single;
      else usage_error("--bos expects card or single, got \"" + b + "\"");
    } else if (f == "--mode") {
      const std::string m = value();
      const auto mode = urm::cli::compute_mode(m);
      if (!mode) usage_error(urm::cli::expects_compute_mode(m));
      a.options.compute = *mode;
    } else if (f == "--date") {
      a.options.date = value();
      if (!urm::cli::valid_date(a.options.date)) usage_error(urm::cli::expects_date(a.options.date));
    } else if (f == "--stats") {
      a.stats = true;
    } else if (f == "--prefix-cache-mb") {
      a.prefix_cache_mb = parse_count(f, value(), 0, 1ull << 30);
    } else if (f == "--samples") {
      a.samples = parse_count(f, value(), 1, 100'000);
    } else if (f == "--seed") {
      a.seed = parse_count(f, value(), 0, ~0ull);
    } else {
      usage_error("unknown argument \"" + f + "\"");
    }
  }
  return a;
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

// An input or output of the program: a descriptor (owned unless standard),
// its name in messages and what fstat said of it.
struct Stream {
  urm::FileDescriptor owned;
  int fd = -1;
  std::string name;
  struct stat st {};
};

bool same_regular_file(const struct stat& a, const struct stat& b) {
  return S_ISREG(a.st_mode) && S_ISREG(b.st_mode) && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

Stream open_input(const std::string& path, const urm::StandardStreams& standard) {
  Stream in;
  if (path == "-") {
    if (standard.in_closed) throw urm::Error("standard input is closed");
    in.fd = STDIN_FILENO;
    in.name = "standard input";
  } else {
    // (A FIFO blocks here until it has a writer, as it does for any reader.)
    in.owned = urm::FileDescriptor(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
    if (!in.owned) throw urm::Error("cannot open input " + path + ": " + std::strerror(errno));
    in.fd = in.owned.get();
    in.name = path;
  }
  if (::fstat(in.fd, &in.st) != 0) throw urm::Error("cannot stat " + in.name + ": " + std::strerror(errno));
  if (S_ISDIR(in.st.st_mode)) throw urm::Error(in.name + " is a directory, not JSON Lines");
  return in;
}

// Opened after the input, and refused if it is the input: truncating it
// would lose the input before it is read, appending to it would read the
// results back as input.
Stream open_output(const std::string& path, const urm::StandardStreams& standard, const Stream& in) {
  Stream out;
  if (path == "-") {
    if (standard.out_closed) throw urm::Error("standard output is closed");
    out.fd = STDOUT_FILENO;
    out.name = "standard output";
    if (::fstat(out.fd, &out.st) == 0 && same_regular_file(out.st, in.st))
      throw urm::Error("standard output is the same file as " + in.name + ": the results would be read back as input");
    return out;
  }
  if (::stat(path.c_str(), &out.st) == 0 && same_regular_file(out.st, in.st))
    throw urm::Error("--output " + path + " is the same file as " + in.name +
                     ": writing it would truncate it before it is read");
  out.owned = urm::FileDescriptor(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0666));
  if (!out.owned) throw urm::Error("cannot open output " + path + ": " + std::strerror(errno));
  out.fd = out.owned.get();
  out.name = path;
  return out;
}

// Everything after the arguments; urm::Error (or any exception) from here is fatal.
int run(Args& args, const urm::StandardStreams& standard, std::optional<std::size_t>& answered) {
  const bool demo = !args.model;
  if (demo) {
    args.model = URM_DEMO_MODEL_DIR;
    std::cerr << "urm-score: no --model given, using the bundled demo model (" << *args.model
              << "). Its weights are random: its rewards are meaningless. Pass --model DIR to score with a real "
                 "reward model.\n";
  }
  Stream in = open_input(args.input, standard);
  Stream out = open_output(args.output, standard, in);

  std::shared_ptr<const urm::RewardModel> rm;
  try {
    rm = std::make_shared<const urm::RewardModel>(urm::RewardModel::load(*args.model, args.options));
  } catch (const std::exception& e) {
    std::string message = urm::current_exception_message();
    if (demo) message += "\nurm-score: the demo model is made by scripts/setup (scripts/make-demo-model)";
    throw urm::Error(message);
  }

  const urm::CachedScorer scorer(rm, args.prefix_cache_mb << 20);

  // Only for a person watching, and only when there is more than one line.
  // The lines are counted only then, and only in a regular file (pread: the
  // input is not consumed).
  const bool tty = ::isatty(STDERR_FILENO);
  const std::optional<std::size_t> total = tty ? urm::count_lines(in.fd, args.max_line_bytes) : std::nullopt;
  const bool show_progress = tty && (!total || *total > 1);
  bool progress_shown = false;
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> first_start;
  Clock::time_point last_end{};
  std::size_t line_no = 0, done = 0, failed = 0, scored = 0, tokens = 0;
  answered = 0;
  urm::LineReader reader(in.fd, in.name, args.max_line_bytes);
  urm::LineWriter writer(out.fd, out.name);
  for (std::string line;;) {
    const urm::LineReader::Result got = reader.next(line);
    if (got == urm::LineReader::Result::End) break;
    ++line_no;
    urm::LineResult r;
    if (got == urm::LineReader::Result::TooLong) {
      r.json = urm::line_error(line_no, "longer than the cap of " + std::to_string(args.max_line_bytes) +
                                            " bytes (--max-line-bytes)");
    } else if (got == urm::LineReader::Result::OutOfMemory) {
      r.json = urm::line_error(line_no, "out of memory reading the line (lower --max-line-bytes to refuse such lines)");
    } else {
      if (urm::blank_line(line)) continue;
      const auto start = Clock::now();
      r = urm::score_line(*rm, scorer, line, line_no,
                          urm::LineOptions{.emit_ids = args.emit_ids, .samples = args.samples, .seed = args.seed + scored});
      if (r.ok) {
        if (!first_start) first_start = start;
        last_end = Clock::now();
      }
    }
    writer.write_line(urm::json_line(r.json));
    answered = ++done;
    if (r.ok) {
      ++scored;
      tokens += r.n_tokens;
    } else {
      ++failed;
    }
    if (show_progress && (total || done > 1)) {
      progress(done, total);
      progress_shown = true;
    }
  }
  if (progress_shown) std::fputc('\n', stderr);
  if (out.owned && ::close(out.owned.release()) != 0)
    throw urm::Error(out.name + ": cannot close: " + std::strerror(errno));

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

}  // namespace

int main(int argc, char** argv) {
  const urm::StandardStreams standard = urm::prepare_standard_streams();
  Args args = parse_args(argc, argv);
  std::optional<std::size_t> answered;  // lines answered, once the input is being read
  try {
    return run(args, standard, answered);
  } catch (...) {
    std::cerr << "urm-score: " << urm::current_exception_message();
    if (answered) std::cerr << " (" << *answered << " lines answered before it)";
    std::cerr << "\n";
    return 2;
  }
}
