/* Runs every unit suite; one suite per module. */
#include <check.h>
#include <stdlib.h>

#include "tls.h"

Suite *config_suite(void);
Suite *reltime_suite(void);
Suite *pki_suite(void);
Suite *verdict_suite(void);
Suite *hello_suite(void);
Suite *fingerprint_suite(void);

int main(void)
{
    SRunner *sr;
    int failed;

    if (zoo_tls_global_init() != 0) {
        return EXIT_FAILURE;
    }
    sr = srunner_create(config_suite());
    srunner_add_suite(sr, reltime_suite());
    srunner_add_suite(sr, pki_suite());
    srunner_add_suite(sr, verdict_suite());
    srunner_add_suite(sr, hello_suite());
    srunner_add_suite(sr, fingerprint_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    zoo_tls_global_cleanup();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
