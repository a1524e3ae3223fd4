"""The rule format: validation on save (every problem listed, with where it is) and Kleene's
three-valued evaluation, where an unknown fact is never treated as zero or false."""

import pytest

from civicstack.welfare.rules import RuleError, explain, satisfying, truth, validate
from civicstack.welfare.services import read_shipped_catalog

AGE_65 = {"fact": "age", "op": ">=", "value": 65}
UNDER_18 = {"fact": "age", "op": "<", "value": 18}


def problems_of(condition) -> list[tuple[str, str]]:
    with pytest.raises(RuleError) as caught:
        validate(condition)
    return caught.value.problems


@pytest.mark.django_db
class TestValidation:
    def test_a_good_rule_passes(self):
        validate({"all": [AGE_65, {"fact": "district", "op": "in", "value": ["大溪區", "復興區"]},
                          {"not": {"fact": "housing", "op": "==", "value": "own"}}]})  # fmt: skip

    def test_unknown_fact_is_named_with_its_path(self):
        assert problems_of({"all": [AGE_65, {"fact": "shoe_size", "op": ">", "value": 40}]}) == [
            ("rule.all[1]", "unknown fact shoe_size")
        ]

    def test_type_mismatches(self):
        assert problems_of({"fact": "age", "op": ">=", "value": "65"}) == [
            ("rule", "age is a whole number; '65' is not")
        ]
        assert problems_of({"fact": "indigenous", "op": "==", "value": 1}) == [
            ("rule", "indigenous is true or false; 1 is not")
        ]
        assert problems_of({"fact": "housing", "op": ">", "value": "rent"}) == [
            ("rule", "> compares numbers; housing is not a number")
        ]
        ((path, message),) = problems_of({"fact": "district", "op": "==", "value": "台北區"})
        assert path == "rule" and message.startswith("'台北區' is not a value of district (one of: 桃園區")

    def test_contradictory_conditions_in_one_all(self):
        assert problems_of(
            {"all": [AGE_65, {"fact": "residence_years", "op": ">=", "value": 1}, UNDER_18]}
        ) == [("rule.all", "contradictory conditions on age: Age ≥ 65 and Age < 18")]

    def test_contradiction_through_not(self):
        rule = {"all": [AGE_65, {"not": {"fact": "age", "op": ">=", "value": 60}}]}
        assert problems_of(rule) == [
            ("rule.all", "contradictory conditions on age: Age ≥ 65 and not (Age ≥ 60)")
        ]

    def test_contradiction_across_any_and_nots(self):
        a, b = {"fact": "veteran", "op": "==", "value": True}, {"fact": "farmer", "op": "==", "value": True}
        rule = {"all": [{"fact": "residence_years", "op": ">=", "value": 1}, {"any": [a, b]}, {"not": a},
                        {"not": b}]}  # fmt: skip
        assert problems_of(rule) == [("rule.all", "contradictory conditions: (Veteran = yes or Farmer = yes) and "
                                                  "not (Veteran = yes) and not (Farmer = yes)")]  # fmt: skip

    def test_contradiction_with_a_negated_any(self):
        low = {"fact": "income_class", "op": "==", "value": "low"}
        rule = {"all": [low, {"not": {"any": [low, {"fact": "age", "op": ">=", "value": 65}]}}]}
        assert problems_of(rule) == [("rule.all", "contradictory conditions: Household income class = low income and "
                                                  "not (Household income class = low income or Age ≥ 65)")]  # fmt: skip

    def test_contradiction_only_through_what_facts_imply(self):
        # no children under 18 means no youngest child: every comparison on its age is false
        rule = {"all": [{"fact": "children_under_18", "op": "==", "value": 0},
                        {"fact": "youngest_child_age", "op": "<", "value": 6}]}  # fmt: skip
        assert [path for path, _ in problems_of(rule)] == ["rule.all"]
        men = {
            "all": [
                {"fact": "sex", "op": "==", "value": "M"},
                {"fact": "pregnant", "op": "==", "value": True},
            ]
        }
        assert [path for path, _ in problems_of(men)] == ["rule.all"]

    def test_a_dead_branch_is_named_where_it_is(self):
        dead = {"all": [AGE_65, {"not": {"any": [AGE_65, UNDER_18]}}]}
        rule = {"any": [{"fact": "veteran", "op": "==", "value": True}, dead]}
        assert [path for path, _ in problems_of(rule)] == ["rule.any[1].all"]

    def test_not_of_something_that_always_holds(self):
        rule = {"all": [AGE_65, {"not": {"any": [UNDER_18, {"fact": "age", "op": ">=", "value": 18}]}}]}
        assert problems_of(rule) == [
            ("rule.all[1]", "this condition can never be true: (Age < 18 or Age ≥ 18) always holds")
        ]

    @pytest.mark.parametrize("rule", [
        {"all": [AGE_65, {"not": {"fact": "age", "op": ">=", "value": 70}}]},  # 65 to 69
        {"all": [{"any": [AGE_65, UNDER_18]}, {"not": AGE_65}]},  # under 18
        {"all": [{"fact": "children_under_18", "op": ">=", "value": 1},
                 {"not": {"fact": "youngest_child_age", "op": ">=", "value": 6}}]},
        {"not": {"all": [{"fact": "sex", "op": "==", "value": "F"}, {"fact": "pregnant", "op": "==", "value": True}]}},
        {"all": [{"fact": "income_class", "op": "!=", "value": "general"},
                 {"not": {"fact": "income_class", "op": "in", "value": ["low", "general"]}}]},  # mid-low
    ])  # fmt: skip
    def test_satisfiable_rules_pass(self, rule):
        validate(rule)
        assert truth(rule, satisfying(rule)) is True  # the witness really satisfies it

    def test_every_rule_of_the_shipped_catalog_validates(self, districts):
        shipped = read_shipped_catalog()["benefits"]
        assert len(shipped) == 276
        for row in shipped:
            validate(row["condition"])

    def test_contradiction_found_through_nested_all(self):
        rule = {"all": [{"all": [{"fact": "income_class", "op": "==", "value": "low"}]},
                        {"fact": "income_class", "op": "in", "value": ["general", "mid_low"]}]}  # fmt: skip
        assert [path for path, _ in problems_of(rule)] == ["rule.all"]

    def test_the_same_comparisons_under_any_are_fine(self):
        validate({"any": [AGE_65, UNDER_18]})

    def test_a_condition_that_can_never_hold(self):
        assert problems_of({"fact": "age", "op": ">", "value": 130}) == [
            ("rule", "this condition can never be true")
        ]

    def test_structure_problems_are_all_listed(self):
        problems = problems_of(
            {"all": [{}, {"any": []}, {"xor": [AGE_65]}, {"fact": "age", "op": "~", "value": 1}]}
        )
        assert [path for path, _ in problems] == ["rule.all[0]", "rule.all[1]", "rule.all[2]", "rule.all[3]"]
        assert problems[3][1] == "unknown operator ~"


class TestThreeValuedLogic:
    def test_unknown_is_undecided_never_zero(self):
        assert truth(UNDER_18, {}) is None  # age 0 would be < 18: unknown must not be read as 0
        assert truth({"fact": "indigenous", "op": "==", "value": False}, {}) is None

    @pytest.mark.parametrize(("facts", "expected"), [
        ({"age": 70, "residence_years": 3}, True),
        ({"age": 70}, None),
        ({"age": 40}, False),  # one false part decides an all, whatever is unknown
        ({}, None),
    ])  # fmt: skip
    def test_all(self, facts, expected):
        assert (
            truth({"all": [AGE_65, {"fact": "residence_years", "op": ">=", "value": 1}]}, facts) is expected
        )

    @pytest.mark.parametrize(("facts", "expected"), [
        ({"age": 70}, True),  # one true part decides an any
        ({"age": 40, "indigenous": False}, False),
        ({"age": 40}, None),
    ])  # fmt: skip
    def test_any(self, facts, expected):
        assert truth({"any": [AGE_65, {"fact": "indigenous", "op": "==", "value": True}]}, facts) is expected

    def test_not(self):
        assert truth({"not": AGE_65}, {"age": 70}) is False
        assert truth({"not": AGE_65}, {"age": 7}) is True
        assert truth({"not": AGE_65}, {}) is None

    def test_explanations(self):
        rule = {"all": [AGE_65, {"fact": "district", "op": "==", "value": "大溪區"}]}
        eligible = explain(rule, {"age": 67, "district": "大溪區"})
        assert eligible.value is True and eligible.because == rule["all"]
        failing = explain(rule, {"age": 40})
        assert failing.value is False and failing.because == [AGE_65]
        undecided = explain(rule, {"age": 67})
        assert undecided.value is None and undecided.missing == {"district"}


@pytest.mark.django_db
def test_a_rule_too_large_to_check_is_refused_with_a_clear_message(monkeypatch):
    from civicstack.welfare import rules

    monkeypatch.setattr(rules, "SEARCH_LIMIT", 3)
    rule = {"all": [AGE_65, {"fact": "veteran", "op": "==", "value": True},
                    {"fact": "farmer", "op": "==", "value": True}]}  # fmt: skip
    assert problems_of(rule) == [("rule", "the rule combines too many facts to be checked for contradictions; "
                                          "split it into simpler conditions")]  # fmt: skip
