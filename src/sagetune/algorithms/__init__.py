"""Local stand-ins for SageMaker's built-in training algorithms.

Each module here runs one built-in algorithm on this machine with the contract of its SageMaker
container: the hyperparameters it accepts (and how it rejects the rest), the channels and
content types it reads, the lines it prints (which the algorithm's predefined metric
definitions parse) and the files it leaves in the model and checkpoint folders.

- :mod:`sagetune.algorithms.xgboost`: SageMaker's XGBoost algorithm, on the ``xgboost``
  library (``pip install sagetune[xgboost]``); run it as ``python -m sagetune.algorithms.xgboost``
  in a job folder laid out like ``/opt/ml``.

Importing a module here never imports the training library itself: the tables and checks
(hyperparameters, metric definitions, image URIs) are plain data, usable by request
validation without the library installed.
"""
