// SCIM: config, resource mapping, planning, AWS error bodies, retry timing
// and the SQLite state.
#include "config/config.h"
#include "fixture.h"
#include "scim/client.h"
#include "scim/errors.h"
#include "scim/plan.h"
#include "scim/resource.h"
#include "scim/retry.h"
#include "scim/state.h"

using namespace edgeidp;

namespace {

constexpr const char *kTarget = R"(
[[scim]]
name = "ic"
endpoint = "https://scim.eu-west-1.amazonaws.com/abc/scim/v2/"
token_file = "scim-token"
state = "scim.db"
)";

struct Parsed {
  bool ok = false;
  std::string error;
  std::shared_ptr<const config::Config> cfg;
};

Parsed parse(const std::string &extra) {
  Parsed p;
  config::LoadOptions opts;
  opts.load_keys = false;
  auto cfg = config::parse(test::base_config() + extra, "/etc/edgeidp/edgeidp.toml", opts);
  p.ok = cfg.ok();
  if (cfg) {
    p.cfg = *cfg;
  } else {
    p.error = cfg.error().describe();
  }
  return p;
}

std::shared_ptr<const directory::Directory> dir(const std::string &extra = "") {
  auto d = directory::Directory::parse(std::string(test::kDirectory) + extra, "directory.toml");
  return d ? *d : nullptr;
}

void config_defaults(void **) {
  const Parsed p = parse(kTarget);
  assert_true(p.ok);
  assert_int_equal(p.cfg->scim.size(), 1);
  const auto &t = p.cfg->scim[0];
  assert_string_equal(t.endpoint.c_str(), "https://scim.eu-west-1.amazonaws.com/abc/scim/v2");
  assert_string_equal(t.token_file.c_str(), "/etc/edgeidp/scim-token");
  assert_string_equal(t.state_file.c_str(), "/etc/edgeidp/scim.db");
  assert_true(t.exclude_service_accounts);
  assert_true(t.deprovision == config::Deprovision::deactivate);
  assert_int_equal(t.max_in_flight, 8);
  assert_string_equal(t.user.given_name.source().c_str(), "{user.name|given_name}");
}

void config_errors(void **) {
  const std::string tok = parse(std::string(kTarget) + "token = \"secret\"\n").error;
  assert_true(test::contains(tok, "scim[0].token: a token never goes in the config"));
  assert_false(test::contains(tok, "secret"));
  assert_true(test::contains(parse(std::string(kTarget) + "colour = 1\n").error,
                             "scim[0].colour: unknown key"));
  const std::string http =
      parse("[[scim]]\nname=\"x\"\nendpoint=\"http://scim.example.com/v2\"\ntoken_file=\"t\"\n")
          .error;
  assert_true(test::contains(http, "scim[0].endpoint"));
  assert_true(test::contains(parse(std::string(kTarget) + "app = \"nope\"\n").error,
                             "no [[app]] is named \"nope\""));
  assert_true(
      test::contains(parse(std::string(kTarget) + "[scim.user]\nemail = \"{user.bad}\"\n").error,
                     "scim[0].user.email"));
  assert_true(test::contains(parse(std::string(kTarget) + kTarget).error, "duplicate scim target"));
  assert_true(test::contains(parse(std::string(kTarget) + "deprovision = \"wipe\"\n").error,
                             "deprovision"));
}

struct Mapped {
  std::string alice, carol, dave;
  std::size_t users = 0, groups = 0, admins_members = 0;
  bool x_in = false;
  bool external_id_is_uid = false;
};

Mapped map(const std::string &extra) {
  Mapped m;
  const Parsed p = parse(std::string(kTarget) + extra);
  const auto d =
      dir("[[user]]\nusername = \"svc\"\nservice_account = true\n"
          "groups = [\"aws-admins\"]\n");
  if (!p.ok || d == nullptr) {
    return m;
  }
  const auto desired = scim::build_desired(p.cfg->scim[0], *d);
  // Keys are directory uids (a digest of the username unless set).
  const auto text = [&](const char *name) {
    for (const auto &[key, u] : desired.users) {
      if (u.user_name == name) {
        scim::json body = u.body;
        m.external_id_is_uid =
            m.external_id_is_uid || body["externalId"] == d->find_user(name)->uid;
        body.erase("externalId");
        return scim::to_text(body);
      }
    }
    return std::string();
  };
  m.alice = text("alice");
  m.carol = text("carol");
  m.dave = text("dave");
  m.users = desired.users.size();
  m.groups = desired.groups.size();
  m.admins_members = desired.members.at("aws-admins").size();
  m.x_in = !text("x").empty();
  return m;
}

void user_mapping_follows_aws_rules(void **) {
  const Mapped m = map("");
  assert_string_equal(
      m.alice.c_str(),
      "{\"active\":true,\"displayName\":\"Alice Example\",\"emails\":[{\"primary\":true,\"type\":"
      "\"work\",\"value\":\"alice@example.com\"}],\"name\":{"
      "\"familyName\":\"Example\",\"givenName\":\"Alice\"},\"schemas\":[\"urn:ietf:params:scim:"
      "schemas:core:2.0:User\"],\"userName\":\"alice\"}");
  // One word: AWS still needs a familyName; no email: no emails at all.
  assert_true(test::contains(m.carol, "\"name\":{\"familyName\":\" \",\"givenName\":\"Carol\"}"));
  assert_false(test::contains(m.carol, "emails"));
  assert_true(test::contains(m.dave, "\"active\":false"));
  assert_false(test::contains(m.alice, "photos"));
  assert_true(m.external_id_is_uid);
  assert_int_equal(m.users, 5);  // the service account is left out
  assert_int_equal(m.groups, 3);
  assert_int_equal(m.admins_members, 2);  // alice, dave; not svc
}

void filter_group_and_group_list(void **) {
  const Mapped m =
      map("filter_group = \"aws-readonly\"\ngroups = [\"aws-admins\"]\n"
          "exclude_service_accounts = false\n[scim.group]\n"
          "display_name = \"AWS {group.name|upper}\"\n");
  assert_int_equal(m.users, 3);  // alice, bob, x
  assert_true(m.x_in);
  assert_int_equal(m.groups, 1);
  assert_int_equal(m.admins_members, 1);  // alice only: dave and svc are filtered out
}

struct Planned {
  std::size_t creates = 0, updates = 0, deactivates = 0, removes = 0, notes = 0, member_changes = 0;
  std::size_t min_requests = 0;
  std::string text;
  bool empty = false;
};

Planned plan_with(const std::string &extra, void (*edit)(scim::Snapshot &, scim::Desired &)) {
  Planned out;
  const Parsed p = parse(std::string(kTarget) + extra);
  const auto d = dir();
  if (!p.ok || d == nullptr) {
    return out;
  }
  scim::Desired desired = scim::build_desired(p.cfg->scim[0], *d);
  scim::Snapshot snap;
  edit(snap, desired);
  const scim::Plan plan = scim::make_plan(p.cfg->scim[0], desired, snap);
  for (const auto *list : {&plan.users, &plan.groups}) {
    for (const auto &c : *list) {
      out.creates += c.op == scim::Op::create;
      out.updates += c.op == scim::Op::update;
      out.deactivates += c.op == scim::Op::deactivate;
      out.removes += c.op == scim::Op::remove;
    }
  }
  out.notes = plan.notes.size();
  out.member_changes = plan.members.size();
  out.min_requests = plan.min_requests();
  out.text = scim::format_plan(plan, desired, snap);
  out.empty = plan.empty();
  return out;
}

std::string key_of(const scim::Desired &d, const std::string &user_name) {
  for (const auto &[key, u] : d.users) {
    if (u.user_name == user_name) {
      return key;
    }
  }
  return user_name;
}

// Makes the snapshot what a finished sync of 'desired' would have left.
void synced(scim::Snapshot &snap, scim::Desired &desired) {
  for (const auto &[k, u] : desired.users) {
    snap.users[k] = {k, "id-" + k, u.hash, scim::to_text(u.body), true, false};
  }
  for (const auto &[k, g] : desired.groups) {
    snap.groups[k] = {k, "gid-" + k, g.hash, scim::to_text(g.body), true, false};
  }
  snap.members = desired.members;
}

void plan_initial(void **) {
  const Planned p = plan_with("", [](scim::Snapshot &, scim::Desired &) {});
  assert_int_equal(p.creates, 4 + 3);  // dave is inactive and never pushed: not created
  assert_int_equal(p.member_changes, 3);
  assert_true(test::contains(p.text, "+ user alice (create)\n"));
  assert_true(test::contains(p.text, "      name.givenName: (none) -> \"Alice\"\n"));
  assert_true(test::contains(p.text, "~ group aws-admins (members)\n      + alice\n"));
  assert_false(test::contains(p.text, "+ dave"));
}

void plan_noop_and_update(void **) {
  assert_true(plan_with("", synced).empty);
  const Planned p = plan_with("", [](scim::Snapshot &s, scim::Desired &d) {
    synced(s, d);
    auto &bob = s.users[key_of(d, "bob")];
    bob.hash = "old";
    bob.body = R"({"displayName":"Bobby","userName":"bob"})";
  });
  assert_int_equal(p.updates, 1);
  assert_int_equal(p.min_requests, 1);
  assert_true(test::contains(p.text, "~ user bob (update)\n"));
  assert_true(test::contains(p.text, "displayName: \"Bobby\" -> \"Bob Example\"\n"));
}

void plan_deprovision_only_what_we_own(void **) {
  const auto gone = [](scim::Snapshot &s, scim::Desired &d) {
    synced(s, d);
    s.users["zed"] = {"zed", "id-zed", "h", R"({"userName":"zed"})", true, false};
    s.users["manual"] = {"manual", "id-m", "h", R"({"userName":"manual"})", false, false};
    s.users["old"] = {"old", "id-o", "", R"({"userName":"old"})", true, true};
    s.members["aws-admins"].insert("zed");
  };
  const Planned p = plan_with("", gone);
  assert_int_equal(p.deactivates, 1);  // zed; old is already deactivated
  assert_int_equal(p.removes, 0);
  assert_true(test::contains(p.text, "- user zed (deactivate)"));
  assert_true(test::contains(p.text, "# user manual: not created by edgeidp, left alone"));
  assert_true(test::contains(p.text, "~ group aws-admins (members)\n      - zed\n"));
  const Planned del = plan_with("deprovision = \"delete\"\n", gone);
  assert_int_equal(del.removes, 1);
  const Planned adopt = plan_with("adopt_existing = true\n", gone);
  assert_int_equal(adopt.deactivates, 2);
}

void plan_batches_member_changes(void **) {
  const Planned p = plan_with("", [](scim::Snapshot &s, scim::Desired &d) {
    synced(s, d);
    for (int i = 0; i < 250; ++i) {
      const std::string k = "u" + std::to_string(i);
      scim::UserResource u;
      u.key = k;
      u.user_name = k;
      u.hash = "h";
      d.users[k] = u;
      s.users[k] = {k, "id", "h", "{}", true, false};
      d.members["staff"].insert(k);
    }
  });
  assert_int_equal(p.member_changes, 1);
  assert_int_equal(p.min_requests, 3);  // 250 adds in PATCHes of at most 100
}

void aws_error_bodies(void **) {
  const auto e = scim::parse_error_body(
      R"({"schema":"urn:ietf:params:scim:api:messages:2.0:Error","schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"detail":"Duplicate userName","status":"409","exceptionRequestId":"r-1","timeStamp":"2024-01-01 10:00:00.123"})");
  assert_int_equal(e.status, 409);
  assert_string_equal(e.detail.c_str(), "Duplicate userName");
  assert_string_equal(e.request_id.c_str(), "r-1");
  assert_int_equal(scim::parse_error_body(R"({"status":429,"scimType":"tooMany"})").status, 429);
  assert_int_equal(scim::parse_error_body(R"({"status":"x4"})").status, 0);
  assert_int_equal(scim::parse_error_body("<html>502 Bad Gateway</html>").status, 0);
  assert_int_equal(scim::parse_error_body("").status, 0);
  assert_int_equal(scim::parse_error_body("[1,2").status, 0);
  assert_string_equal(
      scim::describe_failure(
          409, R"({"detail":"Group already exists","status":"409","__type":"ConflictException"})")
          .c_str(),
      "HTTP 409 (ConflictException): Group already exists");
  assert_string_equal(scim::describe_failure(500, "oops").c_str(), "HTTP 500");
}

void retry_decisions(void **) {
  const scim::RetryPolicy pol;  // 6 attempts, 500 ms base, 30 s cap
  assert_true(scim::decide(201, "", 1, pol, 0.0, 0).outcome == scim::Outcome::success);
  assert_true(scim::decide(400, "", 1, pol, 0.0, 0).outcome == scim::Outcome::fail);
  assert_true(scim::decide(409, "", 1, pol, 0.0, 0).outcome == scim::Outcome::fail);
  const auto t = scim::decide(429, "3", 1, pol, 0.9, 0);
  assert_true(t.outcome == scim::Outcome::retry && t.throttled);
  assert_int_equal(t.delay_ms, 3000);
  // Jitter is half the delay: attempt 3 backs off 2000 ms, 1000 fixed + 0..1000.
  assert_int_equal(scim::decide(500, "", 3, pol, 0.0, 0).delay_ms, 1000);
  assert_int_equal(scim::decide(500, "", 3, pol, 0.5, 0).delay_ms, 1500);
  assert_int_equal(scim::decide(0, "", 1, pol, 0.0, 0).delay_ms, 250);  // connection error
  assert_int_equal(scim::backoff_ms(30, pol, 1.0), 30000);              // capped
  assert_true(scim::decide(503, "", 6, pol, 0.0, 0).outcome == scim::Outcome::fail);
  assert_int_equal(scim::decide(429, "", 1, pol, 0.0, 0).delay_ms, 250);  // no header: backoff
  assert_int_equal(scim::retry_after_ms("Wed, 21 Oct 2015 07:28:05 GMT", 1445412480), 5000);
  assert_int_equal(scim::retry_after_ms("soon", 0), -1);
  assert_int_equal(scim::decide(429, "99999", 1, pol, 0.0, 0).delay_ms, 300000);
}

void eq_filters(void **) {
  assert_string_equal(scim::eq_filter_query("userName", "a b\"c").c_str(),
                      "?filter=userName%20eq%20%22a%20b%5C%22c%22");
}

struct StateRound {
  bool ok = false;
  std::size_t users = 0, members = 0;
  std::string remote_id;
  bool owned = true, run_finished = false;
};

StateRound state_round_trip(const std::string &dir_path) {
  StateRound r;
  const std::string path = dir_path + "/state.db";
  {
    auto st = scim::State::open(path, "ic");
    if (!st) {
      return r;
    }
    scim::State &s = **st;
    if (!s.put(scim::Kind::user, {"alice", "id-a", "h1", "{}", false, false}) ||
        !s.put(scim::Kind::user, {"bob", "id-b", "h2", "{}", true, false}) ||
        !s.add_members("g", {"alice", "bob"}) || !s.remove_members("g", {"bob"}) ||
        !s.erase(scim::Kind::user, "bob")) {
      return r;
    }
    scim::RunRecord run;
    run.started = 1;
    run.mode = "sync";
    auto id = s.begin_run(run);
    if (!id) {
      return r;
    }
  }
  auto st = scim::State::open(path, "ic");
  auto other = scim::State::open(path, "other");
  if (!st || !other) {
    return r;
  }
  auto snap = (*st)->load();
  auto none = (*other)->load();
  auto last = (*st)->last_run();
  if (!snap || !none || !none->users.empty() || !last || !*last) {
    return r;
  }
  r.ok = true;
  r.users = snap->users.size();
  r.members = snap->members["g"].size();
  r.remote_id = snap->users["alice"].remote_id;
  r.owned = snap->users["alice"].owned;
  r.run_finished = (*last)->finished != 0;
  return r;
}

void state_persists(void **) {
  const std::string d = test::make_temp_dir();
  const StateRound r = state_round_trip(d);
  struct stat st {};
  const bool private_file = ::stat((d + "/state.db").c_str(), &st) == 0 && (st.st_mode & 077) == 0;
  test::remove_tree(d);
  assert_true(r.ok);
  assert_int_equal(r.users, 1);
  assert_int_equal(r.members, 1);
  assert_string_equal(r.remote_id.c_str(), "id-a");
  assert_false(r.owned);
  assert_false(r.run_finished);  // begun, never finished: shows as interrupted
  assert_true(private_file);
}

}  // namespace

int main() {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(config_defaults),
      cmocka_unit_test(config_errors),
      cmocka_unit_test(user_mapping_follows_aws_rules),
      cmocka_unit_test(filter_group_and_group_list),
      cmocka_unit_test(plan_initial),
      cmocka_unit_test(plan_noop_and_update),
      cmocka_unit_test(plan_deprovision_only_what_we_own),
      cmocka_unit_test(plan_batches_member_changes),
      cmocka_unit_test(aws_error_bodies),
      cmocka_unit_test(retry_decisions),
      cmocka_unit_test(eq_filters),
      cmocka_unit_test(state_persists),
  };
  return cmocka_run_group_tests(tests, nullptr, nullptr);
}
