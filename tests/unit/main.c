/* Runs every unit suite; one suite per module. */
#include <check.h>
#include <stdlib.h>

Suite *config_suite(void);
Suite *reltime_suite(void);
Suite *pki_suite(void);

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    int failed;

    srunner_add_suite(sr, reltime_suite());
    srunner_add_suite(sr, pki_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
