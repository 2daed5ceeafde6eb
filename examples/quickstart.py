"""Quickstart: a LIF network on Iris, tuned with GridSearchCV like any scikit-learn model.

    python examples/quickstart.py            # the full grid (under a minute on 2 CPU cores)
    python examples/quickstart.py --quick    # a tiny grid (seconds)
"""

import argparse
import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is imported

from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklif import LIFClassifier

parser = argparse.ArgumentParser(description="LIFClassifier on Iris with GridSearchCV.")
parser.add_argument("--quick", action="store_true", help="a tiny grid that runs in seconds")
args = parser.parse_args()

X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.25, stratify=y, random_state=0
)

pipe = make_pipeline(StandardScaler(), LIFClassifier(random_state=0))
grid = {
    "lifclassifier__tau": [5.0, 10.0, 20.0],
    "lifclassifier__threshold": [0.5, 1.0],
    "lifclassifier__surrogate_slope": [0.5, 1.0, 2.0],
}
if args.quick:
    grid = {"lifclassifier__tau": [5.0, 10.0], "lifclassifier__max_iter": [20]}

# Some fits use all max_iter epochs; sklearn then warns that the loss still falls a little.
warnings.filterwarnings("ignore", category=ConvergenceWarning)
search = GridSearchCV(pipe, grid, cv=3).fit(X_train, y_train)

print("| | |\n|---|---|")
print(f"| best parameters | {search.best_params_} |")
print(f"| CV accuracy (3-fold) | {search.best_score_:.3f} |")
print(f"| held-out accuracy | {search.score(X_test, y_test):.3f} |")
