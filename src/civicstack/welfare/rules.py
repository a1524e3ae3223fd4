"""Eligibility rules as data: a small condition tree, its validation, and three-valued evaluation.

A rule is JSON::

    {"all": [{"fact": "age", "op": ">=", "value": 65},
             {"fact": "district", "op": "in", "value": ["大溪區", "復興區"]},
             {"any": [{"fact": "income_class", "op": "in", "value": ["low", "mid_low"]},
                      {"not": {"fact": "housing", "op": "==", "value": "own"}}]}]}

Nodes: ``all`` / ``any`` (a non-empty list), ``not`` (one node), and a comparison of one fact of
``facts.FACTS`` with ``==``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` (integers only), ``in``, ``not_in``
(a list of values).

Evaluation is Kleene's three-valued logic: a comparison over a fact that is not known is
``None`` (undecided), never zero or false; ``all`` is false as soon as one part is false, ``any`` true
as soon as one part is true. Adding facts can only turn undecided into decided, never change a
decided value: that is what lets the interview stop early and still agree with the full evaluation.
"""

import operator
from dataclasses import dataclass, field
from functools import lru_cache

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .facts import BOOLEAN, CHOICE, FACTS, INTEGER

COMPARISONS = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
    ">=": operator.ge,
}  # fmt: skip
ORDERING = {"<", "<=", ">", ">="}
MEMBERSHIP = {"in", "not_in"}
OPERATOR_TEXT = {"==": "=", "!=": "≠", "<": "<", "<=": "≤", ">": ">", ">=": "≥"}

# A fact that does not apply to this person (the age of the youngest child of someone without
# children): every comparison over it is false, so rules about it are decided, not stuck.
NOT_APPLICABLE = "n/a"


class RuleError(ValueError):
    """A rule that cannot be saved; ``problems`` lists each (path, message)."""

    def __init__(self, problems: list[tuple[str, str]]):
        super().__init__("; ".join(f"{path}: {message}" for path, message in problems))
        self.problems = problems


# --- validation -----------------------------------------------------------------------------------


def validate(condition) -> None:
    """Raise RuleError listing every problem: structure, unknown facts, wrong types, and parts that
    can never be true (contradictions, found by a satisfiability search; see ``satisfying``)."""
    problems: list[tuple[str, str]] = []
    _check(condition, "rule", problems)
    if isinstance(condition, dict):
        try:
            _check_satisfiable(_sound_parts(condition), "rule", problems)
        except RuleTooComplex:
            problems.append(("rule", _("the rule combines too many facts to be checked for contradictions; "
                                       "split it into simpler conditions")))  # fmt: skip
    if problems:
        raise RuleError(problems)


def _check(node, path: str, problems: list) -> None:
    if not isinstance(node, dict) or len(node) == 0:
        problems.append((path, _("a condition must be an object")))
        return
    if "fact" in node:
        _check_comparison(node, path, problems)
        return
    if len(node) != 1:
        problems.append((path, _("a group must have exactly one of all, any, not")))
        return
    ((key, value),) = node.items()
    if key in ("all", "any"):
        if not isinstance(value, list) or not value:
            problems.append((path, _("%(key)s needs a non-empty list of conditions") % {"key": key}))
            return
        for index, child in enumerate(value):
            _check(child, f"{path}.{key}[{index}]", problems)
    elif key == "not":
        _check(value, f"{path}.not", problems)
    else:
        problems.append((path, _("unknown keyword %(key)s (use all, any, not or fact)") % {"key": key}))


def _check_comparison(node: dict, path: str, problems: list) -> None:
    extra = set(node) - {"fact", "op", "value"}
    if extra:
        problems.append((path, _("unexpected keys: %(keys)s") % {"keys": ", ".join(sorted(extra))}))
    name, op, value = node.get("fact"), node.get("op"), node.get("value")
    fact = FACTS.get(name) if isinstance(name, str) else None
    if fact is None:
        problems.append((path, _("unknown fact %(name)s") % {"name": name}))
        return
    if op not in COMPARISONS and op not in MEMBERSHIP:
        problems.append((path, _("unknown operator %(op)s") % {"op": op}))
        return
    if op in ORDERING and fact.kind != INTEGER:
        problems.append(
            (path, _("%(op)s compares numbers; %(fact)s is not a number") % {"op": op, "fact": name})
        )
        return
    if op in MEMBERSHIP:
        if not isinstance(value, list) or not value:
            problems.append((path, _("%(op)s needs a non-empty list of values") % {"op": op}))
            return
        values = value
    else:
        values = [value]
    for item in values:
        problem = _value_problem(fact, item)
        if problem:
            problems.append((path, problem))
            return
    if not _domain_of(fact, [node]):
        problems.append((path, _("this condition can never be true")))


def _value_problem(fact, value) -> str:
    if fact.kind == INTEGER:
        if isinstance(value, bool) or not isinstance(value, int):
            return _("%(fact)s is a whole number; %(value)r is not") % {"fact": fact.name, "value": value}
        return ""
    if fact.kind == BOOLEAN:
        if not isinstance(value, bool):
            return _("%(fact)s is true or false; %(value)r is not") % {"fact": fact.name, "value": value}
        return ""
    if value not in fact.values():
        return _("%(value)r is not a value of %(fact)s (one of: %(values)s)") % {
            "value": value, "fact": fact.name, "values": ", ".join(map(str, fact.values())),
        }  # fmt: skip
    return ""


def _domain_of(fact, comparisons: list[dict]) -> set:
    """The values of ``fact`` that satisfy every comparison (over the fact's whole range)."""
    if fact.kind == INTEGER:
        domain = set(range(fact.minimum, fact.maximum + 1))
    else:
        domain = set(fact.values())
    for node in comparisons:
        domain = {value for value in domain if _compare(node["op"], value, node["value"])}
    return domain


# --- evaluation ---------------------------------------------------------------------------------


def _compare(op: str, actual, expected) -> bool:
    if op == "in":
        return actual in expected
    if op == "not_in":
        return actual not in expected
    return COMPARISONS[op](actual, expected)


def truth(node: dict, facts: dict):
    """True, False or None (undecided): Kleene's strong three-valued logic."""
    if "fact" in node:
        actual = facts.get(node["fact"])
        if actual is None:
            return None
        if actual == NOT_APPLICABLE:
            return False
        return _compare(node["op"], actual, node["value"])
    if "all" in node:
        result = True
        for child in node["all"]:
            value = truth(child, facts)
            if value is False:
                return False
            if value is None:
                result = None
        return result
    if "any" in node:
        result = False
        for child in node["any"]:
            value = truth(child, facts)
            if value is True:
                return True
            if value is None:
                result = None
        return result
    value = truth(node["not"], facts)
    return None if value is None else not value


@dataclass
class Outcome:
    """A rule's value for some facts, with why: the comparisons that decide it (``because``) or,
    while undecided, the facts still missing."""

    value: bool | None
    because: list[dict] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)


def explain(node: dict, facts: dict) -> Outcome:
    if "fact" in node:
        value = truth(node, facts)
        if value is None:
            return Outcome(None, missing={node["fact"]})
        return Outcome(value, because=[node])
    if "not" in node:
        inner = explain(node["not"], facts)
        return Outcome(None if inner.value is None else not inner.value, inner.because, inner.missing)
    is_all = "all" in node
    decisive = False if is_all else True  # the value of a child that decides the group alone
    parts = [explain(child, facts) for child in node["all" if is_all else "any"]]
    for part in parts:
        if part.value is decisive:
            return Outcome(decisive, because=part.because)
    missing = set().union(*(part.missing for part in parts if part.value is None))
    if missing:
        return Outcome(None, missing=missing)
    return Outcome(not decisive, because=[leaf for part in parts for leaf in part.because])


def facts_of(node: dict) -> set[str]:
    if "fact" in node:
        return {node["fact"]}
    if "not" in node:
        return facts_of(node["not"])
    return set().union(*(facts_of(child) for child in node.get("all") or node.get("any")))


def comparisons_of(node: dict) -> list[dict]:
    if "fact" in node:
        return [node]
    if "not" in node:
        return comparisons_of(node["not"])
    return [leaf for child in (node.get("all") or node.get("any")) for leaf in comparisons_of(child)]


def complete(facts: dict) -> dict:
    """The facts plus what follows from them, so no one is asked a question that cannot apply:
    without children there is no youngest child and no recent birth; men are not pregnant."""
    completed = {name: value for name, value in facts.items() if value is not None}
    if completed.get("children_under_18") == 0:
        completed["youngest_child_age"] = NOT_APPLICABLE
        completed["recent_birth"] = False
    if completed.get("sex") == "M":
        completed["pregnant"] = False
    return completed


# Facts that ``complete`` derives others from: a search over the others assigns these first.
PREREQUISITES = {"youngest_child_age": ("children_under_18",), "recent_birth": ("children_under_18",),
                 "pregnant": ("sex",)}  # fmt: skip
# Values ``complete`` tells apart even when no rule compares them (no children / some).
IMPLIED_CUTS = {"children_under_18": (1,)}


def regions(name: str, comparisons: list[dict]) -> list:
    """One representative value per region of a fact's range that ``comparisons`` tell apart: every
    choice, both booleans, and for numbers one value between each pair of thresholds. Two values of
    one region give every comparison the same truth, so trying one of each is trying them all."""
    fact = FACTS[name]
    if fact.kind != INTEGER:
        return fact.values()
    cuts = {fact.minimum, fact.maximum + 1, *IMPLIED_CUTS.get(name, ())}
    for node in comparisons:
        if node["fact"] != name:
            continue
        for value in node["value"] if isinstance(node["value"], list) else [node["value"]]:
            # x < v, x >= v split at v; x <= v, x > v and x == v split at v and v + 1
            cuts.update({value, value + 1})
    ordered = sorted(cut for cut in cuts if fact.minimum <= cut <= fact.maximum + 1)
    return [low for low, high in zip(ordered, ordered[1:], strict=False) if low < high]


def satisfying(node: dict) -> dict | None:
    """Facts (completed) under which ``node`` is true, or None when there are none: the condition
    can never hold. A depth-first search over the regions of the facts the node uses, assigning
    one fact at a time and pruning with the three-valued evaluation (a part already false stays
    false whatever is assigned later). Rules use few facts with few regions each, so this is small,
    and it is exact for every operator, ``any`` and ``not`` included."""
    names = facts_of(node)
    for name in list(names):
        names.update(PREREQUISITES.get(name, ()))
    order = [name for name in FACTS if name in names]
    leaves = comparisons_of(node)
    domains = {name: regions(name, leaves) for name in order}
    return _search(node, order, domains, {}, [SEARCH_LIMIT])


# Steps one search may take: far above any rule of the catalog (the largest takes 18), and
# it keeps a rule of dozens of facts from holding a request for minutes.
SEARCH_LIMIT = 200_000


class RuleTooComplex(Exception):
    pass


def _search(node: dict, order: list[str], domains: dict, assigned: dict, budget: list[int]) -> dict | None:
    budget[0] -= 1
    if budget[0] < 0:
        raise RuleTooComplex
    completed = complete(assigned)
    value = truth(node, completed)
    if value is not None:
        return completed if value else None
    name = next((name for name in order if name not in completed), None)
    if name is None:  # undecided with every fact assigned: only an OPAQUE part is left, it may hold
        return completed
    for candidate in domains[name]:
        found = _search(node, order, domains, {**assigned, name: candidate}, budget)
        if found is not None:
            return found
    return None


def satisfiable(node: dict) -> bool:
    return satisfying(node) is not None


# A part of a rule that is not valid (already reported) stands for "could be true or false" while
# the rest is checked for contradictions: no fact has this name, so it is never known.
OPAQUE = {"fact": "", "op": "==", "value": None}


def _sound_parts(node):
    """The rule with every part that is not valid replaced by OPAQUE (same shape, same paths)."""
    if not isinstance(node, dict) or not node:
        return OPAQUE
    if "fact" in node:
        problems: list = []
        _check_comparison(node, "", problems)
        return OPAQUE if problems else node
    if len(node) != 1:
        return OPAQUE
    ((key, value),) = node.items()
    if key in ("all", "any") and isinstance(value, list) and value:
        return {key: [_sound_parts(child) for child in value]}
    if key == "not":
        return {"not": _sound_parts(value)}
    return OPAQUE


def _check_satisfiable(node: dict, path: str, problems: list) -> bool:
    """Report each part of a rule that can never be true, at the innermost place that is wrong:
    a group whose parts are each possible but not together (with the smallest set of its parts
    that conflict), or a ``not`` of something that always holds. Returns whether ``node`` can hold."""
    if node is OPAQUE:
        return True
    if "fact" in node:
        return bool(_domain_of(FACTS[node["fact"]], [node]))  # reported by _check_comparison
    if "not" in node:
        inner = _check_satisfiable(node["not"], f"{path}.not", problems)
        possible = satisfiable(node)
        if inner and not possible:
            problems.append((path, _("this condition can never be true: %(condition)s always holds") % {
                "condition": phrase(node["not"])}))  # fmt: skip
        return possible
    key = "all" if "all" in node else "any"
    parts = [_check_satisfiable(child, f"{path}.{key}[{i}]", problems) for i, child in enumerate(node[key])]
    possible = satisfiable(node)
    if key == "all" and all(parts) and not possible:
        core = list(node["all"])
        for child in list(core):  # drop every part the contradiction does not need
            rest = [other for other in core if other is not child]
            if rest and not satisfiable({"all": rest}):
                core = rest
        names = {leaf["fact"] for child in core for leaf in comparisons_of(child)}
        conditions = _(" and ").join(phrase(child) for child in core)
        if len(names) == 1:
            message = _("contradictory conditions on %(fact)s: %(conditions)s") % {
                "fact": names.pop(), "conditions": conditions}  # fmt: skip
        else:
            message = _("contradictory conditions: %(conditions)s") % {"conditions": conditions}
        problems.append((f"{path}.all", message))
    return possible


def phrase(node: dict) -> str:
    """A condition in words on one line: "Age ≥ 65 and not (Age ≥ 60)"."""
    if node is OPAQUE:
        return "…"
    if "fact" in node:
        return describe(node)
    if "not" in node:
        inner = phrase(node["not"])  # a group is in parentheses already
        return _("not %(condition)s") % {"condition": f"({inner})" if "fact" in node["not"] else inner}
    if "all" in node:
        return "(" + _(" and ").join(phrase(child) for child in node["all"]) + ")"
    return "(" + _(" or ").join(phrase(child) for child in node["any"]) + ")"


# --- words ----------------------------------------------------------------------------------------


def describe(node: dict, language: str | None = None) -> str:
    """A comparison as people read it: "Age ≥ 65", "District is one of 大溪區, 復興區"."""
    value = node["value"]
    return _describe(
        language or get_language(),
        node["fact"],
        node["op"],
        tuple(value) if isinstance(value, list) else value,
    )


# Explanations repeat the same few hundred phrases; translating each once per language keeps a
# whole-catalog evaluation within its time budget (docs/welfare.md, benchmarks).
@lru_cache(maxsize=4096)
def _describe(language: str | None, name: str, op: str, value) -> str:
    fact = FACTS[name]
    if op in MEMBERSHIP:
        shown = ", ".join(fact.display(item) for item in value)
        if op == "in":
            return _("%(label)s is one of %(values)s") % {"label": fact.label, "values": shown}
        return _("%(label)s is none of %(values)s") % {"label": fact.label, "values": shown}
    return f"{fact.label} {OPERATOR_TEXT[op]} {fact.display(value)}"


def statement(node: dict, facts: dict, language: str | None = None) -> str:
    """What the person's facts say about one comparison: "you are 67 years old"."""
    name = node["fact"]
    value = facts.get(name)
    if value == NOT_APPLICABLE:
        name, value = "children_under_18", facts.get("children_under_18", 0)
    return _state(language or get_language(), name, value)


@lru_cache(maxsize=4096)
def _state(language: str | None, name: str, value) -> str:
    return FACTS[name].state(value)


def kind_of(name: str) -> str:
    return FACTS[name].kind if name in FACTS else ""


__all__ = ["BOOLEAN", "CHOICE", "INTEGER", "NOT_APPLICABLE", "Outcome", "RuleError", "describe", "explain",
           "facts_of", "statement", "truth", "validate"]  # fmt: skip


def outline(node: dict, depth: int = 0) -> list[tuple[int, str]]:
    """The rule as indented lines for pages: "All of:", "  Age ≥ 65", ..."""
    if "fact" in node:
        return [(depth, describe(node))]
    if "not" in node:
        return [(depth, _("Not:")), *outline(node["not"], depth + 1)]
    key = "all" if "all" in node else "any"
    head = _("All of:") if key == "all" else _("Any of:")
    return [(depth, head)] + [line for child in node[key] for line in outline(child, depth + 1)]
