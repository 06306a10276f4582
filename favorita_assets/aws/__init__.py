"""The AWS backend: S3 storage, cleaning in AWS Glue (through Dagster Pipes), DeepAR on SageMaker.

``glue_script.py`` runs inside AWS Glue and imports neither dagster nor this package's other modules; everything else
here is loaded only in ``FAVORITA_DEPLOYMENT=aws``.
"""
