"""Evaluating a whole catalog for one person, and choosing the interview's next question.

Pure functions over ``RuleSet``s (a benefit's rule in effect on a day, already validated): no
database here, so the benchmark and the API evaluate the same way and fast.
"""

from dataclasses import dataclass, field
from itertools import product

from .facts import BOOLEAN, CHOICE, FACTS, INTEGER
from .rules import PREREQUISITES, Outcome, comparisons_of, complete, explain, facts_of, regions, truth

ELIGIBLE, NOT_ELIGIBLE, UNDECIDED = "eligible", "not_eligible", "undecided"
STATUS_OF = {True: ELIGIBLE, False: NOT_ELIGIBLE, None: UNDECIDED}


@dataclass(frozen=True, eq=False)
class RuleSet:
    benefit_id: int
    benefit_code: str
    condition: dict
    facts: frozenset[str]
    # the facts plus those ``complete`` derives them from (children for the youngest child's age):
    # the rule's value and its explanation depend on these alone
    scope: tuple[str, ...] = ()
    # per-rule results worked out once for each combination of the scope's values (the
    # interview's ``_chance_needed``, the selectors' explanations); they live as long as this
    # version of the rule is cached, and a saved change makes new RuleSets
    memo: dict = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, benefit_id: int, benefit_code: str, condition: dict) -> "RuleSet":
        names = facts_of(condition)
        scope = names.union(*(PREREQUISITES.get(name, ()) for name in names))
        return cls(benefit_id, benefit_code, condition, frozenset(names), tuple(sorted(scope)))

    def key_of(self, completed: dict) -> tuple:
        return tuple(completed.get(name) for name in self.scope)

    def remember(self, key, value):
        if len(self.memo) >= MEMO_LIMIT:  # a bound, not an eviction policy: rare in practice
            self.memo.clear()
        self.memo[key] = value
        return value


MEMO_LIMIT = 20_000


def status(rule: RuleSet, facts: dict) -> str:
    return STATUS_OF[truth(rule.condition, facts)]


def evaluate(rules: list[RuleSet], facts: dict) -> list[tuple[RuleSet, Outcome]]:
    completed = complete(facts)
    return [(rule, explain(rule.condition, completed)) for rule in rules]


def undecided(rules: list[RuleSet], facts: dict) -> list[RuleSet]:
    return [rule for rule in rules if truth(rule.condition, facts) is None]


def candidate_values(name: str, rules: list[RuleSet]) -> list:
    """One representative value per region of a fact's range that the rules tell apart."""
    return regions(
        name, [node for rule in rules for node in comparisons_of(rule.condition) if node["fact"] == name]
    )


def next_fact(rules: list[RuleSet], facts: dict) -> str | None:
    """The next question: the unanswered fact most likely to be *needed*, then the one expected to
    decide the most benefits; None when every benefit is decided (docs/welfare.md, the interview).

    A fact is needed for an undecided benefit when the benefit's other facts, whatever their
    answers, cannot decide it alone; its chance of being needed is taken over the answers' shares
    in the city (``Fact.shares``), rule by rule, and for the catalog as the largest over its
    benefits. Facts that will be needed anyway cost nothing to ask first, and each answer may make
    the doubtful ones unnecessary: a district is asked only of those for whom a district's benefit
    is still open after their age, income... A fact no undecided benefit can change on (one left
    only in branches already decided) has no chance of being needed and is never asked."""
    completed = complete(facts)
    open_rules = undecided(rules, completed)
    if not open_rules:
        return None
    need: dict[str, float] = {}
    by_fact: dict[str, list[RuleSet]] = {}
    for rule in open_rules:
        known = tuple(sorted((name, completed[name]) for name in rule.scope if name in completed))
        for name in rule.facts:
            if name in completed:
                continue
            chance = _chance_needed(rule, name, known)
            if chance == 0:
                continue
            # A question that only makes sense after another (the youngest child's age after the
            # number of children) waits for it: the other is asked first, and needed as much.
            prerequisites = [n for n in FACTS[name].depends_on if n not in completed]
            for asked in prerequisites or [name]:
                need[asked] = max(need.get(asked, 0.0), chance)
                if rule not in by_fact.setdefault(asked, []):
                    by_fact[asked].append(rule)
    if not need:  # cannot happen for a validated catalog; never leave the citizen without a question
        return next_fact_by_decisions(open_rules, completed)
    # Only the facts most likely needed are compared on what they decide (the costly part).
    top = max(round(chance, 9) for chance in need.values())
    order = list(FACTS)
    best, best_key = None, None
    for name, affected in by_fact.items():
        if round(need[name], 9) < top:
            continue
        key = (_expected_decided(name, affected, completed), -order.index(name))
        if best_key is None or key > best_key:
            best, best_key = name, key
    return best


def _chance_needed(rule: RuleSet, name: str, known: tuple) -> float:
    """The share of people, among those matching ``known`` (the rule's facts already known), for
    whom the rule's other facts cannot decide it without ``name``. Exact: every region of each
    other fact is tried once, weighted by its share. Memoised on the rule."""
    memo_key = ("needed", name, known)
    if memo_key in rule.memo:
        return rule.memo[memo_key]
    facts = dict(known)
    others = [n for n in FACTS if n in rule.scope and n not in facts and n != name]
    leaves = comparisons_of(rule.condition)
    choices = []
    for other in others:
        values = regions(other, leaves)
        choices.append([(value, _share(other, value, values)) for value in values])
    undecided_share = total = 0.0
    for combination in product(*choices):
        weight = 1.0
        for _value, share in combination:
            weight *= share
        trial = complete(
            {**facts, **{other: value for other, (value, _share_) in zip(others, combination, strict=True)}}
        )
        total += weight
        if name not in trial and truth(rule.condition, trial) is None:
            undecided_share += weight
    return rule.remember(memo_key, undecided_share / total if total else 0.0)


def _share(name: str, value, values: list) -> float:
    """The share of a region (the value's, up to the next representative value) of a fact. Never
    zero: an answer the statistics call rare is still possible."""
    fact = FACTS[name]
    if fact.kind == INTEGER:
        following = [v for v in values if v > value]
        share = fact.share(value, following[0] if following else fact.maximum + 1)
    else:
        share = fact.share(value)
    return max(share, 1e-4)


def _expected_decided(name: str, affected: list[RuleSet], completed: dict) -> float:
    """How many of ``affected`` the answer to ``name`` decides, averaged over its answers' shares."""
    values = candidate_values(name, affected)
    expected = total = 0.0
    for value in values:
        weight = _share(name, value, values)
        trial = complete({**completed, name: value})
        expected += weight * sum(1 for rule in affected if truth(rule.condition, trial) is not None)
        total += weight
    return expected / total


def next_fact_by_decisions(rules: list[RuleSet], facts: dict) -> str | None:
    """The previous choice, kept for comparison (bench/welfare.py) and as a fallback: the
    unanswered fact whose answer decides the most still-undecided benefits on average over its
    possible answers (each region of its range counted once); ties go to the fact appearing in
    more undecided rules, then to the registry's order."""
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
