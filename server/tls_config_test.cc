// TlsConfig: half configurations, unreadable or malformed files and a key
// that does not match its certificate are refused with a message naming
// the flag and the file and holding no key material; good files (with a
// chain, with a client CA bundle) give a server context.

#include "server/tls_config.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/util/test_certs.h"

namespace sam2 {
namespace {

class TlsConfigTest : public ::testing::Test {
 protected:
  TlsConfigTest()
      : dir_(std::getenv("TEST_TMPDIR")),
        ca_(TestCa::Create("config test ca")),
        server_(ca_.IssueServer()) {}

  std::string Write(const std::string& name, const std::string& contents) {
    const std::string path = absl::StrCat(dir_, "/", name);
    EXPECT_TRUE(ReplaceFile(path, contents).ok());
    return path;
  }

  TlsConfig Good() {
    TlsConfig config;
    config.cert_path = Write("cert.pem", server_.cert_pem);
    config.key_path = Write("key.pem", server_.key_pem);
    return config;
  }

  // No secret of the key in `message`.
  void ExpectNoKeyMaterial(absl::string_view message) {
    EXPECT_FALSE(absl::StrContains(message, "PRIVATE KEY")) << message;
    const std::string key_line = server_.key_pem.substr(
        server_.key_pem.find('\n') + 1, 40);
    EXPECT_FALSE(absl::StrContains(message, key_line)) << message;
  }

  const std::string dir_;
  const TestCa ca_;
  const TestKeyPair server_;
};

TEST_F(TlsConfigTest, ModesFollowTheFilesGiven) {
  TlsConfig config;
  EXPECT_EQ(config.mode(), TlsMode::kPlaintext);
  EXPECT_EQ(config.reload_interval, kDefaultTlsReloadInterval);
  config.cert_path = "c";
  config.key_path = "k";
  EXPECT_EQ(config.mode(), TlsMode::kTls);
  config.client_ca_path = "ca";
  EXPECT_EQ(config.mode(), TlsMode::kMutualTls);
  EXPECT_EQ(TlsModeName(TlsMode::kPlaintext), "plaintext");
  EXPECT_EQ(TlsModeName(TlsMode::kTls), "TLS");
  EXPECT_EQ(TlsModeName(TlsMode::kMutualTls), "mTLS");
}

TEST_F(TlsConfigTest, HalfConfigurationsAreRefusedUnread) {
  TlsConfig config;
  EXPECT_TRUE(CheckTlsConfig(config).ok());
  config.cert_path = "/nonexistent/cert.pem";
  absl::Status s = CheckTlsConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "--tls_cert needs --tls_key"))
      << s;

  config = TlsConfig();
  config.key_path = "/nonexistent/key.pem";
  s = CheckTlsConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "--tls_key needs --tls_cert")) << s;

  config = TlsConfig();
  config.client_ca_path = "/nonexistent/ca.pem";
  s = ValidateTlsConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "--tls_client_ca")) << s;

  config = Good();
  config.reload_interval = absl::ZeroDuration();
  s = ValidateTlsConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "--tls_reload_interval")) << s;
}

TEST_F(TlsConfigTest, GoodFilesValidateForTlsAndMutualTls) {
  TlsConfig config = Good();
  EXPECT_TRUE(ValidateTlsConfig(config).ok()) << ValidateTlsConfig(config);
  config.client_ca_path = Write("client_ca.pem", ca_.cert_pem());
  EXPECT_TRUE(ValidateTlsConfig(config).ok()) << ValidateTlsConfig(config);
  // A chain (the server's certificate, then its CA) and a bundle of two
  // CAs are fine too.
  config.cert_path =
      Write("chain.pem", server_.cert_pem + ca_.cert_pem());
  config.client_ca_path = Write(
      "bundle.pem", TestCa::Create("another").cert_pem() + ca_.cert_pem());
  absl::StatusOr<TlsMaterial> material = ReadTlsMaterial(config);
  ASSERT_TRUE(material.ok()) << material.status();
  EXPECT_EQ(material->cert_chain_pem, server_.cert_pem + ca_.cert_pem());
  EXPECT_TRUE(NewServerSslContext(config, *material).ok());
}

TEST_F(TlsConfigTest, MissingFilesAreNamed) {
  TlsConfig config = Good();
  config.cert_path = absl::StrCat(dir_, "/missing-cert.pem");
  absl::Status s = ValidateTlsConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(s.message(), "--tls_cert")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "missing-cert.pem")) << s;

  config = Good();
  config.key_path = absl::StrCat(dir_, "/missing-key.pem");
  s = ValidateTlsConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(s.message(), "--tls_key")) << s;

  config = Good();
  config.client_ca_path = absl::StrCat(dir_, "/missing-ca.pem");
  s = ValidateTlsConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(absl::StrContains(s.message(), "missing-ca.pem")) << s;
}

TEST_F(TlsConfigTest, KeyOfAnotherCertificateIsRefused) {
  TlsConfig config = Good();
  config.key_path = Write("other-key.pem", ca_.IssueServer().key_pem);
  const absl::Status s = ValidateTlsConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "does not match the certificate"))
      << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "other-key.pem")) << s;
  ExpectNoKeyMaterial(s.message());
}

TEST_F(TlsConfigTest, FilesThatAreNotPemAreRefused) {
  TlsConfig config = Good();
  config.cert_path = Write("garbage-cert.pem", "not a certificate\n");
  absl::Status s = ValidateTlsConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "--tls_cert")) << s;
  EXPECT_TRUE(absl::StrContains(s.message(), "no PEM certificate")) << s;

  // The certificate where the key should be.
  config = Good();
  config.key_path = Write("cert-as-key.pem", server_.cert_pem);
  s = ValidateTlsConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "no PEM private key")) << s;

  config = Good();
  config.client_ca_path = Write("empty-ca.pem", "");
  s = ValidateTlsConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "--tls_client_ca")) << s;

  config = Good();
  config.cert_path =
      Write("huge.pem", std::string(static_cast<size_t>(kMaxTlsFileBytes) + 1, 'A'));
  s = ValidateTlsConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "larger than")) << s;
}

TEST_F(TlsConfigTest, EncryptedKeyIsRefusedWithoutAPrompt) {
  // The server's key under a passphrase: OpenSSL's default would ask for it
  // on the terminal.
  BIO* in = BIO_new_mem_buf(server_.key_pem.data(),
                            static_cast<int>(server_.key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  ASSERT_NE(key, nullptr);
  BIO* out = BIO_new(BIO_s_mem());
  char passphrase[] = "secret phrase";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(out, key, EVP_aes_256_cbc(), nullptr,
                                          0, nullptr, passphrase),
            1);
  EVP_PKEY_free(key);
  char* data = nullptr;
  const long n = BIO_get_mem_data(out, &data);
  const std::string encrypted(data, static_cast<size_t>(n));
  BIO_free(out);

  TlsConfig config = Good();
  config.key_path = Write("encrypted-key.pem", encrypted);
  const absl::Status s = ValidateTlsConfig(config);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StrContains(s.message(), "encrypted keys are not supported"))
      << s;
}

TEST_F(TlsConfigTest, DescriptionNamesModeAndFilesOnly) {
  EXPECT_EQ(DescribeTls(TlsConfig()), "plaintext");
  TlsConfig config = Good();
  config.reload_interval = absl::Seconds(30);
  std::string text = DescribeTls(config);
  EXPECT_TRUE(absl::StartsWith(text, "TLS (certificate ")) << text;
  EXPECT_TRUE(absl::StrContains(text, config.cert_path)) << text;
  EXPECT_TRUE(absl::StrContains(text, "every 30s")) << text;
  config.client_ca_path = Write("client_ca.pem", ca_.cert_pem());
  text = DescribeTls(config);
  EXPECT_TRUE(absl::StartsWith(text, "mTLS (")) << text;
  EXPECT_TRUE(absl::StrContains(text, config.client_ca_path)) << text;
  EXPECT_FALSE(absl::StrContains(text, config.key_path)) << text;
  ExpectNoKeyMaterial(text);
}

}  // namespace
}  // namespace sam2
