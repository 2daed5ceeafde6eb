"""scikit-learn's own conformance checks, with the DEFAULT parameters."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sklif import LIFClassifier

# Every check passes; an entry here would need a comment saying why it cannot.
EXPECTED_FAILED_CHECKS: dict = {}


@parametrize_with_checks(
    [LIFClassifier()], expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
