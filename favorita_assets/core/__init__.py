"""The pure core: plain functions on data frames and arrays.

Nothing under this package imports dagster or boto3, so the same code runs in-process (local backend),
inside an AWS Glue job, in the unit tests and in the benchmarks.
"""
