// Test support: a tiny HTTP/1.1 server on 127.0.0.1:0 that answers each connection with the next
// scripted reply (raw bytes, so a test can send a short body or odd headers) and keeps every
// request it received, byte for byte. One request per connection; each reply closes it.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace cairn::testing {

struct ScriptedReply {
  std::string raw;                     // written verbatim, then the connection is closed
  std::chrono::milliseconds delay{0};  // wait before answering (cut short by the destructor)
};

// "HTTP/1.1 <status> X\r\n<headers>Content-Length: <n>\r\nConnection: close\r\n\r\n<body>".
inline ScriptedReply Reply(int status,
                           std::vector<std::pair<std::string, std::string>> headers = {},
                           std::string body = "") {
  std::string raw = "HTTP/1.1 " + std::to_string(status) + " Scripted\r\n";
  for (const auto& [k, v] : headers) raw += k + ": " + v + "\r\n";
  raw += "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  return {raw};
}

// A port on 127.0.0.1 that nothing listens on (bound, then closed).
inline int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return 0;
  }
  close(fd);
  return ntohs(a.sin_port);
}

class ScriptedServer {
 public:
  explicit ScriptedServer(std::vector<ScriptedReply> replies) : replies_(std::move(replies)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        listen(listen_fd_, 16) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
      return;
    }
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    close(listen_fd_);
  }
  ScriptedServer(const ScriptedServer&) = delete;
  ScriptedServer& operator=(const ScriptedServer&) = delete;

  bool ok() const { return port_ != 0; }
  int port() const { return port_; }
  std::string host() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string url() const { return "http://" + host(); }

  // Every request received so far (request line, headers and body), in arrival order.
  std::vector<std::string> requests() const {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }
  // True when a request arrived after the script ran out (it got a 599).
  bool overrun() const { return overrun_; }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      std::string req = ReadRequest(fd);
      size_t n;
      {
        std::lock_guard<std::mutex> l(mu_);
        requests_.push_back(req);
        n = requests_.size() - 1;
      }
      ScriptedReply reply = n < replies_.size() ? replies_[n] : Reply(599);
      if (n >= replies_.size()) overrun_ = true;
      auto until = std::chrono::steady_clock::now() + reply.delay;
      while (!stop_ && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      std::string_view out = reply.raw;
      while (!out.empty()) {
        ssize_t w = send(fd, out.data(), out.size(), MSG_NOSIGNAL);
        if (w <= 0) break;
        out.remove_prefix(static_cast<size_t>(w));
      }
      close(fd);
    }
  }

  // Reads the head and a Content-Length body (5 s at most; the client may have gone).
  static std::string ReadRequest(int fd) {
    std::string data;
    size_t want = std::string::npos;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (data.size() < want && std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      char buf[8192];
      ssize_t r = recv(fd, buf, sizeof buf, 0);
      if (r <= 0) break;
      data.append(buf, static_cast<size_t>(r));
      size_t head_end = data.find("\r\n\r\n");
      if (want == std::string::npos && head_end != std::string::npos) {
        want = head_end + 4 + ContentLength(data.substr(0, head_end));
      }
    }
    return data;
  }

  static size_t ContentLength(std::string head) {
    std::transform(head.begin(), head.end(), head.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    size_t at = head.find("\r\ncontent-length:");
    if (at == std::string::npos) return 0;
    return std::stoul(head.substr(at + 17));
  }

  std::vector<ScriptedReply> replies_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> overrun_{false};
  mutable std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

// The value of header `name` (case-insensitive) in a raw request, or "" when absent.
inline std::string RequestHeader(const std::string& raw, std::string name) {
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  size_t pos = raw.find("\r\n");
  size_t head_end = raw.find("\r\n\r\n");
  while (pos != std::string::npos && pos < head_end) {
    size_t next = raw.find("\r\n", pos + 2);
    std::string line = raw.substr(pos + 2, next - pos - 2);
    size_t colon = line.find(':');
    std::string key = line.substr(0, colon);
    std::transform(key.begin(), key.end(), key.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (colon != std::string::npos && key == name) {
      size_t b = line.find_first_not_of(' ', colon + 1);
      return b == std::string::npos ? "" : line.substr(b);
    }
    pos = next;
  }
  return "";
}

// The request line, "GET /path HTTP/1.1".
inline std::string RequestLine(const std::string& raw) { return raw.substr(0, raw.find("\r\n")); }

// Everything after the blank line.
inline std::string RequestBody(const std::string& raw) {
  size_t e = raw.find("\r\n\r\n");
  return e == std::string::npos ? "" : raw.substr(e + 4);
}

}  // namespace cairn::testing
