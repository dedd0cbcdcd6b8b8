/*
 * Unit tests of consensus/budget.h: takes within both bounds succeed, a take past the
 * peer's bound or the total fails and takes nothing, giving back makes room again (for
 * that peer and for the others), and entries of peers that hold nothing are dropped, so
 * ever new peer ids (a reconnect is one) cost no memory once they have given back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "consensus/budget.h"

static void
test_per_peer_and_total_bounds(void **state)
{
    (void)state;
    struct budget b;
    budget_init(&b, 100, 40);
    assert_true(budget_take(&b, 1, 30));
    assert_true(budget_take(&b, 1, 10));
    assert_false(budget_take(&b, 1, 1)); /* peer 1 is at its 40 */
    assert_int_equal(budget_of(&b, 1), 40);
    assert_true(budget_take(&b, 2, 40));
    assert_false(budget_take(&b, 3, 21)); /* 80 of 100 taken */
    assert_int_equal(budget_of(&b, 3), 0);
    assert_true(budget_take(&b, 3, 20));
    assert_false(budget_take(&b, 4, 1));
    assert_int_equal(b.total, 100);
    /* Giving back makes room for the peer and for the others. */
    budget_give(&b, 1, 30);
    assert_true(budget_take(&b, 4, 25));
    assert_false(budget_take(&b, 1, 30));
    assert_true(budget_take(&b, 1, 5));
    assert_false(budget_take(&b, 1, SIZE_MAX)); /* no overflow */
    budget_free(&b);
}

static void
test_peers_that_gave_everything_back_are_forgotten(void **state)
{
    (void)state;
    struct budget b;
    budget_init(&b, 1000, 10);
    for (uint32_t id = 1; id <= 5000; id++) {
        assert_true(budget_take(&b, id, 10));
        budget_give(&b, id, 10);
    }
    assert_int_equal(b.n, 0);
    assert_int_equal(b.total, 0);
    assert_true(b.cap <= 16);
    budget_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_peer_and_total_bounds),
        cmocka_unit_test(test_peers_that_gave_everything_back_are_forgotten),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
