// Owned<T> deleters for the C handles the SCIM code holds. They extend
// common/owned.h's CDeleter here rather than there so the web server modules,
// which never talk SCIM, do not pull in curl and sqlite headers.
#pragma once

#include <memory>

#include <curl/curl.h>
#include <sqlite3.h>

#include "common/owned.h"

namespace edgeidp {

// libcurl declares both CURL and CURLM as void unless CURL_STRICTER is set,
// so they get named deleters instead of CDeleter specialisations.
struct CurlEasyFree {
  void operator()(CURL *p) const noexcept { curl_easy_cleanup(p); }
};
struct CurlMultiFree {
  void operator()(CURLM *p) const noexcept { curl_multi_cleanup(p); }
};
using CurlEasy = std::unique_ptr<CURL, CurlEasyFree>;
using CurlMulti = std::unique_ptr<CURLM, CurlMultiFree>;

template <>
struct CDeleter<curl_slist> {
  void operator()(curl_slist *p) const noexcept { curl_slist_free_all(p); }
};
template <>
struct CDeleter<sqlite3> {
  void operator()(sqlite3 *p) const noexcept { sqlite3_close_v2(p); }
};
template <>
struct CDeleter<sqlite3_stmt> {
  void operator()(sqlite3_stmt *p) const noexcept { sqlite3_finalize(p); }
};

}  // namespace edgeidp
