// Function wrappers for the OpenSSL macros that Swift cannot import.
//
// Only macros live here; everything OpenSSL exports as a real function is called
// directly from WeftTLS. Every symbol carries the `COpenSSLShims_` prefix so that a
// reader can tell at a glance which calls cross this shim.
#ifndef WEFT_COPENSSL_SHIMS_H
#define WEFT_COPENSSL_SHIMS_H

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/// `EVP_EC_gen(curve)`: a fresh EC key on the named curve ("P-256").
EVP_PKEY *COpenSSLShims_EVP_EC_gen(const char *curve);

/// `BIO_get_mem_data`: the bytes held by a memory BIO, without copying.
long COpenSSLShims_BIO_get_mem_data(BIO *bio, char **data);

/// `SSL_CTX_set_min_proto_version` / `SSL_CTX_set_max_proto_version`.
int COpenSSLShims_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version);
int COpenSSLShims_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version);

/// `SSL_CTX_add1_chain_cert`: appends an intermediate to the served chain (up-refs it).
int COpenSSLShims_SSL_CTX_add1_chain_cert(SSL_CTX *ctx, X509 *cert);

/// `SSL_CTX_set_mode`.
long COpenSSLShims_SSL_CTX_set_mode(SSL_CTX *ctx, long mode);

/// `SSL_get_ex_new_index` with no callbacks: a slot for per-connection user data.
int COpenSSLShims_SSL_get_ex_new_index(void);

/// `X509V3_set_ctx_nodb`: an extension context with no configuration database.
void COpenSSLShims_X509V3_set_ctx_nodb(X509V3_CTX *ctx);

/// The `sk_X509_*` family.
STACK_OF(X509) *COpenSSLShims_sk_X509_new_null(void);
int COpenSSLShims_sk_X509_push(STACK_OF(X509) *stack, X509 *cert);
int COpenSSLShims_sk_X509_num(const STACK_OF(X509) *stack);
X509 *COpenSSLShims_sk_X509_value(const STACK_OF(X509) *stack, int index);
void COpenSSLShims_sk_X509_pop_free(STACK_OF(X509) *stack);
/// Frees the stack only, not the certificates (which the caller still owns).
void COpenSSLShims_sk_X509_free(STACK_OF(X509) *stack);

/// The `sk_GENERAL_NAME_*` family (subject alternative names).
STACK_OF(GENERAL_NAME) *COpenSSLShims_sk_GENERAL_NAME_new_null(void);
int COpenSSLShims_sk_GENERAL_NAME_push(STACK_OF(GENERAL_NAME) *names, GENERAL_NAME *name);
int COpenSSLShims_sk_GENERAL_NAME_num(const STACK_OF(GENERAL_NAME) *names);
GENERAL_NAME *COpenSSLShims_sk_GENERAL_NAME_value(const STACK_OF(GENERAL_NAME) *names, int index);
void COpenSSLShims_GENERAL_NAMES_free(STACK_OF(GENERAL_NAME) *names);

/// The `sk_X509_EXTENSION_*` family (CSR extension requests).
STACK_OF(X509_EXTENSION) *COpenSSLShims_sk_X509_EXTENSION_new_null(void);
int COpenSSLShims_sk_X509_EXTENSION_push(STACK_OF(X509_EXTENSION) *stack, X509_EXTENSION *extension);
void COpenSSLShims_sk_X509_EXTENSION_pop_free(STACK_OF(X509_EXTENSION) *stack);

/// `OPENSSL_free`, for memory OpenSSL allocated for the caller (BN_bn2hex).
void COpenSSLShims_OPENSSL_free(void *pointer);

#endif

/// Copies the subject public key of `request` into `certificate` as the
/// encoded algorithm and key bits, without decoding and re-encoding the key
/// (X509_set_pubkey goes through OpenSSL 3.0's encoders: about 200 µs per
/// certificate, most of a CA's signing time). Returns 1 on success.
int COpenSSLShims_X509_set_pubkey_from_request(X509 *certificate, X509_REQ *request);
