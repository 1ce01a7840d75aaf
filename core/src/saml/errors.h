// Turning OpenSSL and xmlsec failures into readable Error messages. Internal
// to saml/; implemented in library.cc next to the callback it relies on.
#pragma once

#include <string>

namespace edgeidp::saml::detail {

// openssl_reason returns the first reason on this thread's OpenSSL error
// queue ("unknown error" if none) and empties the queue, so one request's
// failure never leaks into the next request served by the same thread.
std::string openssl_reason();

// xmlsec reports errors through a process-wide callback; library_init
// installs one that keeps the first message per thread. Call
// reset_xmlsec_error before an xmlsec operation and xmlsec_error after it
// fails. xmlsec_error also empties the OpenSSL queue.
void reset_xmlsec_error();
std::string xmlsec_error();

}  // namespace edgeidp::saml::detail
