#pragma once

#include "common/result.h"

namespace edgeidp::saml {

// library_init initialises libxml2, xmlsec and its OpenSSL backend in the
// order xmlsec requires. Call once per process before any other saml/
// function, from one thread; library_shutdown undoes it in reverse.
Status library_init();
void library_shutdown();

}  // namespace edgeidp::saml
