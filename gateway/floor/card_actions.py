"""Lifecycle actions on signals from outside the scale (API, ERP): rules decide, the effect is committed
before the caller gets an answer, and an `Idempotency-Key` makes a retried call repeat its first answer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.messages import event_body
from gateway.state.cards import IdempotentAnswer
from gateway.state.committer import Committer, Request
from gateway.state.store import Store
from rules.cards import Action, Refusal, next_status
from rules.engine import Engine


class SignalNotFoundError(Exception):
    """No signal has this id."""


class TransitionRefusedError(Exception):
    """The lifecycle does not allow this action on the signal as it stands."""


class KeyReusedError(Exception):
    """An `Idempotency-Key` already answered a different request."""


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """One call: what to do to which signal, who asks, and the shipping details when shipping."""

    signal_id: str
    action: Action
    by: str
    quantity: int | None = None
    asn: str | None = None
    idempotency_key: str | None = None

    @property
    def request(self) -> str:
        """What an `Idempotency-Key` is bound to."""
        return f"POST /api/v1/signals/{self.signal_id}/{self.action}"


class CardActions:
    """Applies lifecycle actions to the engine's open cards and commits them."""

    def __init__(
        self, *, engine: Engine, store: Store, committer: Committer, site: str, clock: Callable[[], float],
    ) -> None:
        self._engine = engine
        self._store = store
        self._committer = committer
        self._site = site
        self._clock = clock
        self._in_flight: dict[str, asyncio.Future[dict[str, Any]]] = {}

    async def apply(self, req: ActionRequest) -> dict[str, Any]:
        """Do the action and return the committed signal with its transitions."""
        key = req.idempotency_key
        if key is None:
            return await self._apply(req)
        earlier = self._store.idempotent_answer(key)
        if earlier is not None:
            request, answer = earlier
            if request != req.request:
                raise KeyReusedError(f"Idempotency-Key {key!r} was already used for {request}")
            return answer
        running = self._in_flight.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._in_flight[key] = future
        try:
            answer = await self._apply(req)
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: only waiting duplicates re-raise it
            raise
        finally:
            del self._in_flight[key]
        future.set_result(answer)
        return answer

    async def _apply(self, req: ActionRequest) -> dict[str, Any]:
        row = self._store.signal(req.signal_id)
        if row is None:
            raise SignalNotFoundError(f"no signal with id {req.signal_id!r}")
        bin_id = row["bin_id"]
        if self._engine.get(bin_id) is None:
            raise TransitionRefusedError(
                f"cannot {req.action} signal {req.signal_id}: loop {bin_id} is no longer configured"
            )
        outcome = self._engine.act(
            bin_id, req.signal_id, req.action, self._clock(), by=req.by,
            quantity=req.quantity if req.quantity is not None or req.action != "ship" else row["quantity"],
            asn=req.asn,
        )
        if outcome is None:  # not open in the rules: closed already (or being closed right now)
            stored = next_status(req.signal_id, row["status"], req.action)
            why = stored.message if isinstance(stored, Refusal) else f"signal {req.signal_id} was just closed"
            raise TransitionRefusedError(why)
        if isinstance(outcome, Refusal):
            raise TransitionRefusedError(outcome.message)
        body = event_body(outcome, self._engine.bin(bin_id).spec, self._site)
        call = Request(req.request)
        with self._committer.staging_for(call):
            self._committer.stage_event(outcome, body, self._engine.state_copy(bin_id))
            if req.idempotency_key is not None:
                self._committer.stage_answer(
                    IdempotentAnswer(req.idempotency_key, req.request, req.signal_id, outcome.ts)
                )
        await self._committer.commit(call)
        committed = self._store.signal(req.signal_id)
        assert committed is not None
        return committed
