"""A loop of N cards: one card per container boundary, the card lifecycle, receipts by scale, API and RFID."""

from __future__ import annotations

from dataclasses import replace

import pytest

from rules.cards import Action, Card, Refusal, SignalStatus, next_status
from rules.events import Event, SignalChanged, SignalReleased
from rules.scale_bin import BinSpec, BinState, Reading, ScaleBin

UNIT_G = 10.0
TARE_G = 500.0
T0 = 1_700_000_000.0

# 3 cards of 100: card boundaries at 230, 130 and 30 pieces; hysteresis 30 pieces.
SPEC = BinSpec(
    bin_id="L",
    unit_weight_g=UNIT_G,
    tare_g=TARE_G,
    container_qty=100,
    cards=3,
    reorder_point=30,
    reset_point=60,
    capacity_pieces=300,
    safety_stock=10,
)


class Loop:
    """Feeds readings one second apart and keeps every event."""

    def __init__(self, state: BinState | None = None, **changes: object) -> None:
        self.bin = ScaleBin(replace(SPEC, **changes), state, started_at=T0)
        self.t = T0
        self.events: list[Event] = []

    def feed(self, *levels: int) -> list[Event]:
        new: list[Event] = []
        for pieces in levels:
            self.t += 1.0
            _, events = self.bin.on_reading(Reading(TARE_G + pieces * UNIT_G, self.t), self.t)
            new.extend(events)
        self.events.extend(new)
        return new

    def released(self) -> list[SignalReleased]:
        return [e for e in self.events if isinstance(e, SignalReleased)]

    def open_ids(self) -> list[str]:
        return [card.signal_id for card in self.bin.state.open_cards]


def test_one_card_per_container_boundary_and_never_more_than_n() -> None:
    loop = Loop()
    loop.feed(300, 231)
    assert loop.released() == []
    loop.feed(230)
    loop.feed(131, 130)
    loop.feed(31, 30)
    loop.feed(10, 0, 0)
    assert [(e.signal_id, e.card, e.pieces) for e in loop.released()] == [
        ("L-1", 1, 230), ("L-2", 2, 130), ("L-3", 3, 30)
    ]
    assert loop.bin.open_cards == 3


def test_a_fall_past_two_boundaries_at_once_releases_two_cards() -> None:
    loop = Loop()
    events = loop.feed(300, 120)
    assert [(e.signal_id, e.card) for e in events if isinstance(e, SignalReleased)] == [("L-1", 1), ("L-2", 2)]


def test_refill_receives_the_oldest_card_and_the_next_fall_releases_it_again() -> None:
    loop = Loop()
    loop.feed(300, 20)  # all three out
    events = loop.feed(120)  # one container arrives
    assert [(e.kind, e.signal_id, e.card, e.reason) for e in events if isinstance(e, SignalChanged)] == [
        ("signal_received", "L-1", 1, "refill")
    ]
    assert loop.open_ids() == ["L-2", "L-3"]
    assert loop.bin.state.depth == 2  # the last boundary (30) re-armed: 120 is above its 60
    loop.feed(30)
    assert [(e.signal_id, e.card) for e in loop.released()][-1] == ("L-4", 1)
    assert loop.open_ids() == ["L-2", "L-3", "L-4"]


def test_two_containers_at_once_receive_the_two_oldest_cards() -> None:
    loop = Loop()
    loop.feed(300, 20)
    events = loop.feed(215)  # +195: two containers within tolerance
    assert [e.signal_id for e in events if isinstance(e, SignalChanged)] == ["L-1", "L-2"]
    assert loop.open_ids() == ["L-3"]


def test_a_rise_that_is_not_about_a_container_receives_nothing() -> None:
    loop = Loop()
    loop.feed(300, 20)
    assert loop.feed(60) == []  # +40: a person leaning on the bin, a half refill
    assert loop.bin.open_cards == 3


def test_receipt_by_scale_can_be_switched_off() -> None:
    loop = Loop(receive_by_scale=False)
    loop.feed(300, 20, 120, 120)
    assert loop.bin.open_cards == 3


def test_urgent_at_safety_stock_and_stockout_at_zero() -> None:
    loop = Loop(cards=1, capacity_pieces=100)
    loop.feed(100, 10)
    [release] = loop.released()
    assert (release.urgent, release.stockout) == (True, False)
    loop = Loop(cards=1, capacity_pieces=100)
    loop.feed(100, 0)
    [release] = loop.released()
    assert (release.urgent, release.stockout) == (True, True)
    loop = Loop(cards=1, capacity_pieces=100)
    loop.feed(100, 11)
    [release] = loop.released()
    assert (release.urgent, release.stockout) == (False, False)


def test_lifecycle_actions_move_an_open_card_and_closing_frees_it() -> None:
    loop = Loop()
    loop.feed(300, 230)
    ack = loop.bin.act("L-1", "acknowledge", T0 + 10, by="erp")
    assert ack == SignalChanged("L", "L-1", 1, T0 + 10, "signal_acknowledged", "erp", pieces=230)
    ship = loop.bin.act("L-1", "ship", T0 + 11, by="acme", quantity=100, asn="ASN-7")
    assert isinstance(ship, SignalChanged)
    assert (ship.kind, ship.quantity, ship.asn) == ("signal_shipped", 100, "ASN-7")
    assert loop.bin.state.open_cards == (Card(1, "L-1", "shipped", T0 + 2),)
    refused = loop.bin.act("L-1", "cancel", T0 + 12, by="api")
    assert refused == Refusal("L-1", "cancel", "shipped")
    assert refused.message == "cannot cancel signal L-1: it is already shipped (receive it instead)"
    received = loop.bin.act("L-1", "receive", T0 + 13, by="dock")
    assert isinstance(received, SignalChanged)
    assert received.kind == "signal_received"
    assert loop.bin.open_cards == 0
    assert loop.bin.act("L-1", "receive", T0 + 14, by="dock") is None  # no longer open here


def test_a_cancelled_card_is_not_released_again_until_the_level_falls_past_another_boundary() -> None:
    loop = Loop()
    loop.feed(300, 230)
    assert isinstance(loop.bin.act("L-1", "cancel", T0 + 5, by="api"), SignalChanged)
    loop.feed(229, 200, 131)
    assert [e.signal_id for e in loop.released()] == ["L-1"]
    loop.feed(130)
    assert [(e.signal_id, e.card) for e in loop.released()] == [("L-1", 1), ("L-2", 1)]


@pytest.mark.parametrize(
    ("status", "action", "expected"),
    [
        ("released", "acknowledge", "acknowledged"),
        ("released", "ship", "shipped"),
        ("released", "receive", "received"),
        ("released", "cancel", "cancelled"),
        ("acknowledged", "ship", "shipped"),
        ("acknowledged", "receive", "received"),
        ("acknowledged", "cancel", "cancelled"),
        ("shipped", "receive", "received"),
    ],
)
def test_allowed_transitions(status: SignalStatus, action: Action, expected: SignalStatus) -> None:
    assert next_status("S-1", status, action) == expected


@pytest.mark.parametrize(
    ("status", "action", "message"),
    [
        ("acknowledged", "acknowledge", "cannot acknowledge signal S-1: it is already acknowledged"),
        ("shipped", "acknowledge", "cannot acknowledge signal S-1: it is already shipped"),
        ("shipped", "ship", "cannot ship signal S-1: it is already shipped"),
        ("received", "receive", "cannot receive signal S-1: it was already received and is closed"),
        ("cancelled", "receive", "cannot receive signal S-1: it was cancelled and is closed"),
        ("cancelled", "ship", "cannot ship signal S-1: it was cancelled and is closed"),
        ("received", "cancel", "cannot cancel signal S-1: it was already received and is closed"),
    ],
)
def test_illegal_transitions_are_refused_with_a_clear_message(
    status: SignalStatus, action: Action, message: str
) -> None:
    refusal = next_status("S-1", status, action)
    assert isinstance(refusal, Refusal)
    assert refusal.message == message


def test_card_posted_by_rfid_is_released_once_and_received_by_number_or_oldest() -> None:
    loop = Loop()
    first = loop.bin.post_card(2, T0 + 1, by="rfid:post-1")
    assert first is not None
    assert (first.card, first.by, first.pieces) == (2, "rfid:post-1", None)
    assert loop.bin.post_card(2, T0 + 2, by="rfid:post-1") is None  # already out: no second signal
    assert loop.bin.post_card(4, T0 + 2, by="rfid:post-1") is None  # no such card
    loop.bin.post_card(1, T0 + 3, by="rfid:post-1")
    received = loop.bin.receive_card(1, T0 + 4, by="rfid:dock")
    assert received is not None
    assert received.signal_id == "L-2"  # card 1's signal
    assert loop.bin.receive_card(1, T0 + 5, by="rfid:dock") is None  # already in
    oldest = loop.bin.receive_card(None, T0 + 6, by="rfid:dock")
    assert oldest is not None
    assert oldest.signal_id == "L-1"
    assert loop.bin.receive_card(None, T0 + 7, by="rfid:dock") is None


def test_scale_releases_only_free_cards_after_rfid_posts() -> None:
    loop = Loop()
    for number in (1, 3):
        loop.bin.post_card(number, T0, by="rfid:post")
    loop.feed(300, 0)
    assert [(e.card, e.by) for e in loop.released()] == [(2, "scale")]
    assert loop.bin.open_cards == 3


def test_a_tag_that_stands_for_any_card_releases_one_card_and_receives_that_one() -> None:
    loop = Loop()
    first = loop.bin.post_card(None, T0 + 1, by="rfid:post", tag="EPC-A")
    assert first is not None
    assert loop.bin.post_card(None, T0 + 2, by="rfid:post", tag="EPC-A") is None  # already out for this tag
    second = loop.bin.post_card(None, T0 + 3, by="rfid:post", tag="EPC-B")
    assert second is not None
    assert (first.card, second.card) == (1, 2)
    received = loop.bin.receive_card(None, T0 + 4, by="rfid:dock", tag="EPC-B")
    assert received is not None
    assert received.signal_id == second.signal_id
    oldest = loop.bin.receive_card(None, T0 + 5, by="rfid:dock", tag="EPC-C")  # no card out for it: the oldest
    assert oldest is not None
    assert oldest.signal_id == first.signal_id


def test_consumption_counts_falls_below_the_lowest_level_only() -> None:
    loop = Loop()
    loop.feed(300, 250, 262, 250, 240)  # someone leans on the bin (262) and lets go
    assert loop.bin.state.consumed == 60
    loop.feed(20)  # all three cards out
    loop.feed(120)  # a container arrives: the refill is not negative consumption
    loop.feed(110)
    assert loop.bin.state.consumed == 290


def test_predictive_release_sends_the_next_card_once_before_the_crossing() -> None:
    loop = Loop()
    loop.feed(300)
    early = loop.bin.release_early(T0 + 10, hours_to_empty=1.0, horizon_h=2.0)
    assert early is not None
    assert (early.card, early.by, early.pieces) == (1, "predictive", 300)
    assert loop.bin.release_early(T0 + 11, hours_to_empty=0.5, horizon_h=2.0) is None  # already ahead
    loop.feed(230)  # the crossing the early card stood for releases nothing more
    assert loop.released() == []
    loop.feed(130)
    assert [(e.card, e.by) for e in loop.released()] == [(2, "scale")]
    assert Loop().bin.release_early(T0, hours_to_empty=3.0, horizon_h=2.0) is None  # lasts long enough
