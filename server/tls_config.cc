// TLS settings, their files and the OpenSSL server context. See the header.

#include "server/tls_config.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <fstream>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sam2 {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr MemoryBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// OpenSSL's reason for the last failure on this thread (never key bytes),
// e.g. " (OpenSSL: key values mismatch)"; the thread's error queue is
// cleared so that it cannot leak into the next connection's checks.
std::string OpenSslReason() {
  const unsigned long error = ERR_peek_last_error();
  ERR_clear_error();
  const char* reason = error == 0 ? nullptr : ERR_reason_error_string(error);
  return reason == nullptr ? "" : absl::StrCat(" (OpenSSL: ", reason, ")");
}

// PEM passphrase callback: encrypted keys are refused rather than prompting
// on the terminal (OpenSSL's default).
int NoPassphrase(char*, int, int, void*) { return -1; }

absl::StatusOr<std::string> ReadPemFile(absl::string_view flag,
                                        const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        absl::StrCat("--", flag, " ", path, ": cannot read the file"));
  }
  std::string text;
  char buffer[4096];
  while (in.read(buffer, sizeof(buffer)) || in.gcount() > 0) {
    text.append(buffer, static_cast<size_t>(in.gcount()));
    if (static_cast<int64_t>(text.size()) > kMaxTlsFileBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", flag, " ", path, ": larger than ",
                       kMaxTlsFileBytes, " bytes, not a PEM file"));
    }
  }
  if (in.bad()) {
    return absl::NotFoundError(
        absl::StrCat("--", flag, " ", path, ": cannot read the file"));
  }
  return text;
}

absl::Status Invalid(absl::string_view flag, const std::string& path,
                     absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, " ", path, ": ", what, OpenSslReason()));
}

// The chain's certificates into `ctx`: the first as the server's, the rest
// as its chain. False when there is none.
bool UseCertificateChain(SSL_CTX* ctx, const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  X509* leaf = PEM_read_bio_X509_AUX(bio.get(), nullptr, NoPassphrase, nullptr);
  if (leaf == nullptr) return false;
  const bool used = SSL_CTX_use_certificate(ctx, leaf) == 1;
  X509_free(leaf);
  if (!used) return false;
  while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) {
    if (SSL_CTX_add0_chain_cert(ctx, ca) != 1) {  // owns `ca` when it succeeds
      X509_free(ca);
      return false;
    }
  }
  ERR_clear_error();  // the end of the PEM text is reported as an error
  return true;
}

// The bundle's certificates as the trusted client CAs of `ctx` (also sent
// to clients as the acceptable issuers); how many there were.
int UseClientCas(SSL_CTX* ctx, const std::string& pem) {
  BioPtr bio = MemoryBio(pem);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  STACK_OF(X509_NAME)* names = sk_X509_NAME_new_null();
  int count = 0;
  while (X509* ca = PEM_read_bio_X509(bio.get(), nullptr, NoPassphrase, nullptr)) {
    if (X509_STORE_add_cert(store, ca) == 1) {
      X509_NAME* name = X509_NAME_dup(X509_get_subject_name(ca));
      if (name != nullptr && sk_X509_NAME_push(names, name) == 0) {
        X509_NAME_free(name);
      }
      ++count;
    }
    X509_free(ca);
  }
  ERR_clear_error();
  SSL_CTX_set_client_CA_list(ctx, names);  // owns `names`
  return count;
}

}  // namespace

absl::string_view TlsModeName(TlsMode mode) {
  switch (mode) {
    case TlsMode::kPlaintext:
      return "plaintext";
    case TlsMode::kTls:
      return "TLS";
    case TlsMode::kMutualTls:
      return "mTLS";
  }
  return "?";
}

TlsMode TlsConfig::mode() const {
  if (cert_path.empty()) return TlsMode::kPlaintext;
  return client_ca_path.empty() ? TlsMode::kTls : TlsMode::kMutualTls;
}

absl::Status CheckTlsConfig(const TlsConfig& config) {
  if (config.cert_path.empty() != config.key_path.empty()) {
    return absl::InvalidArgumentError(
        config.cert_path.empty()
            ? "--tls_key needs --tls_cert (the certificate of that key)"
            : "--tls_cert needs --tls_key (the certificate's private key)");
  }
  if (!config.client_ca_path.empty() && config.cert_path.empty()) {
    return absl::InvalidArgumentError(
        "--tls_client_ca (mutual TLS) needs --tls_cert and --tls_key: the "
        "server must speak TLS to ask for client certificates");
  }
  if (config.reload_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        "--tls_reload_interval must be positive");
  }
  return absl::OkStatus();
}

absl::StatusOr<TlsMaterial> ReadTlsMaterial(const TlsConfig& config) {
  TlsMaterial material;
  absl::StatusOr<std::string> cert = ReadPemFile("tls_cert", config.cert_path);
  if (!cert.ok()) return cert.status();
  material.cert_chain_pem = *std::move(cert);
  absl::StatusOr<std::string> key = ReadPemFile("tls_key", config.key_path);
  if (!key.ok()) return key.status();
  material.key_pem = *std::move(key);
  if (!config.client_ca_path.empty()) {
    absl::StatusOr<std::string> ca =
        ReadPemFile("tls_client_ca", config.client_ca_path);
    if (!ca.ok()) return ca.status();
    material.client_ca_pem = *std::move(ca);
  }
  return material;
}

std::shared_ptr<SSL_CTX> AdoptSslContext(SSL_CTX* ctx) {
  return std::shared_ptr<SSL_CTX>(ctx, SSL_CTX_free);
}

absl::StatusOr<std::shared_ptr<SSL_CTX>> NewServerSslContext(
    const TlsConfig& config, const TlsMaterial& material) {
  ERR_clear_error();
  std::shared_ptr<SSL_CTX> ctx = AdoptSslContext(SSL_CTX_new(TLS_server_method()));
  if (ctx == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create a TLS context", OpenSslReason()));
  }
  SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
  if (!UseCertificateChain(ctx.get(), material.cert_chain_pem)) {
    return Invalid("tls_cert", config.cert_path, "no PEM certificate");
  }
  {
    BioPtr bio = MemoryBio(material.key_pem);
    EVP_PKEY* key =
        PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
    if (key == nullptr) {
      return Invalid("tls_key", config.key_path,
                     "no PEM private key (encrypted keys are not supported)");
    }
    const bool used = SSL_CTX_use_PrivateKey(ctx.get(), key) == 1 &&
                      SSL_CTX_check_private_key(ctx.get()) == 1;
    EVP_PKEY_free(key);
    if (!used) {
      return Invalid("tls_key", config.key_path,
                     absl::StrCat("the key does not match the certificate in ",
                                  config.cert_path));
    }
  }
  if (!material.client_ca_pem.empty() || !config.client_ca_path.empty()) {
    if (UseClientCas(ctx.get(), material.client_ca_pem) == 0) {
      return Invalid("tls_client_ca", config.client_ca_path,
                     "no PEM certificate");
    }
    SSL_CTX_set_verify(ctx.get(),
                       SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                       nullptr);
  }
  return ctx;
}

absl::Status ValidateTlsConfig(const TlsConfig& config) {
  if (absl::Status s = CheckTlsConfig(config); !s.ok()) return s;
  if (config.mode() == TlsMode::kPlaintext) return absl::OkStatus();
  absl::StatusOr<TlsMaterial> material = ReadTlsMaterial(config);
  if (!material.ok()) return material.status();
  return NewServerSslContext(config, *material).status();
}

std::string DescribeTls(const TlsConfig& config) {
  const TlsMode mode = config.mode();
  if (mode == TlsMode::kPlaintext) return std::string(TlsModeName(mode));
  return absl::StrCat(
      TlsModeName(mode), " (certificate ", config.cert_path,
      mode == TlsMode::kMutualTls
          ? absl::StrCat(", client certificates required and verified "
                         "against ",
                         config.client_ca_path)
          : "",
      "; files re-read every ", absl::FormatDuration(config.reload_interval),
      ")");
}

}  // namespace sam2
