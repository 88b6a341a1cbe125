// Test certificates with OpenSSL 3. See the header.

#include "tests/util/test_certs.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <utility>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
  void operator()(X509* c) const { X509_free(c); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;

constexpr long kValidSeconds = 24 * 3600;
constexpr long kBackdateSeconds = 3600;

// Test helpers have no caller to return an error to: a failure here is an
// OpenSSL installation that cannot run the tests at all.
void Check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "test_certs: %s failed\n", what);
    std::abort();
  }
}

KeyPtr NewKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  Check(key != nullptr, "EVP_EC_gen");
  return key;
}

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext =
      X509V3_EXT_conf_nid(nullptr, &ctx, nid, const_cast<char*>(value));
  Check(ext != nullptr, "X509V3_EXT_conf_nid");
  Check(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
  X509_EXTENSION_free(ext);
}

// A certificate for `key` named `common_name`, not yet signed or extended;
// its issuer name is `issuer`'s subject (itself when null).
CertPtr NewCert(EVP_PKEY* key, absl::string_view common_name, X509* issuer) {
  CertPtr cert(X509_new());
  Check(cert != nullptr, "X509_new");
  Check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");
  unsigned char serial[16];
  Check(RAND_bytes(serial, sizeof(serial)) == 1, "RAND_bytes");
  serial[0] &= 0x7f;  // positive
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  Check(bn != nullptr && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get())) != nullptr,
        "serial number");
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kBackdateSeconds);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValidSeconds);
  Check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
  X509_NAME* name = X509_get_subject_name(cert.get());
  const std::string cn(common_name);
  Check(X509_NAME_add_entry_by_txt(
            name, "CN", MBSTRING_ASC,
            reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0) == 1,
        "subject name");
  Check(X509_set_issuer_name(cert.get(), issuer != nullptr
                                             ? X509_get_subject_name(issuer)
                                             : name) == 1,
        "issuer name");
  return cert;
}

std::string CertPem(X509* cert) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  Check(PEM_write_bio_X509(bio.get(), cert) == 1, "PEM_write_bio_X509");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string KeyPem(EVP_PKEY* key) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new(BIO_s_mem()));
  Check(PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr,
                                 nullptr) == 1,
        "PEM_write_bio_PrivateKey");
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

struct TestCa::Keys {
  KeyPtr key;
  CertPtr cert;
};

TestCa::TestCa(std::unique_ptr<Keys> keys, TestKeyPair self)
    : keys_(std::move(keys)), self_(std::move(self)) {}
TestCa::TestCa(TestCa&&) noexcept = default;
TestCa& TestCa::operator=(TestCa&&) noexcept = default;
TestCa::~TestCa() = default;

TestCa TestCa::Create(absl::string_view common_name) {
  auto keys = std::make_unique<Keys>();
  keys->key = NewKey();
  keys->cert = NewCert(keys->key.get(), common_name, nullptr);
  X509* cert = keys->cert.get();
  AddExtension(cert, cert, NID_basic_constraints, "critical,CA:TRUE");
  AddExtension(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign");
  AddExtension(cert, cert, NID_subject_key_identifier, "hash");
  Check(X509_sign(cert, keys->key.get(), EVP_sha256()) > 0, "X509_sign");
  TestKeyPair self{CertPem(cert), KeyPem(keys->key.get())};
  return TestCa(std::move(keys), std::move(self));
}

TestKeyPair TestCa::Issue(absl::string_view common_name, bool server) const {
  KeyPtr key = NewKey();
  CertPtr cert = NewCert(key.get(), common_name, keys_->cert.get());
  X509* issuer = keys_->cert.get();
  AddExtension(cert.get(), issuer, NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(cert.get(), issuer, NID_key_usage, "critical,digitalSignature");
  AddExtension(cert.get(), issuer, NID_ext_key_usage,
               server ? "serverAuth" : "clientAuth");
  AddExtension(cert.get(), issuer, NID_authority_key_identifier,
               "keyid:always");
  if (server) {
    AddExtension(cert.get(), issuer, NID_subject_alt_name,
                 "IP:127.0.0.1,IP:::1,DNS:localhost");
  }
  Check(X509_sign(cert.get(), keys_->key.get(), EVP_sha256()) > 0,
        "X509_sign");
  return TestKeyPair{CertPem(cert.get()), KeyPem(key.get())};
}

TestKeyPair TestCa::IssueServer(absl::string_view common_name) const {
  return Issue(common_name, /*server=*/true);
}

TestKeyPair TestCa::IssueClient(absl::string_view common_name) const {
  return Issue(common_name, /*server=*/false);
}

absl::Status ReplaceFile(const std::string& path, absl::string_view contents) {
  const std::string temporary = absl::StrCat(path, ".new");
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.close();
    if (!out) {
      return absl::InternalError(absl::StrCat("cannot write ", temporary));
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("cannot rename to ", path));
  }
  return absl::OkStatus();
}

TestCertFiles WriteKeyPair(const TestKeyPair& pair, absl::string_view dir,
                           absl::string_view stem) {
  TestCertFiles files{absl::StrCat(dir, "/", stem, ".pem"),
                      absl::StrCat(dir, "/", stem, ".key")};
  for (const auto& [path, contents] :
       {std::pair<const std::string*, const std::string*>{&files.key,
                                                          &pair.key_pem},
        {&files.cert, &pair.cert_pem}}) {
    if (absl::Status s = ReplaceFile(*path, *contents); !s.ok()) {
      ADD_FAILURE() << s;
    }
  }
  return files;
}

}  // namespace sam2
