#include "scim/state.h"

#include <fcntl.h>
#include <unistd.h>

namespace edgeidp::scim {
namespace {

constexpr const char *kSchema = R"(
CREATE TABLE IF NOT EXISTS objects (
  target TEXT NOT NULL, kind TEXT NOT NULL, key TEXT NOT NULL,
  remote_id TEXT NOT NULL, hash TEXT NOT NULL, body TEXT NOT NULL,
  owned INTEGER NOT NULL, deactivated INTEGER NOT NULL,
  PRIMARY KEY (target, kind, key));
CREATE TABLE IF NOT EXISTS members (
  target TEXT NOT NULL, group_key TEXT NOT NULL, user_key TEXT NOT NULL,
  PRIMARY KEY (target, group_key, user_key));
CREATE TABLE IF NOT EXISTS runs (
  id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL,
  started INTEGER NOT NULL, finished INTEGER NOT NULL, mode TEXT NOT NULL,
  writes INTEGER NOT NULL, requests INTEGER NOT NULL, retries INTEGER NOT NULL,
  throttles INTEGER NOT NULL, failures INTEGER NOT NULL, summary TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS failures (
  target TEXT NOT NULL, at INTEGER NOT NULL, object TEXT NOT NULL, message TEXT NOT NULL);
)";

const char *kind_name(Kind k) {
  return k == Kind::user ? "user" : "group";
}

void bind(sqlite3_stmt *st, int i, const std::string &s) {
  sqlite3_bind_text(st, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
}

std::string column(sqlite3_stmt *st, int i) {
  const auto *p = sqlite3_column_text(st, i);
  return p != nullptr ? std::string(reinterpret_cast<const char *>(p)) : std::string();
}

}  // namespace

Error State::sql_error(const char *what) const {
  return make_error(Errc::io,
                    std::string("scim state: ") + what + ": " + sqlite3_errmsg(db_.get()));
}

Result<std::unique_ptr<State>> State::open(const std::string &path, const std::string &target) {
  // Create it private first: the state names every user and remote id.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return make_error(Errc::io, "cannot open the scim state file " + path);
  }
  ::close(fd);
  sqlite3 *raw = nullptr;
  const int rc =
      sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr);
  Owned<sqlite3> db(raw);
  if (rc != SQLITE_OK) {
    return make_error(Errc::io, "cannot open the scim state file " + path + ": " +
                                    (raw != nullptr ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3_busy_timeout(db.get(), 5000);
  std::unique_ptr<State> s(new State(std::move(db), target));
  // WAL + NORMAL: a crash can lose the last commits but never corrupts;
  // a lost commit only means the next run rediscovers that object.
  for (const char *sql : {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", kSchema}) {
    if (auto st = s->exec(sql); !st) {
      return st.take_error();
    }
  }
  return s;
}

Status State::exec(const char *sql) {
  char *msg = nullptr;
  if (sqlite3_exec(db_.get(), sql, nullptr, nullptr, &msg) != SQLITE_OK) {
    std::string text = msg != nullptr ? msg : "error";
    sqlite3_free(msg);
    return make_error(Errc::io, "scim state: " + text);
  }
  return {};
}

Result<Owned<sqlite3_stmt>> State::prepare(const char *sql) {
  sqlite3_stmt *st = nullptr;
  if (sqlite3_prepare_v2(db_.get(), sql, -1, &st, nullptr) != SQLITE_OK) {
    return sql_error("prepare");
  }
  return Owned<sqlite3_stmt>(st);
}

Result<Snapshot> State::load() {
  Snapshot snap;
  auto st = prepare(
      "SELECT kind, key, remote_id, hash, body, owned, deactivated FROM objects WHERE target=?");
  if (!st) {
    return st.take_error();
  }
  bind(st->get(), 1, target_);
  int rc;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) {
    ObjectState o;
    const std::string kind = column(st->get(), 0);
    o.key = column(st->get(), 1);
    o.remote_id = column(st->get(), 2);
    o.hash = column(st->get(), 3);
    o.body = column(st->get(), 4);
    o.owned = sqlite3_column_int(st->get(), 5) != 0;
    o.deactivated = sqlite3_column_int(st->get(), 6) != 0;
    (kind == "user" ? snap.users : snap.groups)[o.key] = std::move(o);
  }
  if (rc != SQLITE_DONE) {
    return sql_error("load objects");
  }
  auto mt = prepare("SELECT group_key, user_key FROM members WHERE target=?");
  if (!mt) {
    return mt.take_error();
  }
  bind(mt->get(), 1, target_);
  while ((rc = sqlite3_step(mt->get())) == SQLITE_ROW) {
    snap.members[column(mt->get(), 0)].insert(column(mt->get(), 1));
  }
  if (rc != SQLITE_DONE) {
    return sql_error("load members");
  }
  return snap;
}

Status State::put(Kind kind, const ObjectState &o) {
  auto st = prepare(
      "INSERT OR REPLACE INTO objects (target, kind, key, remote_id, hash, body, owned, "
      "deactivated) VALUES (?,?,?,?,?,?,?,?)");
  if (!st) {
    return st.take_error();
  }
  bind(st->get(), 1, target_);
  bind(st->get(), 2, kind_name(kind));
  bind(st->get(), 3, o.key);
  bind(st->get(), 4, o.remote_id);
  bind(st->get(), 5, o.hash);
  bind(st->get(), 6, o.body);
  sqlite3_bind_int(st->get(), 7, o.owned ? 1 : 0);
  sqlite3_bind_int(st->get(), 8, o.deactivated ? 1 : 0);
  if (sqlite3_step(st->get()) != SQLITE_DONE) {
    return sql_error("save object");
  }
  return {};
}

Status State::erase(Kind kind, const std::string &key) {
  auto st = prepare("DELETE FROM objects WHERE target=? AND kind=? AND key=?");
  if (!st) {
    return st.take_error();
  }
  bind(st->get(), 1, target_);
  bind(st->get(), 2, kind_name(kind));
  bind(st->get(), 3, key);
  if (sqlite3_step(st->get()) != SQLITE_DONE) {
    return sql_error("delete object");
  }
  // A deleted group takes its memberships with it; so does a deleted user.
  auto mt = prepare(kind == Kind::group ? "DELETE FROM members WHERE target=? AND group_key=?"
                                        : "DELETE FROM members WHERE target=? AND user_key=?");
  if (!mt) {
    return mt.take_error();
  }
  bind(mt->get(), 1, target_);
  bind(mt->get(), 2, key);
  if (sqlite3_step(mt->get()) != SQLITE_DONE) {
    return sql_error("delete memberships");
  }
  return {};
}

Status State::add_members(const std::string &group, const std::vector<std::string> &users) {
  return change_members(group, users, true);
}

Status State::remove_members(const std::string &group, const std::vector<std::string> &users) {
  return change_members(group, users, false);
}

Status State::change_members(const std::string &group, const std::vector<std::string> &users,
                             bool add) {
  auto st = prepare(add ? "INSERT OR IGNORE INTO members (target, group_key, user_key) "
                          "VALUES (?,?,?)"
                        : "DELETE FROM members WHERE target=? AND group_key=? AND user_key=?");
  if (!st) {
    return st.take_error();
  }
  if (auto b = exec("BEGIN"); !b) {
    return b;
  }
  for (const auto &u : users) {
    sqlite3_reset(st->get());
    bind(st->get(), 1, target_);
    bind(st->get(), 2, group);
    bind(st->get(), 3, u);
    if (sqlite3_step(st->get()) != SQLITE_DONE) {
      Error e = sql_error("save memberships");
      (void)exec("ROLLBACK");
      return e;
    }
  }
  return exec("COMMIT");
}

Result<std::int64_t> State::begin_run(const RunRecord &run) {
  auto st = prepare(
      "INSERT INTO runs (target, started, finished, mode, writes, requests, retries, throttles, "
      "failures, summary) VALUES (?,?,0,?,0,0,0,0,0,'')");
  if (!st) {
    return st.take_error();
  }
  bind(st->get(), 1, target_);
  sqlite3_bind_int64(st->get(), 2, run.started);
  bind(st->get(), 3, run.mode);
  if (sqlite3_step(st->get()) != SQLITE_DONE) {
    return sql_error("record run");
  }
  return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_.get()));
}

Status State::finish_run(std::int64_t id, const RunRecord &run) {
  auto st = prepare(
      "UPDATE runs SET finished=?, writes=?, requests=?, retries=?, throttles=?, failures=?, "
      "summary=? WHERE id=?");
  if (!st) {
    return st.take_error();
  }
  sqlite3_bind_int64(st->get(), 1, run.finished);
  sqlite3_bind_int64(st->get(), 2, run.writes);
  sqlite3_bind_int64(st->get(), 3, run.requests);
  sqlite3_bind_int64(st->get(), 4, run.retries);
  sqlite3_bind_int64(st->get(), 5, run.throttles);
  sqlite3_bind_int64(st->get(), 6, run.failures);
  bind(st->get(), 7, run.summary);
  sqlite3_bind_int64(st->get(), 8, id);
  if (sqlite3_step(st->get()) != SQLITE_DONE) {
    return sql_error("record run");
  }
  // Keep the table small on a long-running watcher.
  return exec("DELETE FROM runs WHERE id NOT IN (SELECT id FROM runs ORDER BY id DESC LIMIT 1000)");
}

Result<std::optional<RunRecord>> State::last_run() {
  auto st = prepare(
      "SELECT started, finished, mode, writes, requests, retries, throttles, failures, summary "
      "FROM runs WHERE target=? ORDER BY id DESC LIMIT 1");
  if (!st) {
    return st.take_error();
  }
  bind(st->get(), 1, target_);
  const int rc = sqlite3_step(st->get());
  if (rc == SQLITE_DONE) {
    return std::optional<RunRecord>();
  }
  if (rc != SQLITE_ROW) {
    return sql_error("read runs");
  }
  RunRecord r;
  r.started = sqlite3_column_int64(st->get(), 0);
  r.finished = sqlite3_column_int64(st->get(), 1);
  r.mode = column(st->get(), 2);
  r.writes = sqlite3_column_int64(st->get(), 3);
  r.requests = sqlite3_column_int64(st->get(), 4);
  r.retries = sqlite3_column_int64(st->get(), 5);
  r.throttles = sqlite3_column_int64(st->get(), 6);
  r.failures = sqlite3_column_int64(st->get(), 7);
  r.summary = column(st->get(), 8);
  return std::optional<RunRecord>(std::move(r));
}

Status State::record_failure(const Failure &f) {
  auto st = prepare("INSERT INTO failures (target, at, object, message) VALUES (?,?,?,?)");
  if (!st) {
    return st.take_error();
  }
  bind(st->get(), 1, target_);
  sqlite3_bind_int64(st->get(), 2, f.at);
  bind(st->get(), 3, f.object);
  bind(st->get(), 4, f.message);
  if (sqlite3_step(st->get()) != SQLITE_DONE) {
    return sql_error("record failure");
  }
  return {};
}

Status State::clear_failures() {
  auto st = prepare("DELETE FROM failures WHERE target=?");
  if (!st) {
    return st.take_error();
  }
  bind(st->get(), 1, target_);
  if (sqlite3_step(st->get()) != SQLITE_DONE) {
    return sql_error("clear failures");
  }
  return {};
}

Result<std::vector<Failure>> State::failures(int limit) {
  auto st =
      prepare("SELECT at, object, message FROM failures WHERE target=? ORDER BY rowid LIMIT ?");
  if (!st) {
    return st.take_error();
  }
  bind(st->get(), 1, target_);
  sqlite3_bind_int(st->get(), 2, limit);
  std::vector<Failure> out;
  int rc;
  while ((rc = sqlite3_step(st->get())) == SQLITE_ROW) {
    out.push_back({sqlite3_column_int64(st->get(), 0), column(st->get(), 1), column(st->get(), 2)});
  }
  if (rc != SQLITE_DONE) {
    return sql_error("read failures");
  }
  return out;
}

}  // namespace edgeidp::scim
