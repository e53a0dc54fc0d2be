/* Durations and dates in scenario files. */
#include <check.h>
#include <string.h>

#include "error.h"
#include "reltime.h"

START_TEST(reltime_parses_signed_units)
{
    struct zoo_when w;
    char err[160];

    ck_assert_int_eq(zoo_when_parse("-30d", &w, err, sizeof(err)), 0);
    ck_assert(w.relative);
    ck_assert_int_eq(w.value, -30 * 86400);
    ck_assert_int_eq(zoo_when_parse("+12h", &w, err, sizeof(err)), 0);
    ck_assert_int_eq(w.value, 12 * 3600);
    ck_assert_int_eq(zoo_when_parse("90m", &w, err, sizeof(err)), 0);
    ck_assert_int_eq(w.value, 5400);
    ck_assert_int_eq(zoo_when_parse("0s", &w, err, sizeof(err)), 0);
    ck_assert_int_eq(w.value, 0);
}
END_TEST

START_TEST(reltime_rejects_bad_durations)
{
    static const char *bad[] = {
        "", "d", "30", "30x", "30dd", "- 3d", "3.5d", "++3d", "99999999999999999999d", "40000d"};
    struct zoo_when w;
    char err[160];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(zoo_when_parse(bad[i], &w, err, sizeof(err)) == ZOO_EINVAL, "accepted '%s'",
                      bad[i]);
        ck_assert_ptr_nonnull(strstr(err, "duration"));
    }
}
END_TEST

START_TEST(reltime_parses_rfc3339)
{
    struct zoo_when w;
    char err[160];

    ck_assert_int_eq(zoo_when_parse("2030-01-31T12:00:00Z", &w, err, sizeof(err)), 0);
    ck_assert(!w.relative);
    ck_assert_int_eq(w.value, 1896091200);
    ck_assert_int_eq(zoo_when_parse("2030-01-31T14:00:00+02:00", &w, err, sizeof(err)), 0);
    ck_assert_int_eq(w.value, 1896091200);
    ck_assert_int_eq(zoo_when_parse("2024-02-29T00:00:00Z", &w, err, sizeof(err)), 0);
    ck_assert_int_eq(zoo_when_resolve(&w, 12345), 1709164800);
}
END_TEST

START_TEST(reltime_rejects_bad_dates)
{
    static const char *bad[] = {"2030-13-01T00:00:00Z",  "2023-02-29T00:00:00Z",
                                "2030-01-01T25:00:00Z",  "2030-01-01T00:00:00",
                                "2030-01-01T00:00:00+2", "2030-1-01T00:00:00Z"};
    struct zoo_when w;
    char err[160];

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_msg(zoo_when_parse(bad[i], &w, err, sizeof(err)) == ZOO_EINVAL, "accepted '%s'",
                      bad[i]);
        ck_assert_ptr_nonnull(strstr(err, "RFC 3339"));
    }
}
END_TEST

START_TEST(reltime_resolves_relative_to_now)
{
    struct zoo_when w = {true, -86400};

    ck_assert_int_eq(zoo_when_resolve(&w, 1000000), 1000000 - 86400);
}
END_TEST

Suite *reltime_suite(void)
{
    Suite *s = suite_create("reltime");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, reltime_parses_signed_units);
    tcase_add_test(tc, reltime_rejects_bad_durations);
    tcase_add_test(tc, reltime_parses_rfc3339);
    tcase_add_test(tc, reltime_rejects_bad_dates);
    tcase_add_test(tc, reltime_resolves_relative_to_now);
    suite_add_tcase(s, tc);
    return s;
}
