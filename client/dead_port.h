// DeadPort (tests only): a TCP port on 127.0.0.1 where nothing listens —
// bound by a socket that never listens, so connections are refused at once
// and no other test can take the port while the DeadPort lives. For tests
// of clients facing an unreachable server, without guessing a free port.
//
// Thread-safety: a plain value; the port may be used from any thread.

#ifndef SAM2_CLIENT_DEAD_PORT_H_
#define SAM2_CLIENT_DEAD_PORT_H_

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace sam2 {

class DeadPort {
 public:
  DeadPort() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    if (fd_ >= 0 &&
        bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
  }
  ~DeadPort() {
    if (fd_ >= 0) close(fd_);
  }
  DeadPort(const DeadPort&) = delete;
  DeadPort& operator=(const DeadPort&) = delete;

  // 0 when no port could be bound.
  int port() const { return port_; }
  // "127.0.0.1:<port>".
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

}  // namespace sam2

#endif  // SAM2_CLIENT_DEAD_PORT_H_
