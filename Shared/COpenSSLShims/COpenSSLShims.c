#include "COpenSSLShims.h"

EVP_PKEY *COpenSSLShims_EVP_EC_gen(const char *curve) { return EVP_EC_gen(curve); }

long COpenSSLShims_BIO_get_mem_data(BIO *bio, char **data) { return BIO_get_mem_data(bio, data); }

int COpenSSLShims_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_min_proto_version(ctx, version);
}

int COpenSSLShims_SSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version) {
    return (int)SSL_CTX_set_max_proto_version(ctx, version);
}

void COpenSSLShims_X509V3_set_ctx_nodb(X509V3_CTX *ctx) { X509V3_set_ctx_nodb(ctx); }

STACK_OF(X509) *COpenSSLShims_sk_X509_new_null(void) { return sk_X509_new_null(); }
int COpenSSLShims_sk_X509_push(STACK_OF(X509) *stack, X509 *cert) { return sk_X509_push(stack, cert); }
int COpenSSLShims_sk_X509_num(const STACK_OF(X509) *stack) { return sk_X509_num(stack); }
X509 *COpenSSLShims_sk_X509_value(const STACK_OF(X509) *stack, int index) { return sk_X509_value(stack, index); }
void COpenSSLShims_sk_X509_pop_free(STACK_OF(X509) *stack) { sk_X509_pop_free(stack, X509_free); }
void COpenSSLShims_sk_X509_free(STACK_OF(X509) *stack) { sk_X509_free(stack); }

int COpenSSLShims_sk_GENERAL_NAME_num(const STACK_OF(GENERAL_NAME) *names) { return sk_GENERAL_NAME_num(names); }
GENERAL_NAME *COpenSSLShims_sk_GENERAL_NAME_value(const STACK_OF(GENERAL_NAME) *names, int index) {
    return sk_GENERAL_NAME_value(names, index);
}
void COpenSSLShims_GENERAL_NAMES_free(STACK_OF(GENERAL_NAME) *names) { GENERAL_NAMES_free(names); }

STACK_OF(GENERAL_NAME) *COpenSSLShims_sk_GENERAL_NAME_new_null(void) { return sk_GENERAL_NAME_new_null(); }
int COpenSSLShims_sk_GENERAL_NAME_push(STACK_OF(GENERAL_NAME) *names, GENERAL_NAME *name) {
    return sk_GENERAL_NAME_push(names, name);
}

STACK_OF(X509_EXTENSION) *COpenSSLShims_sk_X509_EXTENSION_new_null(void) { return sk_X509_EXTENSION_new_null(); }
int COpenSSLShims_sk_X509_EXTENSION_push(STACK_OF(X509_EXTENSION) *stack, X509_EXTENSION *extension) {
    return sk_X509_EXTENSION_push(stack, extension);
}
void COpenSSLShims_sk_X509_EXTENSION_pop_free(STACK_OF(X509_EXTENSION) *stack) {
    sk_X509_EXTENSION_pop_free(stack, X509_EXTENSION_free);
}

void COpenSSLShims_OPENSSL_free(void *pointer) { OPENSSL_free(pointer); }

int COpenSSLShims_SSL_CTX_add1_chain_cert(SSL_CTX *ctx, X509 *cert) { return (int)SSL_CTX_add1_chain_cert(ctx, cert); }
long COpenSSLShims_SSL_CTX_set_mode(SSL_CTX *ctx, long mode) { return SSL_CTX_set_mode(ctx, mode); }
int COpenSSLShims_SSL_get_ex_new_index(void) { return SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL); }

int COpenSSLShims_X509_set_pubkey_from_request(X509 *certificate, X509_REQ *request) {
    X509_PUBKEY *source = X509_REQ_get_X509_PUBKEY(request);
    ASN1_OBJECT *algorithm = NULL;
    const unsigned char *bits = NULL;
    int length = 0;
    X509_ALGOR *parameters = NULL;
    if (source == NULL || !X509_PUBKEY_get0_param(&algorithm, &bits, &length, &parameters, source) || bits == NULL
        || length <= 0) {
        return 0;
    }
    const ASN1_OBJECT *parameterObject = NULL;
    int parameterType = V_ASN1_UNDEF;
    const void *parameterValue = NULL;
    X509_ALGOR_get0(&parameterObject, &parameterType, &parameterValue, parameters);
    void *copiedValue = NULL;
    switch (parameterType) {
    case V_ASN1_UNDEF:
    case V_ASN1_NULL:
        break;
    case V_ASN1_OBJECT:
        copiedValue = OBJ_dup(parameterValue);
        if (copiedValue == NULL) return 0;
        break;
    case V_ASN1_SEQUENCE:
        copiedValue = ASN1_STRING_dup(parameterValue);
        if (copiedValue == NULL) return 0;
        break;
    default:
        return 0;
    }
    ASN1_OBJECT *copiedAlgorithm = OBJ_dup(algorithm);
    unsigned char *copiedBits = OPENSSL_memdup(bits, (size_t)length);
    X509_PUBKEY *target = X509_get_X509_PUBKEY(certificate);
    if (copiedAlgorithm == NULL || copiedBits == NULL || target == NULL
        || !X509_PUBKEY_set0_param(target, copiedAlgorithm, parameterType, copiedValue, copiedBits, length)) {
        ASN1_OBJECT_free(copiedAlgorithm);
        OPENSSL_free(copiedBits);
        if (parameterType == V_ASN1_OBJECT) ASN1_OBJECT_free(copiedValue);
        if (parameterType == V_ASN1_SEQUENCE) ASN1_STRING_free(copiedValue);
        return 0;
    }
    return 1;
}
