// Test certificates made at test time with OpenSSL's API (no files in the
// repository, no `openssl` command): a self-signed CA, server certificates
// it signs for 127.0.0.1 / ::1 / localhost, client certificates for mutual
// TLS. Keys are ECDSA P-256 (fast to generate); everything is PEM.
//
// A second TestCa is "untrusted" for the first one's clients: tests make
// one to check that a certificate from another authority is refused.
//
// Thread-safety: a TestCa is immutable after Create; Issue* may be called
// from any thread. The free functions have no shared state.

#ifndef SAM2_TESTS_UTIL_TEST_CERTS_H_
#define SAM2_TESTS_UTIL_TEST_CERTS_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sam2 {

// A certificate and its private key, PEM.
struct TestKeyPair {
  std::string cert_pem;
  std::string key_pem;
};

class TestCa {
 public:
  // A self-signed CA certificate (CN = `common_name`), valid from an hour
  // ago for a day.
  static TestCa Create(absl::string_view common_name);

  TestCa(TestCa&&) noexcept;
  TestCa& operator=(TestCa&&) noexcept;
  ~TestCa();

  // The CA's certificate (what clients or servers trust), PEM.
  const std::string& cert_pem() const { return self_.cert_pem; }

  // A server certificate: serverAuth, SAN IP:127.0.0.1, IP:::1,
  // DNS:localhost, CN `common_name`.
  TestKeyPair IssueServer(absl::string_view common_name = "localhost") const;
  // A client certificate: clientAuth, CN `common_name`.
  TestKeyPair IssueClient(absl::string_view common_name = "client") const;

 private:
  struct Keys;
  explicit TestCa(std::unique_ptr<Keys> keys, TestKeyPair self);
  TestKeyPair Issue(absl::string_view common_name, bool server) const;

  std::unique_ptr<Keys> keys_;
  TestKeyPair self_;
};

// Writes `contents` to `path` as a new file renamed over the old one, so a
// reader (a certificate watcher) sees either the old or the new contents,
// never a half-written file.
absl::Status ReplaceFile(const std::string& path, absl::string_view contents);

// Where WriteKeyPair put a pair.
struct TestCertFiles {
  std::string cert;
  std::string key;
};

// Writes `pair` as `dir`/`stem`.pem and `dir`/`stem`.key with ReplaceFile,
// the key first (as a renewal is written: a reader that sees the new
// certificate also sees its key). A failed write fails the test.
TestCertFiles WriteKeyPair(const TestKeyPair& pair, absl::string_view dir,
                           absl::string_view stem);

}  // namespace sam2

#endif  // SAM2_TESTS_UTIL_TEST_CERTS_H_
