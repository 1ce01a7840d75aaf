// Errors as values. Shaped like std::expected so it can be swapped for it
// once the project moves to C++23; there is no throwing accessor on purpose.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace edgeidp {

enum class Errc {
  invalid,     // input does not have the expected shape
  config,      // configuration file problem (file/line/key set)
  io,          // file or network I/O failed
  permission,  // a secret file is readable by others, or not readable by us
  crypto,      // OpenSSL or xmlsec failed
  xml,         // XML parse or build failure
  not_found,   // the named object does not exist
  denied,      // authentication or authorization refused
  limit,       // a size or count limit was exceeded
  internal,    // a bug or an allocation failure
};

// An error an operator can read: never contains secrets.
struct Error {
  Errc code = Errc::internal;
  std::string message;
  std::string file;  // config errors: the file, line and key at fault
  int line = 0;
  std::string key;

  // "file:line: key: message", leaving out what is not known.
  std::string describe() const;
};

inline Error make_error(Errc code, std::string message) {
  Error e;
  e.code = code;
  e.message = std::move(message);
  return e;
}

inline Error config_error(std::string file, int line, std::string key, std::string message) {
  return Error{Errc::config, std::move(message), std::move(file), line, std::move(key)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T &operator*() & { return std::get<0>(v_); }
  const T &operator*() const & { return std::get<0>(v_); }
  T &&operator*() && { return std::get<0>(std::move(v_)); }
  T *operator->() { return &std::get<0>(v_); }
  const T *operator->() const { return &std::get<0>(v_); }
  const Error &error() const { return std::get<1>(v_); }
  Error &&take_error() { return std::get<1>(std::move(v_)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : ok_(false), error_(std::move(error)) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error &error() const { return error_; }
  Error &&take_error() { return std::move(error_); }

 private:
  bool ok_ = true;
  Error error_;
};

using Status = Result<void>;

}  // namespace edgeidp
