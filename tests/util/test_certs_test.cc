// TestCa: what it issues is what the TLS tests rely on — a server
// certificate that verifies against its own CA (and not another), names
// 127.0.0.1 and localhost, and matches its key; a client certificate for
// clientAuth.

#include "tests/util/test_certs.h"

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

namespace sam2 {
namespace {

struct Parsed {
  std::unique_ptr<X509, decltype(&X509_free)> cert{nullptr, X509_free};
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{nullptr,
                                                          EVP_PKEY_free};
};

Parsed Parse(const TestKeyPair& pair) {
  Parsed p;
  BIO* bio = BIO_new_mem_buf(pair.cert_pem.data(),
                             static_cast<int>(pair.cert_pem.size()));
  p.cert.reset(PEM_read_bio_X509(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  bio = BIO_new_mem_buf(pair.key_pem.data(),
                        static_cast<int>(pair.key_pem.size()));
  p.key.reset(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return p;
}

// Whether `cert` verifies against `ca_pem` for `purpose`.
bool Verifies(X509* cert, const std::string& ca_pem, int purpose) {
  BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
  X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca);
  X509_STORE_CTX* ctx = X509_STORE_CTX_new();
  X509_STORE_CTX_init(ctx, store, cert, nullptr);
  X509_STORE_CTX_set_purpose(ctx, purpose);
  const bool ok = X509_verify_cert(ctx) == 1;
  X509_STORE_CTX_free(ctx);
  X509_STORE_free(store);
  X509_free(ca);
  return ok;
}

TEST(TestCertsTest, ServerCertificateVerifiesAgainstItsCaOnly) {
  const TestCa ca = TestCa::Create("test ca");
  const TestCa other = TestCa::Create("other ca");
  const Parsed server = Parse(ca.IssueServer());
  ASSERT_NE(server.cert, nullptr);
  ASSERT_NE(server.key, nullptr);
  EXPECT_EQ(X509_check_private_key(server.cert.get(), server.key.get()), 1);
  EXPECT_TRUE(Verifies(server.cert.get(), ca.cert_pem(), X509_PURPOSE_SSL_SERVER));
  EXPECT_FALSE(
      Verifies(server.cert.get(), other.cert_pem(), X509_PURPOSE_SSL_SERVER));
  EXPECT_EQ(X509_check_ip_asc(server.cert.get(), "127.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(server.cert.get(), "::1", 0), 1);
  EXPECT_EQ(X509_check_host(server.cert.get(), "localhost", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_host(server.cert.get(), "example.com", 0, 0, nullptr), 1);
}

TEST(TestCertsTest, ClientCertificateIsForClientsAndKeysDiffer) {
  const TestCa ca = TestCa::Create("test ca");
  const TestKeyPair a = ca.IssueClient("a");
  const TestKeyPair b = ca.IssueClient("b");
  const Parsed client = Parse(a);
  ASSERT_NE(client.cert, nullptr);
  EXPECT_TRUE(Verifies(client.cert.get(), ca.cert_pem(), X509_PURPOSE_SSL_CLIENT));
  EXPECT_FALSE(Verifies(client.cert.get(), ca.cert_pem(), X509_PURPOSE_SSL_SERVER));
  EXPECT_NE(a.key_pem, b.key_pem);
  EXPECT_NE(X509_check_private_key(client.cert.get(), Parse(b).key.get()), 1);
}

TEST(TestCertsTest, ReplaceFileSwapsTheContents) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/f.pem";
  ASSERT_TRUE(ReplaceFile(path, "one").ok());
  ASSERT_TRUE(ReplaceFile(path, "two").ok());
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), "two");
  EXPECT_FALSE(ReplaceFile("/nonexistent-dir/f.pem", "x").ok());
}

}  // namespace
}  // namespace sam2
