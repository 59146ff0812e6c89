"""The rate-limit window's arithmetic, one path at a time: the minute turning (by one and by more),
token settlements into the previous minute, a sync round in flight while the minute turns, a
failed push put back after the minute turned, and the wait until a request fits."""

from __future__ import annotations

import pytest

from routerx.limits.window import MINUTE_S, Window, wait_to_fit

MINUTE = 29_000_000


def counts(window: Window) -> tuple[int, int, int, int]:
    return window.requests, window.tokens, window.prev_requests, window.prev_tokens


def unsent(window: Window) -> tuple[int, int, int, int]:
    return (
        window.unsent_requests,
        window.unsent_tokens,
        window.unsent_prev_requests,
        window.unsent_prev_tokens,
    )


def window_with(requests: int, tokens_each: int, used: list[Window] | None = None) -> Window:
    window = Window(7, "t:7", MINUTE, used)
    for _ in range(requests):
        window.count(tokens_each)
    return window


def test_a_new_window_is_empty_and_joins_the_used_list() -> None:
    used: list[Window] = []
    window = Window(7, "t:7", MINUTE, used)
    assert (window.subject, window.name, window.minute) == (7, "t:7", MINUTE)
    assert counts(window) == unsent(window) == (0, 0, 0, 0)
    assert window.used is True and used == [window]
    assert Window(8, "t:8", MINUTE, None).used_list is None


def test_mark_used_rejoins_the_list_once_after_a_sync_round_cleared_it() -> None:
    used: list[Window] = []
    window = Window(7, "t:7", MINUTE, used)
    window.mark_used()
    assert used == [window]  # already listed: not twice
    used.clear()
    window.used = False  # what a sync round does after taking the list
    window.mark_used()
    window.mark_used()
    assert used == [window] and window.used is True


def test_count_adds_a_request_and_its_tokens_to_both_totals() -> None:
    window = window_with(2, 30)
    window.count(5)
    assert counts(window) == (3, 65, 0, 0)
    assert unsent(window) == (3, 65, 0, 0)


def test_rolling_by_one_minute_makes_the_current_minute_the_previous_one() -> None:
    window = window_with(3, 10)
    window.take_unsent()
    window.count(4)
    window.roll(MINUTE + 1)
    assert window.minute == MINUTE + 1
    assert counts(window) == (0, 0, 4, 34)
    assert unsent(window) == (0, 0, 1, 4)  # only what was not pushed yet


def test_rolling_by_more_than_a_minute_forgets_both() -> None:
    window = window_with(3, 10)
    window.roll(MINUTE + 1)
    window.count(2)
    window.roll(MINUTE + 3)
    assert window.minute == MINUTE + 3
    assert counts(window) == unsent(window) == (0, 0, 0, 0)


@pytest.mark.parametrize("minute", [MINUTE, MINUTE - 1])
def test_rolling_never_goes_backwards(minute: int) -> None:
    window = window_with(2, 10)
    window.roll(minute)
    assert window.minute == MINUTE
    assert counts(window) == unsent(window) == (2, 20, 0, 0)


def test_settling_tokens_into_the_current_minute() -> None:
    used: list[Window] = []
    window = window_with(1, 100, used)
    window.take_unsent()
    window.used = False
    used.clear()
    window.adjust_tokens(MINUTE, -30)
    assert counts(window) == (1, 70, 0, 0)
    assert unsent(window) == (0, -30, 0, 0)  # the store is told to take 30 back
    assert used == [window]
    window.adjust_tokens(MINUTE, -500)
    assert window.tokens == 0  # never below zero here
    assert window.unsent_tokens == -530  # but the whole correction is pushed


def test_settling_tokens_into_the_previous_minute_after_it_turned() -> None:
    window = window_with(1, 100)
    window.roll(MINUTE + 1)
    window.take_unsent()
    window.adjust_tokens(MINUTE, 25)
    assert counts(window) == (0, 0, 1, 125)
    assert unsent(window) == (0, 0, 0, 25)
    window.adjust_tokens(MINUTE, -1_000)
    assert window.prev_tokens == 0 and window.unsent_prev_tokens == -975


def test_settling_a_minute_that_left_the_window_changes_nothing() -> None:
    used: list[Window] = []
    window = window_with(1, 100, used)
    window.roll(MINUTE + 2)
    window.used = False
    used.clear()
    window.adjust_tokens(MINUTE, 50)
    assert counts(window) == unsent(window) == (0, 0, 0, 0)
    assert used == [window]  # marked anyway: harmless, the next round finds nothing to push


def test_take_unsent_hands_over_the_deltas_and_keeps_the_totals() -> None:
    window = window_with(2, 10)
    window.roll(MINUTE + 1)
    window.count(3)
    assert window.take_unsent() == (1, 3, 2, 20)
    assert unsent(window) == (0, 0, 0, 0)
    assert counts(window) == (1, 3, 2, 20)


def test_a_failed_push_is_put_back_in_the_same_minute() -> None:
    used: list[Window] = []
    window = window_with(2, 10, used)
    taken = window.take_unsent()
    window.count(1)  # counted while the push was in flight
    window.used = False
    used.clear()
    window.restore_unsent(MINUTE, (*taken[:2], 4, 40))
    assert unsent(window) == (3, 21, 4, 40)
    assert used == [window]


def test_a_failed_push_put_back_after_the_minute_turned_lands_in_the_previous_minute() -> None:
    used: list[Window] = []
    window = window_with(2, 10, used)
    taken = window.take_unsent()
    window.roll(MINUTE + 1)
    window.count(1)
    window.used = False
    used.clear()
    window.restore_unsent(MINUTE, (*taken[:2], 9, 90))
    # The pushed minute is now the previous one; its own previous minute has left the window.
    assert unsent(window) == (1, 1, 2, 20)
    assert used == [window]


def test_a_failed_push_two_minutes_old_is_dropped() -> None:
    window = window_with(2, 10)
    taken = window.take_unsent()
    window.roll(MINUTE + 2)
    window.restore_unsent(MINUTE, taken)
    assert unsent(window) == (0, 0, 0, 0)


def test_shared_totals_of_the_current_minute_keep_what_was_counted_since() -> None:
    window = window_with(2, 10)
    window.take_unsent()
    window.count(5)  # counted while the sync round was in flight
    window.adjust_tokens(MINUTE, -20)
    window.apply_shared(MINUTE, (50, 500, 40, 400))
    assert counts(window) == (51, 485, 40, 400)
    window.unsent_prev_requests, window.unsent_prev_tokens = 2, -900
    window.apply_shared(MINUTE, (50, 10, 40, 400))
    assert counts(window) == (51, 0, 42, 0)  # token totals are never negative


def test_shared_totals_that_arrive_after_the_minute_turned_become_the_previous_minute() -> None:
    window = window_with(2, 10)
    window.take_unsent()
    window.count(4)  # counted while the round was in flight, before the minute turned
    window.roll(MINUTE + 1)
    window.count(7)
    window.adjust_tokens(MINUTE, 3)  # a settlement for the minute the round pushed
    window.apply_shared(MINUTE, (60, 600, 30, 300))
    assert counts(window) == (1, 7, 61, 607)
    window.adjust_tokens(MINUTE, -2_000)
    window.apply_shared(MINUTE, (60, 600, 30, 300))
    assert window.prev_tokens == 0


def test_shared_totals_for_a_minute_no_longer_held_are_ignored() -> None:
    window = window_with(2, 10)
    window.roll(MINUTE + 2)
    window.apply_shared(MINUTE, (60, 600, 30, 300))
    assert counts(window) == (0, 0, 0, 0)
    window.apply_shared(MINUTE + 3, (60, 600, 30, 300))
    assert counts(window) == (0, 0, 0, 0)


def test_a_cost_above_the_limit_never_fits_and_one_at_the_limit_does() -> None:
    assert wait_to_fit(0, 0, 11, 10, 0.0) is None
    assert wait_to_fit(0, 10, 10, 10, 30.0) == pytest.approx(60.001 + 30.0)


def test_fitting_this_minute_waits_for_the_previous_minute_to_decay() -> None:
    # previous 10, current 2, cost 1, limit 10: 30 % of the previous minute must leave.
    assert wait_to_fit(10, 2, 1, 10, 15.0) == pytest.approx(0.3 * MINUTE_S - 15.0 + 0.001)
    assert wait_to_fit(10, 2, 1, 10, 30.0) == pytest.approx(0.001)  # it already has


def test_fitting_only_next_minute_waits_for_this_minute_to_decay_there() -> None:
    # current 10, cost 5, limit 10: next minute, half of this one must have left the window.
    assert wait_to_fit(4, 10, 5, 10, 20.0) == pytest.approx(40.0 + 30.0 + 0.001)
