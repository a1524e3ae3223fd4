"""Evaluating a whole catalog for one person, and choosing the interview's next question.

Pure functions over ``RuleSet``s (a benefit's rule in effect on a day, already validated): no
database here, so the benchmark and the API evaluate the same way and fast.
"""

from dataclasses import dataclass

from .facts import BOOLEAN, CHOICE, FACTS, INTEGER
from .rules import NOT_APPLICABLE, Outcome, comparisons_of, explain, facts_of, truth

ELIGIBLE, NOT_ELIGIBLE, UNDECIDED = "eligible", "not_eligible", "undecided"
STATUS_OF = {True: ELIGIBLE, False: NOT_ELIGIBLE, None: UNDECIDED}


@dataclass(frozen=True)
class RuleSet:
    benefit_id: int
    benefit_code: str
    condition: dict
    facts: frozenset[str]

    @classmethod
    def of(cls, benefit_id: int, benefit_code: str, condition: dict) -> "RuleSet":
        return cls(benefit_id, benefit_code, condition, frozenset(facts_of(condition)))


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


def status(rule: RuleSet, facts: dict) -> str:
    return STATUS_OF[truth(rule.condition, facts)]


def evaluate(rules: list[RuleSet], facts: dict) -> list[tuple[RuleSet, Outcome]]:
    completed = complete(facts)
    return [(rule, explain(rule.condition, completed)) for rule in rules]


def undecided(rules: list[RuleSet], facts: dict) -> list[RuleSet]:
    return [rule for rule in rules if truth(rule.condition, facts) is None]


def candidate_values(name: str, rules: list[RuleSet]) -> list:
    """One representative value per region of a fact's range that the rules tell apart: every
    choice, both booleans, and for numbers one value between each pair of thresholds."""
    fact = FACTS[name]
    if fact.kind in (BOOLEAN, CHOICE):
        return fact.values()
    cuts = {fact.minimum, fact.maximum + 1}
    for rule in rules:
        for node in comparisons_of(rule.condition):
            if node["fact"] != name:
                continue
            for value in node["value"] if isinstance(node["value"], list) else [node["value"]]:
                # x < v, x >= v split at v; x <= v, x > v and x == v split at v and v + 1
                cuts.update({value, value + 1})
    ordered = sorted(cut for cut in cuts if fact.minimum <= cut <= fact.maximum + 1)
    return [low for low, high in zip(ordered, ordered[1:], strict=False) if low < high]


def next_fact(rules: list[RuleSet], facts: dict) -> str | None:
    """The unanswered fact whose answer decides the most still-undecided benefits on average over
    its possible answers (each region of its range counted once); ties go to the fact appearing in
    more undecided rules, then to the registry's order. None when every benefit is decided."""
    completed = complete(facts)
    open_rules = undecided(rules, completed)
    if not open_rules:
        return None
    by_fact: dict[str, list[RuleSet]] = {}
    for rule in open_rules:
        for name in rule.facts:
            if name in completed:
                continue
            # A question that only makes sense after another (the youngest child's age after the
            # number of children) waits for it: the other is asked first.
            prerequisites = [n for n in FACTS[name].depends_on if n not in completed]
            for asked in prerequisites or [name]:
                if rule not in by_fact.setdefault(asked, []):
                    by_fact[asked].append(rule)
    order = list(FACTS)
    best, best_key = None, None
    for name, affected in by_fact.items():
        values = candidate_values(name, affected)
        decided = 0
        for value in values:
            trial = complete({**completed, name: value})
            decided += sum(1 for rule in affected if truth(rule.condition, trial) is not None)
        key = (decided / len(values), len(affected), -order.index(name))
        if best_key is None or key > best_key:
            best, best_key = name, key
    return best


def full_form_facts(rules: list[RuleSet]) -> list[str]:
    """The facts a static form would ask everyone: every fact any rule uses."""
    used = set().union(*(rule.facts for rule in rules)) if rules else set()
    return [name for name in FACTS if name in used]


__all__ = ["BOOLEAN", "CHOICE", "ELIGIBLE", "INTEGER", "NOT_ELIGIBLE", "UNDECIDED", "RuleSet", "complete",
           "evaluate", "next_fact"]  # fmt: skip
