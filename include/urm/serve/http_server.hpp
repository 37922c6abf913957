// RewardServer — a reward model behind HTTP, with the endpoints RL
// frameworks call (reward_api.hpp), a fair scheduler over shared compute
// threads (fair_scheduler.hpp) and an automatic prefix cache
// (cached_scorer.hpp). The program is tools/urm-serve.cpp.
//
// Transport: cpp-httplib (Debian's libcpp-httplib-dev, a compiled library:
// link it through its pkg-config file `cpp-httplib`, whose flags define
// CPPHTTPLIB_OPENSSL_SUPPORT etc. so that the declarations here match the
// library). This is the one header of urm.cpp that needs it.
//
// Threads. Each connection is served by a connection thread (at most
// max_connections, started as needed; connections beyond them wait in the
// kernel's accept queue, so nothing grows without bound). A connection
// thread reads the request, tokenizes it and waits for its scores; the
// scheduler's workers do the scoring with the model's compute threads.
//
// Errors. Every error answer is {"error": {"message", "type", "code"}}:
//   400 BadRequestError        malformed JSON, a missing field or one of the wrong type (named),
//                              an input that cannot be scored (named with its index)
//   401 AuthenticationError    api_key set and no "Authorization: Bearer <key>" with it (GET /health is open)
//   404 NotFoundError          a path the server does not have
//   405 MethodNotAllowedError  a path it has, with another method (Allow: says which)
//   413 PayloadTooLargeError   a body over max_body_bytes
//   503 ServiceUnavailableError  max_requests already in flight (Retry-After: 1), or shutting down
//   500 InternalServerError    anything else (a bug: the message says what)
//
// Shutdown. stop() (urm-serve calls it on SIGINT/SIGTERM) closes the listening
// socket; every request already read is scored and answered, then run()
// returns. The server opens no file named in a request: it serves no files
// and reads nothing but the model and tokenizer folders given at start.
#pragma once

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include "urm/core/error.hpp"
#include "urm/model/reward_model.hpp"
#include "urm/serve/cached_scorer.hpp"
#include "urm/serve/fair_scheduler.hpp"
#include "urm/serve/reward_api.hpp"
#include "urm/serve/server_metrics.hpp"

namespace urm {

struct RewardServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;                            // 0: any free port (bind() says which)
  std::string api_key;                        // empty: no authentication
  std::size_t max_body_bytes = 64u << 20;     // larger bodies get 413
  std::size_t max_requests = 1024;            // in flight (queued or being scored); more get 503
  std::size_t prefix_cache_bytes = std::size_t{2048} << 20;  // 0: no prefix cache
  std::string served_model_name;              // empty: the model folder's name
  std::size_t workers = 1;                    // scheduler workers (each uses the model's compute threads)
  std::size_t max_connections = 0;            // connection threads; 0: max_requests + 64
};

namespace http_detail {

// Connection threads for httplib: started when a connection finds none idle,
// at most max_threads; enqueue() blocks while max_waiting connections wait,
// which stops the accept loop (back-pressure into the kernel's queue).
// shutdown() serves every connection already accepted, then joins.
class ConnectionThreads : public httplib::TaskQueue {
 public:
  ConnectionThreads(std::size_t max_threads, std::size_t max_waiting)
      : max_threads_(std::max<std::size_t>(1, max_threads)), max_waiting_(std::max<std::size_t>(1, max_waiting)) {
    start_thread();  // at least one, or nothing would ever run
  }
  ~ConnectionThreads() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    std::unique_lock lock(mutex_);
    room_.wait(lock, [&] { return jobs_.size() < max_waiting_; });
    jobs_.push_back(std::move(fn));
    // More connections waiting than idle threads to take them: one more thread.
    if (jobs_.size() > idle_ && threads_.size() < max_threads_) {
      lock.unlock();
      start_thread();
    } else {
      lock.unlock();
      work_.notify_one();
    }
  }

  void shutdown() override {
    {
      std::lock_guard lock(mutex_);
      if (shut_) return;
      shut_ = true;
    }
    work_.notify_all();
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      threads.swap(threads_);
    }
    for (auto& t : threads) t.join();
  }

 private:
  void start_thread() {
    std::lock_guard lock(mutex_);
    try {
      threads_.emplace_back([this] { loop(); });
    } catch (const std::system_error&) {
      // Out of threads: the ones running take the work.
    }
  }

  void loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock lock(mutex_);
        ++idle_;
        work_.wait(lock, [&] { return shut_ || !jobs_.empty(); });
        --idle_;
        if (jobs_.empty()) return;  // shut down and nothing left
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      room_.notify_one();
      job();
    }
  }

  std::size_t max_threads_, max_waiting_;
  std::mutex mutex_;
  std::condition_variable work_, room_;
  std::deque<std::function<void()>> jobs_;
  std::vector<std::thread> threads_;
  std::size_t idle_ = 0;
  bool shut_ = false;
};

// Equal strings, in time that depends on their lengths only (not on where they differ).
inline bool constant_time_equal(std::string_view a, std::string_view b) {
  const std::size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = static_cast<unsigned char>(diff | (x ^ y));
  }
  return diff == 0;
}

inline std::string dump(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace http_detail

class RewardServer {
 public:
  using Options = RewardServerOptions;

  // The routes: path, method, and whether it scores.
  struct Route {
    std::string path;
    std::string method;
    std::optional<ApiEndpoint> endpoint;  // scoring routes
  };

  RewardServer(std::shared_ptr<const RewardModel> model, Options options)
      : options_(std::move(options)),
        scorer_(std::move(model), options_.prefix_cache_bytes),
        scheduler_([this](const FairScheduler::Ids& ids) { return scorer_.score_ids(ids); },
                   {.workers = options_.workers, .max_requests = options_.max_requests}),
        metrics_(paths()),
        started_(unix_time_now()) {
    if (options_.served_model_name.empty()) {
      std::filesystem::path dir(scorer_.model().checkpoint().dir());
      if (dir.filename().empty()) dir = dir.parent_path();  // "model/" names "model"
      options_.served_model_name = dir.filename().string();
    }
    setup();
  }
  RewardServer(const RewardServer&) = delete;
  RewardServer& operator=(const RewardServer&) = delete;
  ~RewardServer() { stop(); }

  static const std::vector<Route>& routes() {
    static const std::vector<Route> r = {
        {"/health", "GET", std::nullopt},
        {"/v1/models", "GET", std::nullopt},
        {"/metrics", "GET", std::nullopt},
        {"/get_reward", "POST", ApiEndpoint::GetReward},
        {"/classify", "POST", ApiEndpoint::Classify},
        {"/pooling", "POST", ApiEndpoint::Pooling},
        {"/v1/embeddings", "POST", ApiEndpoint::Embeddings},
        {"/v1/score", "POST", ApiEndpoint::Score},
    };
    return r;
  }

  // Binds the listening socket; returns its port. Throws urm::Error if it cannot.
  int bind() {
    const int port = options_.port == 0 ? server_.bind_to_any_port(options_.host)
                                        : (server_.bind_to_port(options_.host, options_.port) ? options_.port : -1);
    if (port < 0)
      throw Error("cannot listen on " + options_.host + ":" + std::to_string(options_.port) +
                  " (the address is in use, or not one of this machine's)");
    // httplib listens with a backlog of 5 (compiled into the library): a
    // burst of clients then overflows the kernel's accept queue, and some
    // connections are reset. Listening again sets a larger one (Linux).
    if (listen_socket_ >= 0) ::listen(listen_socket_, SOMAXCONN);
    port_ = port;
    return port;
  }

  // Serves until stop(), then answers every request already read and returns.
  void run() {
    if (port_ < 0) bind();
    server_.listen_after_bind();
    scheduler_.drain();
  }

  // Stops accepting connections (thread-safe; run() then winds down).
  void stop() { server_.stop(); }

  int port() const { return port_; }
  const std::string& served_model_name() const { return options_.served_model_name; }
  const Options& options() const { return options_; }
  // Requests handed to the scheduler, and those of them answered.
  std::uint64_t accepted() const { return accepted_.load(); }
  std::uint64_t answered() const { return answered_.load(); }
  const CachedScorer& scorer() const { return scorer_; }

 private:
  static std::vector<std::string> paths() {
    std::vector<std::string> p;
    for (const Route& r : routes()) p.push_back(r.path);
    return p;
  }

  static void send_error(httplib::Response& res, int status, std::string_view type, std::string_view message) {
    res.status = status;
    res.set_content(http_detail::dump(api_error(status, type, message)), "application/json");
  }

  static const char* error_type(int status) {
    switch (status) {
      case 400: return "BadRequestError";
      case 401: return "AuthenticationError";
      case 404: return "NotFoundError";
      case 405: return "MethodNotAllowedError";
      case 408: return "RequestTimeoutError";
      case 413: return "PayloadTooLargeError";
      case 414: return "URITooLongError";
      case 503: return "ServiceUnavailableError";
      default: return status < 500 ? "BadRequestError" : "InternalServerError";
    }
  }

  void setup() {
    const std::size_t max_conn =
        options_.max_connections ? options_.max_connections : options_.max_requests + 64;
    server_.new_task_queue = [max_conn] { return new http_detail::ConnectionThreads(max_conn, 64); };
    server_.set_payload_max_length(options_.max_body_bytes);
    // SO_REUSEADDR only: httplib's default adds SO_REUSEPORT, with which a
    // second server on the same port would start and silently take half the
    // connections instead of failing.
    server_.set_socket_options([this](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
      listen_socket_ = sock;
    });

    // Before the body is read: unknown paths, wrong methods, authentication.
    server_.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      const Route* route = nullptr;
      std::string allow;
      for (const Route& r : routes()) {
        if (r.path != req.path) continue;
        allow = r.method;
        if (r.method == req.method || (r.method == "GET" && req.method == "HEAD")) route = &r;
      }
      if (!route) {
        if (allow.empty()) {
          send_error(res, 404, "NotFoundError", "no endpoint " + req.path);
        } else {
          res.set_header("Allow", allow);
          send_error(res, 405, "MethodNotAllowedError",
                     req.method + " is not allowed on " + req.path + " (use " + allow + ")");
        }
      } else if (!options_.api_key.empty() && route->path != "/health" && !authorized(req)) {
        res.set_header("WWW-Authenticate", "Bearer");
        send_error(res, 401, "AuthenticationError",
                   "missing or wrong API key (send the header \"Authorization: Bearer <key>\")");
      } else {
        return httplib::Server::HandlerResponse::Unhandled;
      }
      res.set_header("Connection", "close");  // the body (if any) was not read
      metrics_.count_request(req.path, res.status);
      return httplib::Server::HandlerResponse::Handled;
    });

    // Statuses httplib sets itself (413 for a body over the limit, 400 for a
    // request it cannot parse, 414 …) get the JSON error body too.
    server_.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request& req,
                                                                           httplib::Response& res) {
      if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
      std::string message = "request failed";
      if (res.status == 413)
        message = "the request body is larger than the limit of " + std::to_string(options_.max_body_bytes) +
                  " bytes (--max-body-mb)";
      else if (res.status == 400)
        message = "malformed HTTP request";
      else if (res.status == 414)
        message = "the request target is too long";
      send_error(res, res.status, error_type(res.status), message);
      metrics_.count_request(req.path, res.status);
      return httplib::Server::HandlerResponse::Handled;
    }));

    server_.set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr e) {
      std::string what = "unknown error";
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& x) {
        what = x.what();
      } catch (...) {
      }
      send_error(res, 500, "InternalServerError", what);
      metrics_.count_request(req.path, 500);
    });

    server_.Get("/health", [this](const httplib::Request& req, httplib::Response& res) {
      res.status = 200;
      metrics_.count_request(req.path, 200);
    });
    server_.Get("/v1/models", [this](const httplib::Request& req, httplib::Response& res) {
      // The OpenAI model list (vLLM adds root, parent and max_model_len).
      nlohmann::ordered_json m = {{"id", options_.served_model_name},
                                  {"object", "model"},
                                  {"created", started_},
                                  {"owned_by", "urm.cpp"},
                                  {"root", options_.served_model_name},
                                  {"parent", nullptr},
                                  {"max_model_len", scorer_.model().max_tokens()}};
      res.set_content(http_detail::dump({{"object", "list"}, {"data", {m}}}), "application/json");
      metrics_.count_request(req.path, 200);
    });
    server_.Get("/metrics", [this](const httplib::Request& req, httplib::Response& res) {
      metrics_.count_request(req.path, 200);
      res.set_content(metrics_.prometheus(scorer_.cache().stats(), scheduler_.queued_inputs(), scheduler_.in_flight()),
                      "text/plain; version=0.0.4");
    });
    for (const Route& r : routes())
      if (r.endpoint)
        server_.Post(r.path, [this, ep = *r.endpoint](const httplib::Request& req, httplib::Response& res) {
          score_request(ep, req, res);
        });
  }

  bool authorized(const httplib::Request& req) const {
    const std::string h = req.get_header_value("Authorization");
    constexpr std::string_view bearer = "Bearer ";
    const std::string_view token = h.size() >= bearer.size() && std::string_view(h).substr(0, bearer.size()) == bearer
                                       ? std::string_view(h).substr(bearer.size())
                                       : std::string_view();
    return http_detail::constant_time_equal(token, options_.api_key);
  }

  void score_request(ApiEndpoint endpoint, const httplib::Request& req, httplib::Response& res) {
    using Clock = std::chrono::steady_clock;
    const auto start = Clock::now();
    const auto finish = [&](int status) {
      metrics_.count_request(req.path, status);
      metrics_.observe_latency(req.path, std::chrono::duration<double>(Clock::now() - start).count());
    };
    const auto unavailable = [&] {
      res.set_header("Retry-After", "1");
      send_error(res, 503, "ServiceUnavailableError",
                 "the server has " + std::to_string(options_.max_requests) +
                     " requests in flight (--queue) or is shutting down; retry later");
      finish(503);
    };
    if (scheduler_.full()) return unavailable();  // before the work of parsing
    ApiRequest request;
    std::vector<std::vector<std::int32_t>> ids;
    try {
      request = parse_api_request(endpoint, req.body);
      ids = api_input_ids(scorer_.model(), request);
    } catch (const Error& e) {
      send_error(res, 400, "BadRequestError", e.what());
      return finish(400);
    }
    auto future = scheduler_.submit(req.remote_addr, std::move(ids));
    if (!future) return unavailable();
    ++accepted_;
    std::vector<Score> scores;
    try {
      scores = future->get();
    } catch (const std::exception& e) {
      ++answered_;
      send_error(res, 500, "InternalServerError", e.what());
      return finish(500);
    }
    std::size_t tokens = 0;
    for (const Score& s : scores) tokens += s.n_tokens;
    metrics_.add_scored(scores.size(), tokens);
    const char* prefix = endpoint == ApiEndpoint::Pooling ? "pool" : endpoint == ApiEndpoint::Embeddings ? "embd" : "classify";
    const ApiResponseInfo info{api_request_id(prefix), unix_time_now(), options_.served_model_name};
    res.set_content(http_detail::dump(api_response(request, scores, info)), "application/json");
    ++answered_;
    finish(200);
  }

  Options options_;
  CachedScorer scorer_;
  FairScheduler scheduler_;  // after scorer_: its workers finish before the scorer goes
  ServerMetrics metrics_;
  std::int64_t started_;
  int port_ = -1;
  int listen_socket_ = -1;  // set by the socket options hook when httplib creates it
  std::atomic<std::uint64_t> accepted_{0}, answered_{0};
  httplib::Server server_;  // last: destroyed first (run() has joined its connection threads)
};

}  // namespace urm
