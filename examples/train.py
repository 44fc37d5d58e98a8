"""A SageMaker script-mode training script, as ``sagetune tune examples/request.json`` runs it.

Hyperparameters arrive as ``--name value`` arguments, the model folder as ``$SM_MODEL_DIR``,
exactly as in a SageMaker training container. It fits scikit-learn's gradient boosting on the
breast_cancer data (shipped with scikit-learn) ten trees at a time and prints the validation AUC
after each round: the request's ``MetricDefinitions`` regex reads every line, one point per
epoch, so learning curves and early stopping work.
"""

from __future__ import annotations

import argparse
import os
import pickle
from pathlib import Path

from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--learning_rate", type=float, default=0.1)
    parser.add_argument("--max_depth", type=int, default=3)
    parser.add_argument("--l2_regularization", type=float, default=0.0)
    parser.add_argument("--epochs", type=int, default=5)
    args, _ = parser.parse_known_args()  # SageMaker may add arguments of its own

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=0
    )
    model = HistGradientBoostingClassifier(
        learning_rate=args.learning_rate,
        max_depth=args.max_depth,
        l2_regularization=args.l2_regularization,
        max_iter=0,
        warm_start=True,  # each epoch adds ten trees to the ones already fitted
        early_stopping=False,
        random_state=0,
    )
    for epoch in range(1, args.epochs + 1):
        model.set_params(max_iter=10 * epoch)
        model.fit(X_train, y_train)
        auc = roc_auc_score(y_val, model.predict_proba(X_val)[:, 1])
        print(f"epoch {epoch}: validation:auc={auc:.6f}", flush=True)

    model_dir = Path(os.environ.get("SM_MODEL_DIR", "model"))
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "model.pkl").write_bytes(pickle.dumps(model))


if __name__ == "__main__":
    main()
