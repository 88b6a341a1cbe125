#include "tests/util/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace sam2 {

int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  timeval timeout = {kHttpClientTimeoutSeconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::optional<std::string> DecodeChunked(absl::string_view body) {
  std::string out;
  while (true) {
    const size_t line_end = body.find("\r\n");
    if (line_end == absl::string_view::npos) return std::nullopt;
    size_t size = 0;
    if (!absl::SimpleHexAtoi(body.substr(0, line_end), &size)) {
      return std::nullopt;
    }
    body.remove_prefix(line_end + 2);
    if (size == 0) return body == "\r\n" ? std::optional(out) : std::nullopt;
    if (body.size() < size + 2 || body.substr(size, 2) != "\r\n") {
      return std::nullopt;
    }
    out.append(body.data(), size);
    body.remove_prefix(size + 2);
  }
}

HttpReply HttpExchange(int port, absl::string_view raw) {
  HttpReply result;
  const int fd = ConnectLoopback(port);
  if (fd < 0) {
    result.error = absl::StrCat("connect to port ", port, " failed");
    return result;
  }
  size_t sent = 0;
  while (sent < raw.size()) {
    const ssize_t n = send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may answer (413) before reading it all
    sent += static_cast<size_t>(n);
  }
  std::string reply;
  char buf[16384];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) reply.append(buf, n);
  close(fd);

  const size_t end_of_headers = reply.find("\r\n\r\n");
  if (end_of_headers == std::string::npos) {
    result.error = absl::StrCat("malformed reply: ", reply);
    return result;
  }
  result.body = reply.substr(end_of_headers + 4);
  std::vector<std::string> lines =
      absl::StrSplit(reply.substr(0, end_of_headers), "\r\n");
  // "HTTP/1.1 200 OK"
  std::vector<std::string> status_line = absl::StrSplit(lines[0], ' ');
  if (!absl::StartsWith(lines[0], "HTTP/1.") || status_line.size() < 2 ||
      !absl::SimpleAtoi(status_line[1], &result.status)) {
    result.status = 0;
    result.error = absl::StrCat("bad status line: ", lines[0]);
    return result;
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    result.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  return result;
}

HttpReply HttpGet(int port, absl::string_view path, absl::string_view method) {
  return HttpExchange(port, absl::StrCat(method, " ", path, " HTTP/1.0\r\n\r\n"));
}

HttpReply HttpPost(int port, absl::string_view path, absl::string_view body,
                   absl::string_view content_type,
                   absl::string_view extra_headers) {
  return HttpExchange(
      port, absl::StrCat("POST ", path, " HTTP/1.0\r\nContent-Type: ",
                         content_type, "\r\nContent-Length: ", body.size(),
                         "\r\n", extra_headers, "\r\n", body));
}

}  // namespace sam2
