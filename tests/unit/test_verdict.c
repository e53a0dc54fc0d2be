/* Verdicts and failure classification, from plain reports: no sockets. */
#include <check.h>
#include <string.h>

#include "alert.h"
#include "outcome.h"
#include "verdict.h"

static struct zoo_scenario reject_scenario, accept_scenario;

static void setup(void)
{
    zoo_scenario_init(&reject_scenario);
    reject_scenario.name = "expired";
    reject_scenario.summary = "Leaf certificate expired 30 days ago";
    reject_scenario.host = "expired.tlszoo.localhost";
    reject_scenario.expect.outcome = ZOO_OUTCOME_REJECT;
    reject_scenario.expect.alert = "certificate_expired";
    zoo_scenario_init(&accept_scenario);
    accept_scenario.name = "sni-strict";
    accept_scenario.host = "sni-strict.tlszoo.localhost";
    accept_scenario.sni_require = true;
}

static enum zoo_verdict judge(const struct zoo_scenario *s, enum zoo_result result, int alert,
                              bool app_data, char *why)
{
    struct zoo_report r = {.scenario = s,
                           .result = result,
                           .alert_code = alert,
                           .app_data = app_data,
                           .bytes_in = 517};
    return zoo_verdict_judge(&r, why, 512);
}

START_TEST(verdict_fails_client_that_accepts_defect_and_sends_data)
{
    char why[512];

    ck_assert_int_eq(judge(&reject_scenario, ZOO_RESULT_COMPLETED, 0, true, why), ZOO_VERDICT_FAIL);
    ck_assert_str_eq(why, "client accepted the defect and sent data: Leaf certificate expired "
                          "30 days ago");
}
END_TEST

START_TEST(verdict_suspects_client_that_completes_without_data)
{
    char why[512];

    ck_assert_int_eq(judge(&reject_scenario, ZOO_RESULT_COMPLETED, 0, false, why),
                     ZOO_VERDICT_SUSPECT);
    ck_assert_ptr_nonnull(strstr(why, "no data was sent"));
}
END_TEST

START_TEST(verdict_passes_client_alert_and_names_it)
{
    char why[512];

    ck_assert_int_eq(judge(&reject_scenario, ZOO_RESULT_CLIENT_ALERT, 45, false, why),
                     ZOO_VERDICT_PASS);
    ck_assert_str_eq(why, "refused as it should: client sent alert certificate_expired");
    judge(&reject_scenario, ZOO_RESULT_CLIENT_ALERT, 42, false, why);
    ck_assert_str_eq(why, "refused as it should: client sent alert bad_certificate (most "
                          "clients send certificate_expired)");
}
END_TEST

START_TEST(verdict_passes_close_and_reset_on_reject_scenario)
{
    char why[512];

    ck_assert_int_eq(judge(&reject_scenario, ZOO_RESULT_CLOSED, 0, false, why), ZOO_VERDICT_PASS);
    ck_assert_int_eq(judge(&reject_scenario, ZOO_RESULT_RESET, 0, false, why), ZOO_VERDICT_PASS);
}
END_TEST

START_TEST(verdict_reverses_for_accept_scenario)
{
    char why[512];

    ck_assert_int_eq(judge(&accept_scenario, ZOO_RESULT_COMPLETED, 0, true, why), ZOO_VERDICT_PASS);
    ck_assert_int_eq(judge(&accept_scenario, ZOO_RESULT_COMPLETED, 0, false, why),
                     ZOO_VERDICT_PASS);
    ck_assert_int_eq(judge(&accept_scenario, ZOO_RESULT_CLIENT_ALERT, 48, false, why),
                     ZOO_VERDICT_FAIL);
    ck_assert_str_eq(why, "connection failed on an endpoint a correct client accepts: client "
                          "sent alert unknown_ca");
    ck_assert_int_eq(judge(&accept_scenario, ZOO_RESULT_SERVER_ALERT, 112, false, why),
                     ZOO_VERDICT_FAIL);
}
END_TEST

START_TEST(verdict_suspects_timeouts_and_garbage)
{
    char why[512];

    ck_assert_int_eq(judge(&reject_scenario, ZOO_RESULT_TIMEOUT, 0, false, why),
                     ZOO_VERDICT_SUSPECT);
    ck_assert_int_eq(judge(&accept_scenario, ZOO_RESULT_MALFORMED, 0, false, why),
                     ZOO_VERDICT_SUSPECT);
}
END_TEST

START_TEST(verdict_suspects_connections_that_sent_nothing)
{
    struct zoo_report r = {.scenario = &reject_scenario, .result = ZOO_RESULT_CLOSED};
    char why[512];

    ck_assert_int_eq(zoo_verdict_judge(&r, why, sizeof(why)), ZOO_VERDICT_SUSPECT);
    ck_assert_str_eq(why, "client connected and sent nothing (a port probe?)");
    r.scenario = &accept_scenario;
    r.result = ZOO_RESULT_RESET;
    ck_assert_int_eq(zoo_verdict_judge(&r, why, sizeof(why)), ZOO_VERDICT_SUSPECT);
}
END_TEST

START_TEST(verdict_suspects_connections_cut_by_shutdown)
{
    struct zoo_report r = {.scenario = &reject_scenario,
                           .result = ZOO_RESULT_CLOSED,
                           .server_stopped = true,
                           .bytes_in = 5};
    char why[512];

    ck_assert_int_eq(zoo_verdict_judge(&r, why, sizeof(why)), ZOO_VERDICT_SUSPECT);
    ck_assert_str_eq(why, "the server stopped before the client finished the handshake");
}
END_TEST

static struct zoo_tls_info no_tls(void)
{
    struct zoo_tls_info info = {.alert_received = -1, .alert_sent = -1};
    return info;
}

START_TEST(outcome_prefers_client_alert_seen_in_records)
{
    struct zoo_tls_info tls = no_tls();
    struct zoo_failure f = {&reject_scenario, NULL, &tls, 45, true, false, true};
    struct zoo_report r = {0};

    tls.alert_sent = 10; /* the engine then choked on the plaintext alert */
    zoo_outcome_failure(&f, &r);
    ck_assert_int_eq(r.result, ZOO_RESULT_CLIENT_ALERT);
    ck_assert_int_eq(r.alert_code, 45);
    ck_assert_int_eq(r.stage, ZOO_STAGE_HANDSHAKE);
}
END_TEST

START_TEST(outcome_explains_missing_sni)
{
    struct zoo_tls_info tls = no_tls();
    struct zoo_hello hello = {0};
    struct zoo_failure f = {&accept_scenario, &hello, &tls, -1, false, false, false};
    struct zoo_report r = {0};

    tls.alert_sent = 112;
    zoo_outcome_failure(&f, &r);
    ck_assert_int_eq(r.result, ZOO_RESULT_SERVER_ALERT);
    ck_assert_int_eq(r.stage, ZOO_STAGE_HELLO);
    ck_assert_str_eq(r.detail, "client sent no server_name (SNI); this endpoint requires "
                               "sni-strict.tlszoo.localhost");
    hello.has_sni = true;
    strcpy(hello.sni, "localhost");
    zoo_outcome_failure(&f, &r);
    ck_assert_str_eq(r.detail, "client asked for 'localhost'; this endpoint only answers "
                               "sni-strict.tlszoo.localhost");
}
END_TEST

START_TEST(outcome_explains_version_refusal)
{
    struct zoo_tls_info tls = no_tls();
    struct zoo_hello hello = {
        .legacy_version = 0x0303, .versions = {0x0a0a, 0x0304, 0x0303}, .n_versions = 3};
    struct zoo_failure f = {&reject_scenario, &hello, &tls, -1, false, false, false};
    struct zoo_report r = {0};

    reject_scenario.versions = ZOO_TLS10;
    tls.alert_sent = 70;
    zoo_outcome_failure(&f, &r);
    ck_assert_str_eq(r.detail, "client offered tls1.3, tls1.2; this endpoint speaks only tls1.0");
    hello.n_versions = 0;
    zoo_outcome_failure(&f, &r);
    ck_assert_str_eq(r.detail, "client offered up to tls1.2; this endpoint speaks only tls1.0");
}
END_TEST

START_TEST(outcome_tells_close_reset_and_broken_tls_apart)
{
    struct zoo_tls_info tls = no_tls();
    struct zoo_failure f = {&reject_scenario, NULL, &tls, -1, true, false, true};
    struct zoo_report r = {0};

    zoo_outcome_failure(&f, &r);
    ck_assert_int_eq(r.result, ZOO_RESULT_CLOSED);
    f.reset = true;
    zoo_outcome_failure(&f, &r);
    ck_assert_int_eq(r.result, ZOO_RESULT_RESET);
    f.reset = f.eof = false;
    strcpy(tls.error, "bad record MAC");
    zoo_outcome_failure(&f, &r);
    ck_assert_int_eq(r.result, ZOO_RESULT_MALFORMED);
    ck_assert_str_eq(r.detail, "broken TLS from the client: bad record MAC");
}
END_TEST

Suite *verdict_suite(void)
{
    Suite *s = suite_create("verdict");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, verdict_fails_client_that_accepts_defect_and_sends_data);
    tcase_add_test(tc, verdict_suspects_client_that_completes_without_data);
    tcase_add_test(tc, verdict_passes_client_alert_and_names_it);
    tcase_add_test(tc, verdict_passes_close_and_reset_on_reject_scenario);
    tcase_add_test(tc, verdict_reverses_for_accept_scenario);
    tcase_add_test(tc, verdict_suspects_timeouts_and_garbage);
    tcase_add_test(tc, verdict_suspects_connections_that_sent_nothing);
    tcase_add_test(tc, verdict_suspects_connections_cut_by_shutdown);
    tcase_add_test(tc, outcome_prefers_client_alert_seen_in_records);
    tcase_add_test(tc, outcome_explains_missing_sni);
    tcase_add_test(tc, outcome_explains_version_refusal);
    tcase_add_test(tc, outcome_tells_close_reset_and_broken_tls_apart);
    suite_add_tcase(s, tc);
    return s;
}
