"""Property tests: whatever the scale says, a bin never has more than one open pull signal."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.cards import Card
from rules.events import Event, SignalChanged, SignalReleased
from rules.scale_bin import BinSpec, BinState, Reading, ScaleBin

FAST = settings(max_examples=200, derandomize=True, deadline=None, database=None)

UNIT_G = 10.0
TARE_G = 500.0
REORDER = 30
RESET = 60
CAPACITY = 200
T0 = 1_700_000_000.0

SPEC = BinSpec(
    bin_id="P1",
    unit_weight_g=UNIT_G,
    tare_g=TARE_G,
    container_qty=100,
    cards=1,
    reorder_point=REORDER,
    reset_point=RESET,
    capacity_pieces=CAPACITY,
    stale_after_s=300.0,
)


def grams(pieces: float) -> float:
    return TARE_G + pieces * UNIT_G


class Ledger:
    """Feeds a loop and checks, after every event, that each card has at most one open signal and that no
    more than N cards are out."""

    def __init__(self, scale_bin: ScaleBin) -> None:
        self.bin = scale_bin
        self.open: dict[int, str] = {c.number: c.signal_id for c in scale_bin.state.open_cards}
        self.released: list[SignalReleased] = []
        self.closed: list[SignalChanged] = []

    def apply(self, events: tuple[Event, ...] | list[Event]) -> None:
        for event in events:
            if isinstance(event, SignalReleased):
                assert event.card not in self.open, f"second signal {event.signal_id} for card {event.card}"
                self.open[event.card] = event.signal_id
                self.released.append(event)
            elif isinstance(event, SignalChanged) and event.kind in ("signal_received", "signal_cancelled"):
                assert self.open.get(event.card) == event.signal_id, f"closed {event.signal_id}, open {self.open}"
                del self.open[event.card]
                self.closed.append(event)
        assert len(self.open) <= self.bin.spec.cards
        assert all(1 <= card <= self.bin.spec.cards for card in self.open)
        assert {c.number: c.signal_id for c in self.bin.state.open_cards} == self.open

    def feed(self, reading: Reading, now: float) -> None:
        _, events = self.bin.on_reading(reading, now)
        self.apply(events)

    def tick(self, now: float) -> None:
        event = self.bin.tick(now)
        self.apply([] if event is None else [event])


debounce_readings = st.integers(min_value=1, max_value=4)
debounce_seconds = st.sampled_from([0.0, 0.5, 2.0, 5.0])


@FAST
@given(
    k=debounce_readings,
    secs=debounce_seconds,
    noise=st.lists(
        st.tuples(
            st.integers(min_value=REORDER + 1, max_value=RESET),  # strictly inside the hysteresis band
            st.booleans(),  # stable
            st.floats(min_value=0.0, max_value=100.0),  # seconds to the next reading
        ),
        max_size=60,
    ),
)
def test_noise_inside_hysteresis_band_never_releases_again(
    k: int, secs: float, noise: list[tuple[int, bool, float]]
) -> None:
    ledger = Ledger(ScaleBin(replace(SPEC, debounce_readings=k, debounce_s=secs), started_at=T0))
    t = T0
    for _ in range(k + 1):  # hold empty long enough to release
        t += secs + 1.0
        ledger.feed(Reading(grams(0), t), t)
    assert len(ledger.released) == 1
    for pieces, stable, dt in noise:
        t += dt
        ledger.feed(Reading(grams(pieces), t, stable), t)
    assert len(ledger.released) == 1
    assert ledger.closed == []
    assert ledger.bin.state.depth == 1


@FAST
@given(
    k=debounce_readings,
    secs=debounce_seconds,
    levels=st.lists(st.integers(min_value=0, max_value=CAPACITY), min_size=0, max_size=80),
    dt=st.floats(min_value=0.1, max_value=30.0),
)
def test_monotone_drain_releases_exactly_one_signal(k: int, secs: float, levels: list[int], dt: float) -> None:
    drain = [CAPACITY, *sorted(levels, reverse=True), 0]
    ledger = Ledger(ScaleBin(replace(SPEC, debounce_readings=k, debounce_s=secs), started_at=T0))
    t = T0
    for pieces in drain:
        t += dt
        ledger.feed(Reading(grams(pieces), t), t)
    for _ in range(k):  # the bin stays empty long enough for any debounce
        t += secs + 1.0
        ledger.feed(Reading(grams(0), t), t)
    assert len(ledger.released) == 1
    assert ledger.closed == []
    assert ledger.released[0].pieces <= REORDER


@FAST
@given(
    k=debounce_readings,
    secs=debounce_seconds,
    cycles=st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=REORDER),  # drained to
            st.integers(min_value=75, max_value=124),  # a container arrives: about 100 pieces more
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_one_signal_per_drain_refill_cycle(k: int, secs: float, cycles: list[tuple[int, int]]) -> None:
    ledger = Ledger(ScaleBin(replace(SPEC, debounce_readings=k, debounce_s=secs), started_at=T0))
    t = T0
    for low, rise in cycles:
        for pieces in (*range(CAPACITY, low, -25), *([low] * (k + 1))):
            t += secs + 1.0
            ledger.feed(Reading(grams(pieces), t), t)
        for pieces in [low + rise] * (k + 1):
            t += secs + 1.0
            ledger.feed(Reading(grams(pieces), t), t)
    assert len(ledger.released) == len(cycles)
    assert len(ledger.closed) == len(cycles)
    assert [e.signal_id for e in ledger.released] == [f"P1-{n}" for n in range(1, len(cycles) + 1)]
    assert [e.signal_id for e in ledger.closed] == [e.signal_id for e in ledger.released]
    assert all(e.reason == "refill" for e in ledger.closed)


@FAST
@given(
    k=debounce_readings,
    batch=st.lists(
        st.tuples(st.integers(min_value=0, max_value=CAPACITY), st.booleans()), min_size=1, max_size=30
    ).flatmap(st.permutations),
)
def test_readings_with_same_timestamp_in_any_order_open_at_most_one_signal(
    k: int, batch: list[tuple[int, bool]]
) -> None:
    ledger = Ledger(ScaleBin(replace(SPEC, debounce_readings=k), started_at=T0))
    ts = T0 + 5.0
    for i, (pieces, stable) in enumerate(batch):
        ledger.feed(Reading(grams(pieces), ts, stable), ts + i * 0.01)
    assert len(ledger.released) - len(ledger.closed) in (0, 1)
    assert len(ledger.open) <= 1


step = st.one_of(
    # a reading: pieces (may be implausible), stable, measurement-time offset (may go back), arrival delay
    st.tuples(
        st.just("reading"),
        st.integers(min_value=-20, max_value=CAPACITY * 2),
        st.booleans(),
        st.floats(min_value=-20.0, max_value=60.0),
        st.floats(min_value=0.0, max_value=400.0),
    ),
    st.tuples(st.just("tick"), st.just(0), st.just(True), st.just(0.0), st.floats(min_value=0.0, max_value=400.0)),
    # an API action on the n-th open signal (or an unknown one), redelivered or not
    st.tuples(
        st.sampled_from(["acknowledge", "ship", "receive", "cancel"]),
        st.integers(min_value=0, max_value=3),
        st.booleans(),
        st.just(0.0),
        st.floats(min_value=0.0, max_value=60.0),
    ),
    # an RFID read of card n at a kanban post or a receiving dock, maybe read twice
    st.tuples(
        st.sampled_from(["post", "dock"]),
        st.integers(min_value=0, max_value=4),
        st.booleans(),
        st.just(0.0),
        st.floats(min_value=0.0, max_value=60.0),
    ),
)


@FAST
@given(
    k=debounce_readings,
    secs=debounce_seconds,
    cards=st.integers(min_value=1, max_value=3),
    restored_open=st.booleans(),
    steps=st.lists(step, max_size=80),
)
def test_any_interleaving_keeps_one_open_signal_per_card_and_at_most_n(
    k: int, secs: float, cards: int, restored_open: bool, steps: list[tuple[str, int, bool, float, float]]
) -> None:
    state = (
        BinState(depth=1, open_cards=(Card(1, "P1-7", "released", T0),), signals_released=7) if restored_open else None
    )
    spec = replace(
        SPEC, debounce_readings=k, debounce_s=secs, cards=cards, capacity_pieces=cards * 100, reorder_point=REORDER
    )
    ledger = Ledger(ScaleBin(spec, state, started_at=T0))
    now = T0
    ts = T0
    for kind, n, flag, ts_step, delay in steps:
        now += delay
        for _ in range(2 if flag and kind not in ("reading", "tick") else 1):  # redelivered
            match kind:
                case "tick":
                    ledger.tick(now)
                case "reading":
                    ts = min(ts + ts_step, now)
                    ledger.feed(Reading(grams(n), ts, flag), now)
                case "post":  # card n by its own tag, or (n = 0) a tag that stands for any card
                    released = ledger.bin.post_card(n or None, now, by="rfid:post", tag=None if n else "T")
                    ledger.apply([released] if released else [])
                case "dock":
                    received = ledger.bin.receive_card(n or None, now, by="rfid:dock", tag=None if n else "T")
                    ledger.apply([received] if received else [])
                case action:
                    ids = sorted(ledger.open.values())
                    signal_id = ids[n] if n < len(ids) else "P1-999"
                    outcome = ledger.bin.act(signal_id, action, now, by="api")
                    ledger.apply([outcome] if isinstance(outcome, SignalChanged) else [])
    ids = [e.signal_id for e in ledger.released]
    assert len(ids) == len(set(ids))  # signal ids are never reused
    if restored_open:
        assert "P1-7" not in ids
