"""durable-rules' C engine, driven directly: everything this library knows about its sharp edges.

durable-rules 2.0.28 is tamed here (see ARCHITECTURE.md, "Known sharp edges", and rules/README.md): no `Host`,
no dispatcher thread, no Python action layer; one lock around every engine call, a unique name per load, one
session per chunk of facts deleted afterwards, each rule's `cap`, facts with explicit ids, a catch-all rule so
that every fact is handled and none goes missing unnoticed, engine handles of collected rule sets deleted at the
next load, and Python's cycle collector paused during a batch.
"""

from __future__ import annotations

import gc
import itertools
import json
import re
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from json.encoder import encode_basestring
from typing import Any

import durable_rules_engine

from rules.conditions import Expression, engine_number

__all__ = ["CHUNK", "Engine", "EngineError", "no_cycle_collection"]

CHUNK = 1000
"""Facts per engine session, and each rule's `cap` (matches handed out in one action)."""
EngineError = durable_rules_engine.error
"""What the C engine raises, e.g. when it refuses a rule set's definition."""

MANY_OBJECTS = 50_000
"""Objects made (since the last collection) beyond which a batch's go straight to the oldest generation."""

_ENGINE_LOCK = threading.Lock()
_load_numbers = itertools.count(1)
_session_numbers = itertools.count(1)
_collected: list[int] = []
"""Engine handles of rule sets no longer referenced; deleted at the next load, under the lock."""
_FACT_IDS = re.compile(r'"id":(\d+)')
"""A fact's id in an action's JSON (the session's state document has the id "sid-<sid>", a string)."""


class Engine:
    """One compiled rule set in durable-rules' C engine, driven directly: facts in as JSON, then the
    engine's actions read back as JSON, which is all durable-rules' Python layer (Host, Closure, Promise)
    does around them, less its state updates. Rule k's bit in a fact's mask says that rule k matched it.
    A last rule matches every fact (not the session's state document, which the engine keeps among the
    facts), so that no fact goes unhandled (see rules/README.md) and a lost one is noticed."""

    def __init__(self, name: str, expressions: list[Expression], every_fact: Expression, facts: list[str]) -> None:
        """Compile the expressions (rule k: expressions[k]) over the facts named `facts` under `name` plus a
        number unique in this process, so that the same rule set loads twice; EngineError if the engine refuses
        them."""
        self._every = len(expressions)
        members = "".join(f",{encode_basestring(name).replace('%', '%%')}:%s" for name in facts)
        self._fact = '{"sid":"%s","id":%d' + members + "}"
        """A fact's JSON from its session, its id and its values written as JSON."""
        definition = {
            f"r{k}": {"all": [{"m": expression}], "cap": CHUNK}
            for k, expression in enumerate([*expressions, every_fact])
        }
        with _ENGINE_LOCK:
            while _collected:
                durable_rules_engine.delete_ruleset(_collected.pop())
            self._handle: int = durable_rules_engine.create_ruleset(
                f"{name}-{next(_load_numbers)}", _definition_json(definition)
            )
        weakref.finalize(self, _collected.append, self._handle)

    def run(self, values: Sequence[Sequence[str]]) -> list[int]:
        """Assert facts in a new session (`values`: each fact's values written as JSON, a sequence per fact
        named at construction, of at most CHUNK facts) and return, per fact, the mask of the rules that matched
        it. The session is deleted afterwards, unless the engine failed on the way (RuntimeError): deleting a
        session with actions pending crashes durable-rules, and a leaked session is the lesser harm."""
        sid = str(next(_session_numbers))
        count = len(values[0])
        facts_json = "[" + ",".join(map(self._fact.__mod__, zip(repeat(sid), range(count), *values))) + "]"
        handle = self._handle
        with _ENGINE_LOCK:
            try:
                code, state = durable_rules_engine.assert_facts(handle, facts_json)
                if code != 0:
                    raise RuntimeError(f"durable-rules did not take the facts (result {code})")
                started = durable_rules_engine.start_action_for_state(handle, state)
                actions = [] if started is None else [started[1]]
                while started is not None:
                    action = durable_rules_engine.complete_and_start_action(handle, state)
                    if action is None:
                        break
                    actions.append(action)
            except durable_rules_engine.error as error:
                raise RuntimeError(f"durable-rules failed: {error}") from None
            durable_rules_engine.delete_state(handle, sid)
        fired = [0] * count
        handled = 0
        for action in actions:  # {"r<k>":[{"m":{"sid":"..","id":<fact>,...}}, ...]}
            rule = int(action[3 : action.index('"', 3)])
            if rule == self._every:  # only facts match it, and a string value cannot hold "id": unescaped
                handled += action.count('"id":')
                continue
            bit = 1 << rule
            for index in _FACT_IDS.findall(action):
                fired[int(index)] |= bit
        if handled != count:
            raise RuntimeError(f"durable-rules handled {handled} of {count} facts")
        return fired


@contextmanager
def no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector paused while a batch makes its many objects (none in a cycle): otherwise it
    walks every live object again and again, a third of a batch's time. Whoever paused it first restarts it;
    after a large batch (MANY_OBJECTS), having moved every object to the oldest generation (unless some are
    kept frozen by others): the young collections would otherwise walk all of the batch's objects at once as
    soon as it restarts, a tenth of the batch's time. The collector is the process's, not the thread's: where two
    threads overlap (the review reads its next batch while it decides one), whichever paused it first restarts
    it, possibly while the other's batch still runs; that costs time, never a result."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            if gc.get_count()[0] > MANY_OBJECTS and not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def _definition_json(value: Any) -> str:
    """A rule set definition as JSON durable-rules reads: its numbers written by engine_number."""
    if isinstance(value, dict):
        return (
            "{"
            + ",".join(f"{encode_basestring(key)}:{_definition_json(item)}" for key, item in value.items())
            + "}"
        )
    if isinstance(value, list):
        return "[" + ",".join(_definition_json(item) for item in value) + "]"
    if isinstance(value, float):
        return engine_number(value)
    return json.dumps(value, ensure_ascii=False)
