"""The lead lifecycle: allowed moves, the times they stamp, and the moves it refuses."""

from __future__ import annotations

import dataclasses
from datetime import datetime

import pytest

from mappings.model import STAGES, Lead, LeadTimes, Stage, StageChange
from sync.exceptions import TransitionError
from sync.lifecycle import ALLOWED, can_move, first_seen, move
from tests.sync.builders import DAY, jst

AT = jst(2026, 1, 20, 15)
EARLIER = jst(2026, 1, 5, 10)

EXPECTED_MOVES: list[tuple[Stage, Stage]] = [
    ("lead", "mql"),
    ("lead", "disqualified"),
    ("mql", "sql"),
    ("mql", "recycled"),
    ("mql", "disqualified"),
    ("sql", "opportunity"),
    ("sql", "recycled"),
    ("sql", "disqualified"),
    ("opportunity", "won"),
    ("opportunity", "lost"),
    ("opportunity", "recycled"),
    ("lost", "recycled"),
    ("recycled", "mql"),
    ("recycled", "disqualified"),
    ("disqualified", "recycled"),
]
"""The agreed lifecycle, written out: forward, side exits, and moving back to nurture."""

FORBIDDEN_MOVES = [
    (src, dst) for src in STAGES for dst in STAGES if (src, dst) not in EXPECTED_MOVES
]

STAMPED: dict[Stage, str | None] = {
    "mql": "mql_at",
    "sql": "sql_at",
    "opportunity": None,
    "won": "closed_at",
    "lost": "closed_at",
    "recycled": "recycled_at",
    "disqualified": None,
}


def lead_in(stage: Stage, **times: datetime) -> Lead:
    return Lead("lead-1", stage=stage, times=LeadTimes(**times))


class TestAllowedMoves:
    def test_allowed_table_is_the_agreed_lifecycle(self) -> None:
        """ALLOWED holds exactly the agreed moves, won being final."""
        actual = [(src, dst) for src, targets in ALLOWED.items() for dst in targets]
        assert sorted(actual) == sorted(EXPECTED_MOVES)
        assert set(ALLOWED) == set(STAGES)
        assert ALLOWED["won"] == ()

    @pytest.mark.parametrize(("src", "dst"), EXPECTED_MOVES)
    def test_allowed_move_succeeds_and_stamps_its_time(self, src: Stage, dst: Stage) -> None:
        """An allowed move changes the stage, stamps only its own milestone and logs the move."""
        moved, change = move(lead_in(src), dst, AT, ("because",))
        assert moved.stage == dst
        expected = dataclasses.asdict(LeadTimes())
        if (field := STAMPED[dst]) is not None:
            expected[field] = AT
        assert dataclasses.asdict(moved.times) == expected
        assert change == StageChange("lead-1", src, dst, AT, ("because",))
        assert can_move(src, dst) is True

    @pytest.mark.parametrize(
        ("src", "dst"), [("sql", "recycled"), ("lost", "recycled"), ("opportunity", "recycled")]
    )
    def test_moving_back_to_nurture_is_recorded(self, src: Stage, dst: Stage) -> None:
        """Moving back to nurture keeps the reason on the lead and in the history."""
        moved, change = move(lead_in(src), dst, AT, ("予算確保は来期", "担当者異動"))
        assert (moved.stage, moved.stage_reason, moved.times.recycled_at) == (
            "recycled",
            "予算確保は来期",
            AT,
        )
        assert change.reasons == ("予算確保は来期", "担当者異動")

    def test_disqualified_keeps_its_reason(self) -> None:
        """Disqualifying a lead records the first reason as the stage reason."""
        moved, _ = move(lead_in("mql"), "disqualified", AT, ("競合他社", "学生"))
        assert moved.stage_reason == "競合他社"

    @pytest.mark.parametrize(
        ("src", "dst"), [("lead", "mql"), ("mql", "sql"), ("opportunity", "won")]
    )
    def test_stage_reason_only_for_side_exits(self, src: Stage, dst: Stage) -> None:
        """Forward moves carry no stage reason, even when reasons are given."""
        moved, _ = move(dataclasses.replace(lead_in(src), stage_reason="old"), dst, AT, ("r",))
        assert moved.stage_reason is None

    def test_forward_moves_keep_earlier_times(self) -> None:
        """Entering sql keeps mql_at and handed_off_at, adding sql_at."""
        lead = lead_in("mql", mql_at=EARLIER, handed_off_at=EARLIER + DAY)
        moved, _ = move(lead, "sql", AT, ("BANT 3 of 4",))
        assert moved.times == LeadTimes(mql_at=EARLIER, handed_off_at=EARLIER + DAY, sql_at=AT)

    def test_reentering_mql_starts_a_new_handoff(self) -> None:
        """Re-entering mql clears handoff, first touch and SQL times and restamps mql_at."""
        lead = lead_in(
            "recycled",
            first_seen=EARLIER,
            mql_at=EARLIER,
            handed_off_at=EARLIER + DAY,
            first_touch_at=EARLIER + 2 * DAY,
            sql_at=EARLIER + 3 * DAY,
            recycled_at=EARLIER + 4 * DAY,
        )
        moved, _ = move(lead, "mql", AT, ("score 60 >= 50",))
        assert moved.times == LeadTimes(
            first_seen=EARLIER, mql_at=AT, recycled_at=EARLIER + 4 * DAY
        )


class TestForbiddenMoves:
    @pytest.mark.parametrize(
        ("src", "dst", "allowed"),
        [
            ("lead", "sql", "mql, disqualified"),
            ("lead", "won", "mql, disqualified"),
            ("won", "mql", "none (it is final)"),
            ("won", "recycled", "none (it is final)"),
            ("recycled", "sql", "mql, disqualified"),
            ("disqualified", "mql", "recycled"),
            ("mql", "won", "sql, recycled, disqualified"),
            ("mql", "opportunity", "sql, recycled, disqualified"),
            ("sql", "won", "opportunity, recycled, disqualified"),
            ("lost", "won", "recycled"),
            ("opportunity", "mql", "won, lost, recycled"),
            ("mql", "mql", "sql, recycled, disqualified"),
        ],
    )
    def test_message_lists_the_allowed_targets(self, src: Stage, dst: Stage, allowed: str) -> None:
        """A forbidden move raises TransitionError naming the moves that are allowed."""
        with pytest.raises(TransitionError) as caught:
            move(lead_in(src), dst, AT, ("r",))
        assert str(caught.value) == (
            f"a lead cannot move from {src} to {dst}; from {src} it can move to: {allowed}"
        )
        assert (caught.value.from_stage, caught.value.to_stage) == (src, dst)
        assert caught.value.allowed == ALLOWED[src]

    @pytest.mark.parametrize(("src", "dst"), FORBIDDEN_MOVES)
    def test_every_other_move_is_refused(self, src: Stage, dst: Stage) -> None:
        """Every move outside the agreed lifecycle is refused, by can_move and by move."""
        assert can_move(src, dst) is False
        with pytest.raises(TransitionError):
            move(lead_in(src), dst, AT, ("r",))


class TestReasonsRequired:
    @pytest.mark.parametrize(
        ("src", "dst"),
        [
            ("mql", "recycled"),
            ("sql", "recycled"),
            ("lost", "recycled"),
            ("lead", "disqualified"),
            ("recycled", "disqualified"),
        ],
    )
    def test_side_exit_without_reason_is_refused(self, src: Stage, dst: Stage) -> None:
        """Recycling or disqualifying a lead without a reason raises ValueError."""
        with pytest.raises(ValueError, match=f"^moving a lead to {dst} needs a reason$"):
            move(lead_in(src), dst, AT, ())

    @pytest.mark.parametrize(
        ("src", "dst"), [("lead", "mql"), ("sql", "opportunity"), ("opportunity", "lost")]
    )
    def test_other_moves_need_no_reason(self, src: Stage, dst: Stage) -> None:
        """Moves other than recycle and disqualify succeed without reasons."""
        moved, change = move(lead_in(src), dst, AT, ())
        assert (moved.stage, change.reasons) == (dst, ())

    @pytest.mark.parametrize("reasons", [("",), ("   ",)])
    def test_blank_reason_is_not_a_reason(self, reasons: tuple[str, ...]) -> None:
        """Recycling with only a blank reason is a silent drop and raises ValueError."""
        with pytest.raises(ValueError, match="needs a reason"):
            move(lead_in("sql"), "recycled", AT, reasons)


class TestFirstSeen:
    def test_sets_first_seen_once(self) -> None:
        """first_seen is set by the first sighting and kept by later ones."""
        times = first_seen(LeadTimes(), EARLIER)
        assert times == LeadTimes(first_seen=EARLIER)
        assert first_seen(times, AT) == LeadTimes(first_seen=EARLIER)
