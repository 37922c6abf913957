// urm-serve — a reward model as an HTTP server that RL frameworks call
// unchanged: OpenRLHF's /get_reward, vLLM's /classify and /pooling, SGLang's
// /v1/embeddings and /classify, urm.cpp's own /v1/score, and /health,
// /v1/models, /metrics (include/urm/serve/http_server.hpp, reward_api.hpp).
//
// Requests in flight share the compute threads, are served fairly (clients
// take turns, first come first served) and reuse the K/V of prefixes scored
// before (an automatic prefix cache, bitwise-identical scores).
//
// It prints one line on standard output when it is ready,
//   urm-serve: listening on http://HOST:PORT
// and on SIGINT or SIGTERM stops accepting, answers every request it has
// accepted, and exits 0. Without --model it serves the bundled demo model.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "command_line.hpp"
#include "urm/core/thread_pool.hpp"
#include "urm/model/reward_model.hpp"
#include "urm/serve/http_server.hpp"

#ifndef URM_DEMO_MODEL_DIR
#define URM_DEMO_MODEL_DIR ".cache/demo-model"
#endif

namespace {

constexpr const char* kUsage =
    "usage: urm-serve [--model DIR] [--host ADDR] [--port N] [--threads N] [--mode exact|fast|int8]\n"
    "                 [--tokenizer-dir DIR] [--single-bos] [--max-tokens N] [--truncate-left]\n"
    "                 [--api-key KEY] [--max-body-mb N] [--queue N] [--prefix-cache-mb N]\n"
    "                 [--served-model-name NAME] [--date YYYY-MM-DD]\n"
    "\n"
    "Serves a reward model over HTTP: POST /get_reward (OpenRLHF), /classify and /pooling (vLLM),\n"
    "/v1/embeddings and /classify with \"text\" (SGLang), /v1/score (all of urm-score's fields);\n"
    "GET /health, /v1/models, /metrics.\n"
    "\n"
    "  --model DIR              Hugging Face checkpoint folder (default: the bundled demo model, whose\n"
    "                           random weights make its rewards meaningless)\n"
    "  --host ADDR              address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)\n"
    "  --port N                 port (default 8000; 0 = any free port, printed when ready)\n"
    "  --threads N              compute threads (default: all cores)\n"
    "  --mode exact|fast|int8\n"
    "                           float32 arithmetic (default), bf16 (fast) or int8 kernels\n"
    "  --tokenizer-dir DIR      folder with tokenizer.json and tokenizer_config.json (default: the model's)\n"
    "  --single-bos             texts and chats get one <|begin_of_text|> (default: the model card's\n"
    "                           pipeline, which adds the post-processor's)\n"
    "  --max-tokens N           longest input accepted (default: max_position_embeddings)\n"
    "  --truncate-left          keep the last max-tokens tokens of a longer input instead of a 400\n"
    "  --api-key KEY            require \"Authorization: Bearer KEY\" (default: $URM_SERVE_API_KEY, else none)\n"
    "  --max-body-mb N          largest request body, MiB (default 64; larger gets 413)\n"
    "  --queue N                requests in flight at most (default 1024; more get 503)\n"
    "  --prefix-cache-mb N      K/V of scored prefixes kept, MiB (default 2048; 0 = no prefix cache)\n"
    "  --served-model-name NAME the model's name in answers (default: the model folder's name)\n"
    "  --date YYYY-MM-DD        the date a chat template's strftime_now() prints (default: today, so a\n"
    "                           template that prints the date gives scores that depend on the day)\n";

[[noreturn]] void usage_error(const std::string& msg) {
  std::cerr << "urm-serve: " << msg << "\n\n" << kUsage;
  std::exit(2);
}

std::size_t parse_count(const std::string& flag, const std::string& v, std::size_t min, std::size_t max) {
  if (const auto n = urm::cli::whole_number(v, min, max)) return *n;
  usage_error(urm::cli::expects_whole_number(flag, v, min, max));
}

struct Args {
  std::optional<std::string> model;
  urm::RewardModel::Options model_options;
  urm::RewardServerOptions server;
  bool api_key_given = false;
};

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
    } else if (f == "--host") {
      a.server.host = value();
    } else if (f == "--port") {
      a.server.port = static_cast<int>(parse_count(f, value(), 0, 65535));
    } else if (f == "--threads") {
      a.model_options.threads = parse_count(f, value(), 1, urm::ThreadPool::kMaxThreads);
    } else if (f == "--mode") {
      const std::string m = value();
      const auto mode = urm::cli::compute_mode(m);
      if (!mode) usage_error(urm::cli::expects_compute_mode(m));
      a.model_options.compute = *mode;
    } else if (f == "--tokenizer-dir") {
      a.model_options.tokenizer_dir = value();
    } else if (f == "--single-bos") {
      a.model_options.bos_policy = urm::BosPolicy::Single;
    } else if (f == "--max-tokens") {
      a.model_options.max_tokens = parse_count(f, value(), 1, 1'000'000'000);
    } else if (f == "--truncate-left") {
      a.model_options.truncation = urm::Truncation::Left;
    } else if (f == "--api-key") {
      a.server.api_key = value();
      a.api_key_given = true;
      if (a.server.api_key.empty()) usage_error("--api-key needs a non-empty key");
    } else if (f == "--max-body-mb") {
      a.server.max_body_bytes = parse_count(f, value(), 1, 1 << 20) << 20;
    } else if (f == "--queue") {
      a.server.max_requests = parse_count(f, value(), 1, 1'000'000);
    } else if (f == "--prefix-cache-mb") {
      a.server.prefix_cache_bytes = parse_count(f, value(), 0, std::size_t{1} << 30) << 20;
    } else if (f == "--served-model-name") {
      a.server.served_model_name = value();
    } else if (f == "--date") {
      a.model_options.date = value();
      if (!urm::cli::valid_date(a.model_options.date)) usage_error(urm::cli::expects_date(a.model_options.date));
    } else {
      usage_error("unknown argument \"" + f + "\"");
    }
  }
  if (!a.api_key_given)
    if (const char* k = std::getenv("URM_SERVE_API_KEY"); k && *k) a.server.api_key = k;
  return a;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse_args(argc, argv);
  const bool demo = !args.model;
  if (demo) {
    args.model = URM_DEMO_MODEL_DIR;
    std::cerr << "urm-serve: no --model given, serving the bundled demo model (" << *args.model
              << "). Its weights are random: its rewards are meaningless.\n";
  }

  // A client that goes away must not kill the server with SIGPIPE; SIGINT and
  // SIGTERM are taken by one thread with sigwait (blocked in every other
  // thread, so none is interrupted mid-request).
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<urm::RewardServer> server;
  int port = 0;
  try {
    auto model = std::make_shared<const urm::RewardModel>(urm::RewardModel::load(*args.model, args.model_options));
    server = std::make_unique<urm::RewardServer>(std::move(model), args.server);
    port = server->bind();
  } catch (const urm::Error& e) {
    std::cerr << "urm-serve: " << e.what() << "\n";
    if (demo) std::cerr << "urm-serve: the demo model is made by scripts/setup (scripts/make-demo-model)\n";
    return 1;
  }

  std::atomic<bool> run_returned{false};
  std::thread signals([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    if (run_returned) return;  // woken below: the server stopped by itself
    std::cerr << "urm-serve: " << (sig == SIGINT ? "SIGINT" : "SIGTERM")
              << ": no new connections; answering the requests in flight\n";
    server->stop();
  });

  std::cout << "urm-serve: listening on http://" << args.server.host << ":" << port << std::endl;
  server->run();
  if (!run_returned.exchange(true)) pthread_kill(signals.native_handle(), SIGTERM);  // wakes its sigwait
  signals.join();
  std::cerr << "urm-serve: stopped; " << server->accepted() << " requests accepted, " << server->answered()
            << " answered\n";
  return 0;
}
