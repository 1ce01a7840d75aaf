// edgeidp hash-password: the password comes from stdin or a terminal
// prompt, never from argv (visible in ps and shell history).
#include <termios.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <iostream>
#include <string>

#include <openssl/crypto.h>

#include "args.h"
#include "auth/password.h"
#include "commands.h"

namespace edgeidp::worker {
namespace {

// Reads one line with terminal echo off.
bool prompt(const char *text, std::string &out) {
  std::fputs(text, stderr);
  std::fflush(stderr);
  termios old{};
  const bool tty = ::tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
  }
  const bool ok = static_cast<bool>(std::getline(std::cin, out));
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    std::fputc('\n', stderr);
  }
  return ok;
}

void wipe(std::string &s) {
  OPENSSL_cleanse(s.data(), s.size());
  s.clear();
}

}  // namespace

int cmd_hash_password(const std::vector<std::string> &argv) {
  std::string err;
  const auto args = Args::parse(argv, {"--method", "--cost"}, {}, {}, err);
  if (!args) {
    std::fprintf(stderr, "edgeidp hash-password: %s\n", err.c_str());
    return 2;
  }
  unsigned long cost = 0;
  const std::string cost_text = args->get("--cost", "0");
  const auto [end, ec] =
      std::from_chars(cost_text.data(), cost_text.data() + cost_text.size(), cost);
  if (ec != std::errc() || end != cost_text.data() + cost_text.size()) {
    std::fprintf(stderr, "edgeidp hash-password: --cost takes a whole number\n");
    return 2;
  }
  std::string password;
  if (::isatty(STDIN_FILENO)) {
    std::string again;
    if (!prompt("Password: ", password) || !prompt("Again: ", again)) {
      return 1;
    }
    const bool same = password == again;
    wipe(again);
    if (!same) {
      wipe(password);
      std::fprintf(stderr, "edgeidp hash-password: the passwords differ\n");
      return 1;
    }
  } else if (!std::getline(std::cin, password)) {
    std::fprintf(stderr, "edgeidp hash-password: no password on stdin\n");
    return 1;
  }
  auto hash = auth::hash_password(password, args->get("--method", "yescrypt"), cost);
  wipe(password);
  if (!hash) {
    std::fprintf(stderr, "edgeidp hash-password: %s\n", hash.error().describe().c_str());
    return 1;
  }
  std::printf("%s\n", hash->c_str());
  return 0;
}

}  // namespace edgeidp::worker
