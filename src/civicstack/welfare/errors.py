"""Errors of the welfare module: each is a core ServiceError, so the API turns it into the envelope."""

from civicstack.core.errors import Conflict, InvalidInput


class RuleInvalid(InvalidInput):
    """A rule that cannot be saved; ``details`` lists each problem as {"path", "message"}."""

    code = "rule_invalid"


class FactInvalid(InvalidInput):
    """An unknown fact or an answer that is not a value of its fact."""

    code = "fact_invalid"


class RuleVersionExists(Conflict):
    code = "rule_version_exists"
