// One spelling for every C handle the core holds: Owned<xmlDoc>,
// Owned<EVP_PKEY>, ... The deleter is stateless, so an Owned<T> is the size
// of a pointer and default-constructs to null.
#pragma once

#include <memory>

#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <xmlsec/keys.h>
#include <xmlsec/xmldsig.h>

namespace edgeidp {

template <class T>
struct CDeleter;

#define EDGEIDP_DELETER(type, fn)             \
  template <>                                 \
  struct CDeleter<type> {                     \
    void operator()(type *p) const noexcept { \
      if (p != nullptr) {                     \
        fn(p);                                \
      }                                       \
    }                                         \
  }

EDGEIDP_DELETER(xmlDoc, xmlFreeDoc);
EDGEIDP_DELETER(xmlChar, xmlFree);
EDGEIDP_DELETER(xmlXPathContext, xmlXPathFreeContext);
EDGEIDP_DELETER(xmlXPathObject, xmlXPathFreeObject);
EDGEIDP_DELETER(xmlBuffer, xmlBufferFree);
EDGEIDP_DELETER(xmlSecDSigCtx, xmlSecDSigCtxDestroy);
EDGEIDP_DELETER(xmlSecKey, xmlSecKeyDestroy);
EDGEIDP_DELETER(xmlSecKeyData, xmlSecKeyDataDestroy);
EDGEIDP_DELETER(xmlSecKeysMngr, xmlSecKeysMngrDestroy);
EDGEIDP_DELETER(EVP_PKEY, EVP_PKEY_free);
EDGEIDP_DELETER(EVP_PKEY_CTX, EVP_PKEY_CTX_free);
EDGEIDP_DELETER(EVP_MD_CTX, EVP_MD_CTX_free);
EDGEIDP_DELETER(EVP_CIPHER_CTX, EVP_CIPHER_CTX_free);
EDGEIDP_DELETER(X509, X509_free);
EDGEIDP_DELETER(BIO, BIO_free_all);
EDGEIDP_DELETER(BIGNUM, BN_free);
EDGEIDP_DELETER(ECDSA_SIG, ECDSA_SIG_free);

#undef EDGEIDP_DELETER

template <class T>
using Owned = std::unique_ptr<T, CDeleter<T>>;

}  // namespace edgeidp
