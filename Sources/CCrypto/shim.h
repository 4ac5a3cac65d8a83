#ifndef CLAUDE_ENV_CCRYPTO_SHIM_H
#define CLAUDE_ENV_CCRYPTO_SHIM_H

// OpenSSL 3 libcrypto: only the EVP, KDF, random and version interfaces are used.
#include <openssl/crypto.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/opensslv.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#endif
